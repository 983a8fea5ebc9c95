import { ConfigError, quote } from './config-error.js';

/**
 * The syntax-neutral form both parsers produce: which sections and entries a file has, and each
 * keyword with its value as written and its line. Every meaning (known keywords, types, ranges,
 * required keywords, duplicates, defaults) is decided once, from this, in daemon-config.ts.
 */

/** A value as written: multipath.conf values are text, JSON values keep their JSON type. */
export type RawValue =
  | { readonly syntax: 'conf'; readonly text: string }
  | { readonly syntax: 'json'; readonly value: unknown }
  /** multipath.conf: a keyword with nothing after it on its line. */
  | { readonly syntax: 'missing' };

export interface RawSetting {
  readonly keyword: string;
  readonly value: RawValue;
  readonly line: number;
}

/** The keyword lines of `defaults`, or of one entry of a list section (`device { }`, `$.devices[0]`). */
export interface RawEntry {
  /** How messages name it: `defaults`, `devices/device` (multipath.conf); `$.defaults`, `$.devices[0]` (JSON). */
  readonly where: string;
  /** Where it starts: the section name's line, the JSON object's `{`. */
  readonly line: number;
  readonly settings: readonly RawSetting[];
}

export interface RawConfig {
  defaults?: RawEntry;
  readonly devices: RawEntry[];
  readonly checkers: RawEntry[];
  readonly paths: RawEntry[];
  readonly targets: RawEntry[];
}

export type ListSection = 'devices' | 'checkers' | 'paths' | 'targets';
export type SectionName = 'defaults' | ListSection;

/** The sections pathcheck reads, in the order messages list them. */
export const SECTION_NAMES: readonly SectionName[] = ['defaults', 'devices', 'checkers', 'paths', 'targets'];

/** What a list section's entries are called in multipath.conf: `devices { device { ... } }`. */
export const ENTRY_NAMES: Readonly<Record<ListSection, string>> = { devices: 'device', checkers: 'checker', paths: 'path', targets: 'target' };

/** multipath.conf sections pathcheck does not implement: refused by name, never silently ignored. */
export const UNSUPPORTED_SECTIONS: readonly string[] = ['blacklist', 'blacklist_exceptions', 'multipaths', 'overrides'];

export function emptyRawConfig(): RawConfig {
  return { devices: [], checkers: [], paths: [], targets: [] };
}

export function isListSection(name: SectionName): name is ListSection {
  return name !== 'defaults';
}

/**
 * The top-level section called `name` (at `line`), refusing unknown, unsupported and repeated ones.
 * `seen` maps the sections met so far to their lines.
 */
export function topSection(name: string, line: number, seen: Map<string, number>, file: string): SectionName {
  if (UNSUPPORTED_SECTIONS.includes(name)) {
    throw new ConfigError(file, line, `section ${quote(name)} is not supported by pathcheck`);
  }
  const section = SECTION_NAMES.find((s) => s === name);
  if (section === undefined) {
    const parent = (Object.keys(ENTRY_NAMES) as ListSection[]).find((s) => ENTRY_NAMES[s] === name);
    const hint = parent === undefined ? '' : `; '${name}' entries go inside '${parent} { }'`;
    throw new ConfigError(file, line, `unknown section ${quote(name)} (known: ${SECTION_NAMES.join(', ')})${hint}`);
  }
  const first = seen.get(section);
  if (first !== undefined) throw new ConfigError(file, line, `duplicate section '${section}' (first at line ${first})`);
  seen.set(section, line);
  return section;
}
