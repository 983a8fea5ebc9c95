import fc from 'fast-check';
import { BOUNDS, MAX_POLLING_FACTOR } from '../../host/daemon/bounds.js';
import { CONFIG_DEFAULTS } from '../../host/daemon/config/daemon-config.js';
import { prng } from '../helpers/prng.js';
import { TextEmitter, type Layout } from './text-emitter.js';

/**
 * Well-formed daemon configs for the config fuzz test: a generated model, rendered in either syntax
 * (multipath.conf or JSON) with random layout, and the line every keyword was written on.
 */

/** A value: written in the syntax's own way, or `raw` (text written as is, for invalid values). */
export type Value = number | string | { readonly raw: string };
/** One keyword of an entry. */
export interface Setting {
  readonly keyword: string;
  readonly value: Value;
}
export interface Entry {
  readonly settings: readonly Setting[];
}
export type SectionName = 'defaults' | 'devices' | 'checkers' | 'paths';
export interface ConfigModel {
  /** Sections in the order the file writes them; `defaults` holds one entry, the others a list. */
  readonly sections: ReadonlyArray<{ readonly name: SectionName; readonly entries: readonly Entry[] }>;
}

export type Syntax = 'conf' | 'json';
export interface Rendered {
  readonly text: string;
  /** Line of the n-th setting written (in model order: section, entry, setting). */
  readonly settingLines: readonly number[];
  /** Line of each entry (multipath.conf: the `device` word; JSON: the object's `{`), in model order. */
  readonly entryLines: readonly number[];
}

const ENTRY_NAMES = { devices: 'device', checkers: 'checker', paths: 'path' } as const;

/** Text with the characters multipath.conf treats specially, control characters and non-ASCII; no line break. */
const textChar = fc.oneof(
  fc.constantFrom(' ', '"', '#', '!', '{', '}', '\t', '\r', '\\', '\u0000', '\u00a0', '\u2028', 'é', '€', '😀'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
).filter((c) => c !== '\n');
const anyText = (minLength: number) => fc.string({ unit: textChar, minLength, maxLength: 12 });
const ALNUM = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
/** A first character from `first`, then up to `max` from `rest` (cheaper to generate than fc.stringMatching). */
const word = (first: readonly string[], rest: readonly string[], max: number) =>
  fc.tuple(fc.constantFrom(...first), fc.string({ unit: fc.constantFrom(...rest), maxLength: max })).map(([a, b]) => a + b);
/** Simple literal patterns (vendor/product): what any pattern engine takes as themselves. */
const literal = word([...ALNUM, 'Q', 'Z'], [...ALNUM, 'A', 'Z', ' ', '_', '-'], 11);
/** CHECKER_NAME: /^[a-z0-9][a-z0-9_-]{0,31}$/. */
const checkerName = word(ALNUM, [...ALNUM, '_', '-'], 31);
const bounded = (b: { min: number; max: number }) => fc.integer({ min: b.min, max: b.max });

const defaultsEntry: fc.Arbitrary<Entry> = fc
  .record(
    {
      polling_interval: bounded(BOUNDS.pollingInterval),
      max_polling_interval: bounded(BOUNDS.maxPollingInterval),
      checker_timeout: bounded(BOUNDS.checkerTimeout),
      path_checker: checkerName,
      verbosity: bounded(BOUNDS.verbosity),
      checker_dir: anyText(1),
      workers: bounded(BOUNDS.workers),
    },
    { requiredKeys: [] },
  )
  .map((d) => {
    // max_polling_interval may not be below polling_interval (whichever is given or defaulted).
    const polling = d.polling_interval ?? CONFIG_DEFAULTS.pollingInterval;
    if (d.max_polling_interval !== undefined && d.max_polling_interval < polling) d.max_polling_interval = polling;
    return d;
  })
  .chain((d) => fc.shuffledSubarray(Object.entries(d), { minLength: Object.keys(d).length }))
  .map((pairs) => ({ settings: pairs.map(([keyword, value]) => ({ keyword, value: value as Value })) }));

function entryOf(required: Record<string, fc.Arbitrary<Value>>, optional: Record<string, fc.Arbitrary<Value>>): fc.Arbitrary<Entry> {
  return fc
    .tuple(fc.record(required), fc.record(optional, { requiredKeys: [] }))
    .chain(([r, o]) => fc.shuffledSubarray(Object.entries({ ...r, ...o }), { minLength: Object.keys(r).length + Object.keys(o).length }))
    .map((pairs) => ({ settings: pairs.map(([keyword, value]) => ({ keyword, value: value as Value })) }));
}

const deviceEntry = entryOf({ vendor: literal, product: literal, path_checker: checkerName }, {});
const sha256 = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 64, maxLength: 64 });
const checkerEntry = entryOf({ name: checkerName, path: anyText(1) }, { sha256 });
const pathEntry = entryOf({ device: anyText(1) }, { checker: checkerName, vendor: anyText(0), product: anyText(0) });
/** Entries whose `key` keyword must differ (checker names, path devices). */
const uniqueBy = (entry: fc.Arbitrary<Entry>, key: string) =>
  fc.uniqueArray(entry, { maxLength: 4, selector: (e) => e.settings.find((s) => s.keyword === key)!.value });

export const configModel: fc.Arbitrary<ConfigModel> = fc
  .record(
    {
      defaults: defaultsEntry.map((e) => [e]),
      devices: fc.array(deviceEntry, { maxLength: 4 }),
      checkers: uniqueBy(checkerEntry, 'name'),
      paths: uniqueBy(pathEntry, 'device'),
    },
    { requiredKeys: [] },
  )
  .chain((s) => fc.shuffledSubarray(Object.entries(s), { minLength: Object.keys(s).length }))
  .map((list) => ({ sections: list.map(([name, entries]) => ({ name: name as SectionName, entries })) }));

/** Every setting of a model in model order, with its position. */
export function settingsOf(m: ConfigModel): Array<{ section: SectionName; entry: number; setting: Setting }> {
  return m.sections.flatMap((s) => s.entries.flatMap((e, entry) => e.settings.map((setting) => ({ section: s.name, entry, setting }))));
}

const CONF_LAYOUT: Layout = {
  blanks: [' ', '\t', ' \t ', '\f', '\v', '\u00a0', '\r'],
  comment: (rnd) => `${rnd() < 0.5 ? '#' : '!'} note "{ } ${rnd() < 0.5 ? 'path {' : '#!'}`,
};
const JSON_LAYOUT: Layout = { blanks: [' ', '\t', '  ', '\r'], comment: null };

/** A multipath.conf value: bare when it is one word, else quoted (a `"` doubled); integers sometimes as `+007`. */
function confValue(v: Value, rnd: () => number): string {
  if (typeof v === 'object') return v.raw;
  if (typeof v === 'number') return rnd() < 0.2 ? `+00${v}` : rnd() < 0.2 ? `"${v}"` : String(v);
  if (v !== '' && !/[\s{}"#!]/.test(v) && rnd() < 0.5) return v;
  return `"${v.replace(/"/g, '""')}"`;
}

/** A JSON value: integers sometimes written `5.0` or `5e0` (still integers to a JSON reader). */
function jsonValue(v: Value, rnd: () => number): string {
  if (typeof v === 'object') return v.raw;
  if (typeof v === 'number') return rnd() < 0.15 ? `${v}.0` : rnd() < 0.15 ? `${v}e0` : String(v);
  return JSON.stringify(v);
}

/** Render `m` in `syntax`; layout choices come from `layoutSeed`. */
export function renderConfig(m: ConfigModel, syntax: Syntax, layoutSeed: number): Rendered {
  const rnd = prng(layoutSeed);
  const out = new TextEmitter(rnd, syntax === 'conf' ? CONF_LAYOUT : JSON_LAYOUT);
  const settingLines: number[] = [];
  const entryLines: number[] = [];
  if (syntax === 'conf') {
    const settings = (e: Entry) => {
      for (const s of e.settings) {
        settingLines.push(out.token(s.keyword));
        out.token(confValue(s.value, rnd), false);
      }
    };
    for (const section of m.sections) {
      out.token(section.name);
      out.token('{', false);
      if (section.name === 'defaults') settings(section.entries[0]!);
      else
        for (const e of section.entries) {
          entryLines.push(out.token(ENTRY_NAMES[section.name]));
          out.token('{', false);
          settings(e);
          out.token('}');
        }
      out.token('}');
    }
    return { text: out.text(), settingLines, entryLines };
  }
  const object = (e: Entry) => {
    entryLines.push(out.token('{'));
    e.settings.forEach((s, i) => {
      settingLines.push(out.token(`${JSON.stringify(s.keyword)}:`));
      out.token(`${jsonValue(s.value, rnd)}${i < e.settings.length - 1 ? ',' : ''}`);
    });
    out.token('}');
  };
  out.token('{');
  m.sections.forEach((section, k) => {
    out.token(`${JSON.stringify(section.name)}:`);
    if (section.name === 'defaults') {
      object(section.entries[0]!);
      // The defaults object is no entry of a list: keep entryLines for list entries only.
      entryLines.pop();
    } else {
      out.token('[');
      section.entries.forEach((e, i) => {
        object(e);
        if (i < section.entries.length - 1) out.token(',', false);
      });
      out.token(']');
    }
    if (k < m.sections.length - 1) out.token(',', false);
  });
  out.token('}');
  return { text: out.text(), settingLines, entryLines };
}

/** What the daemon's config should hold for `m`, as comparable plain data (patterns as their text). */
export function expectedConfig(m: ConfigModel, resolvePath: (p: string) => string) {
  const section = (name: SectionName) => m.sections.find((s) => s.name === name)?.entries ?? [];
  const values = (e: Entry) => Object.fromEntries(e.settings.map((s) => [s.keyword, s.value]));
  const d = section('defaults').map(values)[0] ?? {};
  const polling = (d.polling_interval as number | undefined) ?? CONFIG_DEFAULTS.pollingInterval;
  return {
    defaults: {
      pollingInterval: polling,
      maxPollingInterval: d.max_polling_interval ?? MAX_POLLING_FACTOR * polling,
      checkerTimeout: d.checker_timeout ?? CONFIG_DEFAULTS.checkerTimeout,
      pathChecker: d.path_checker ?? CONFIG_DEFAULTS.pathChecker,
      verbosity: d.verbosity ?? CONFIG_DEFAULTS.verbosity,
      ...(d.checker_dir !== undefined && { checkerDir: resolvePath(d.checker_dir as string) }),
      ...(d.workers !== undefined && { workers: d.workers }),
    },
    devices: section('devices').map(values).map((v) => ({ vendor: v.vendor, product: v.product, pathChecker: v.path_checker })),
    checkers: section('checkers')
      .map(values)
      .map((v) => ({ name: v.name, path: resolvePath(v.path as string), ...(v.sha256 !== undefined && { sha256: (v.sha256 as string).toLowerCase() }) })),
    paths: section('paths')
      .map(values)
      .map((v) => ({
        device: v.device,
        ...(v.checker !== undefined && { checker: v.checker }),
        ...(v.vendor !== undefined && { vendor: v.vendor }),
        ...(v.product !== undefined && { product: v.product }),
      })),
  };
}
