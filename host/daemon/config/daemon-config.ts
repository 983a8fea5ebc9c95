import { dirname, resolve } from 'node:path';
import { ConfigError, quote } from './config-error.js';
import { parseConfText } from './conf-parser.js';
import { parseJsonText } from './json-config.js';
import { compileEre, EreError, type Ere } from './posix-ere.js';
import { describeJson } from './json-reader.js';
import type { RawConfig, RawEntry, RawSetting, RawValue } from './raw-config.js';
import { CHECKER_NAME } from '../../abi/checker-name.js';
import { ISCSI_NAME_FORMS, isIscsiName } from '../../backends/iscsi/iscsi-spec.js';
import { readCapped, readFailure } from '../../registry/read-capped.js';
import { BOUNDS, MAX_POLLING_FACTOR, type Bound } from '../bounds.js';

/** The daemon's configuration, from a multipath.conf subset or its JSON form. */
export interface DaemonConfig {
  /** Absolute path of the file it came from. */
  readonly file: string;
  readonly defaults: DefaultsConfig;
  readonly devices: readonly DeviceConfig[];
  readonly checkers: readonly CheckerPin[];
  readonly paths: readonly PathConfig[];
  readonly targets: readonly TargetConfig[];
}

export interface DefaultsConfig {
  /** Seconds between checks of a path whose state just changed. */
  pollingInterval: number;
  /** Seconds: the interval doubles up to this while a path's state stays the same. */
  maxPollingInterval: number;
  /** Seconds one check may take. */
  checkerTimeout: number;
  /** The checker of a path that names none and matches no devices{} entry. */
  pathChecker: string;
  /** 0 (errors only) .. 6. */
  verbosity: number;
  /** Absolute directory of `<name>.wasm` checkers; undefined: the daemon uses the package's build/checkers. */
  checkerDir?: string;
  /** Worker threads; undefined: the daemon chooses. */
  workers?: number;
  /** Absolute path of the user's sim scenario file (scenarios.json's schema), read at start. */
  scenarioFile?: string;
  /** The line of each keyword set, for errors found later (a checker that cannot be loaded). */
  lines: KeywordLines<typeof DEFAULTS_KEYWORDS>;
}

/** A devices{} entry: paths whose vendor and product match use `pathChecker`. */
export interface DeviceConfig {
  vendor: Ere;
  product: Ere;
  pathChecker: string;
  line: number;
  lines: KeywordLines<typeof DEVICE_KEYWORDS>;
}

/** A checkers{} entry: the module a checker name is loaded from. */
export interface CheckerPin {
  name: string;
  /** Absolute path of the .wasm file. */
  path: string;
  /** Lowercase hex digest the file must have. */
  sha256?: string;
  line: number;
  lines: KeywordLines<typeof CHECKER_KEYWORDS>;
}

/** A targets{} entry: the CHAP credentials the initiator logs in to one iSCSI target with. */
export interface TargetConfig {
  /** Lower-case iSCSI name, as device specs are compared. */
  name: string;
  chap: { user: string; secret: string };
  line: number;
  lines: KeywordLines<typeof TARGET_KEYWORDS>;
}

/** The CHAP credentials `config` gives for `target` (a lower-case iSCSI name), if any. */
export function chapFor(config: DaemonConfig, target: string): TargetConfig['chap'] | undefined {
  return config.targets.find((t) => t.name === target)?.chap;
}

/** A paths{} entry: a device to check. */
export interface PathConfig {
  /** Device spec, such as `sim:ok?id=ctrlA-lun00`; its scheme is checked by the daemon, not here. */
  device: string;
  /** Overrides devices{} and defaults. */
  checker?: string;
  /** What devices{} entries are matched against; unknown (no device match) when either is missing. */
  vendor?: string;
  product?: string;
  /** Paths with the same wwid are one multipath: they share their checker's multipath context. */
  wwid?: string;
  line: number;
  lines: KeywordLines<typeof PATH_KEYWORDS>;
}

/** multipathd's defaults; max_polling_interval defaults to MAX_POLLING_FACTOR x polling_interval. */
export const CONFIG_DEFAULTS = { pollingInterval: 5, checkerTimeout: 30, pathChecker: 'tur', verbosity: 2 } as const;

/** The value a keyword takes. `read` answers the value or Invalid; conversion is per syntax, meaning is shared. */
interface ValueType<T> {
  /** For messages: "expected an integer from 1 to 3600". */
  readonly expected: string;
  read(v: Exclude<RawValue, { syntax: 'missing' }>): T | Invalid;
}

/** A value that is not of the keyword's type; `note` says why when the type alone does not. */
class Invalid {
  constructor(readonly note?: string) {}
}

/** The text of a value: anything in multipath.conf (quoted or not), a JSON string in JSON. */
function textOf(v: Exclude<RawValue, { syntax: 'missing' }>): string | undefined {
  if (v.syntax === 'conf') return v.text;
  return typeof v.value === 'string' ? v.value : undefined;
}

function integer({ min, max }: Bound): ValueType<number> {
  return {
    expected: `an integer from ${min} to ${max}`,
    read(v) {
      const n = v.syntax === 'conf' ? (/^[+-]?[0-9]+$/.test(v.text) ? Number(v.text) : NaN) : v.value;
      return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : new Invalid();
    },
  };
}

function text(expected: string, valid: (s: string) => boolean): ValueType<string> {
  return {
    expected,
    read(v) {
      const s = textOf(v);
      return s !== undefined && valid(s) ? s : new Invalid();
    },
  };
}

/** INQUIRY's vendor is 8 characters and its product 16; 256 leaves room and keeps matching cheap (its cost is pattern x text). */
const MAX_IDENTITY_CHARS = 256;
const identity = text(`a string of at most ${MAX_IDENTITY_CHARS} characters`, (s) => s.length <= MAX_IDENTITY_CHARS);
const nonEmptyString = text('a non-empty string', (s) => s.length > 0);
const checkerName = text(`a checker name (matching ${CHECKER_NAME.source})`, (s) => CHECKER_NAME.test(s));
const sha256: ValueType<string> = {
  expected: 'a sha256 digest (64 hex digits)',
  read(v) {
    const s = textOf(v);
    return s !== undefined && /^[0-9a-fA-F]{64}$/.test(s) ? s.toLowerCase() : new Invalid();
  },
};
/**
 * A devices{} vendor or product pattern: a POSIX extended regular expression, as multipathd's
 * regcomp(REG_EXTENDED), compiled once here so a bad one is refused with its line. Matched in time
 * linear in the text (posix-ere.ts), so no pattern can stall the daemon.
 */
const regex: ValueType<Ere> = {
  expected: 'a regular expression',
  read(v) {
    const s = textOf(v);
    if (s === undefined) return new Invalid();
    try {
      return compileEre(s);
    } catch (e) {
      if (e instanceof EreError) return new Invalid(e.message);
      throw e;
    }
  },
};

type Schema = Readonly<Record<string, ValueType<unknown>>>;
type ValueOf<V> = V extends ValueType<infer T> ? T : never;
interface Setting<T> {
  readonly value: T;
  readonly line: number;
}
type Settings<S extends Schema, R extends keyof S> = { readonly [K in keyof S]?: Setting<ValueOf<S[K]>> } & {
  readonly [K in R]-?: Setting<ValueOf<S[K]>>;
};
/** The 1-based line of each keyword an entry sets. */
export type KeywordLines<S extends Schema> = { readonly [K in keyof S]?: number };

function linesOf<S extends Schema>(settings: Settings<S, never>): KeywordLines<S> {
  return Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, (s as Setting<unknown>).line])) as KeywordLines<S>;
}

/** The keywords of each section, in the order messages list them. */
const DEFAULTS_KEYWORDS = {
  polling_interval: integer(BOUNDS.pollingInterval),
  max_polling_interval: integer(BOUNDS.maxPollingInterval),
  checker_timeout: integer(BOUNDS.checkerTimeout),
  path_checker: checkerName,
  verbosity: integer(BOUNDS.verbosity),
  checker_dir: nonEmptyString,
  workers: integer(BOUNDS.workers),
  scenario_file: nonEmptyString,
} satisfies Schema;
const DEVICE_KEYWORDS = { vendor: regex, product: regex, path_checker: checkerName } satisfies Schema;
const CHECKER_KEYWORDS = { name: checkerName, path: nonEmptyString, sha256 } satisfies Schema;
/** A secret's value is never shown: not in errors, not in `show` answers, not in logs. */
const secret: ValueType<string> & { readonly hidden: true } = { ...text('a non-empty string', (s) => s.length > 0), hidden: true };
const iscsiName = text(ISCSI_NAME_FORMS, (s) => isIscsiName(s.toLowerCase()));
const TARGET_KEYWORDS = { name: iscsiName, chap_user: nonEmptyString, chap_secret: secret } satisfies Schema;
/** A multipath's WWID, as multipath.conf's multipaths{} name one (any text; paths are grouped by equality). */
const wwid = text(`a non-empty string of at most ${MAX_IDENTITY_CHARS} characters`, (s) => s.length > 0 && s.length <= MAX_IDENTITY_CHARS);
const PATH_KEYWORDS = { device: nonEmptyString, checker: checkerName, vendor: identity, product: identity, wwid } satisfies Schema;

function describeValue(v: Exclude<RawValue, { syntax: 'missing' }>, type: ValueType<unknown>): string {
  if ('hidden' in type) return 'a value (not shown: it is a secret)';
  return v.syntax === 'conf' ? quote(v.text) : describeJson(v.value);
}

function readValue<T>(s: RawSetting, type: ValueType<T>, where: string, file: string): T {
  const what = `keyword '${s.keyword}' in ${where}`;
  if (s.value.syntax === 'missing') throw new ConfigError(file, s.line, `${what}: missing value (expected ${type.expected})`);
  const value = type.read(s.value);
  if (value instanceof Invalid) {
    const note = value.note === undefined ? '' : ` (${value.note})`;
    throw new ConfigError(file, s.line, `${what}: expected ${type.expected}, found ${describeValue(s.value, type)}${note}`);
  }
  return value;
}

/** One section's settings, typed: unknown and repeated keywords, bad values and missing required ones refused. */
function readEntry<S extends Schema, R extends keyof S & string = never>(
  entry: RawEntry,
  schema: S,
  required: readonly R[],
  file: string,
): Settings<S, R> {
  const out = new Map<string, Setting<unknown>>();
  for (const s of entry.settings) {
    const type = Object.hasOwn(schema, s.keyword) ? schema[s.keyword] : undefined;
    if (type === undefined) {
      throw new ConfigError(file, s.line, `unknown keyword ${quote(s.keyword)} in ${entry.where} (known: ${Object.keys(schema).join(', ')})`);
    }
    const first = out.get(s.keyword);
    if (first !== undefined) {
      throw new ConfigError(file, s.line, `duplicate keyword '${s.keyword}' in ${entry.where} (first at line ${first.line})`);
    }
    out.set(s.keyword, { value: readValue(s, type, entry.where, file), line: s.line });
  }
  for (const k of required) {
    if (!out.has(k)) throw new ConfigError(file, entry.line, `missing keyword '${k}' in ${entry.where} (required: ${required.join(', ')})`);
  }
  return Object.fromEntries(out) as Settings<S, R>;
}

/** Refuse a second entry with the same key (checker name, path device), naming both lines. */
function unique(seen: Map<string, number>, key: string, line: number, what: string, where: string, file: string): void {
  const first = seen.get(key);
  if (first !== undefined) throw new ConfigError(file, line, `duplicate ${what} ${quote(key)} in ${where} (first at line ${first})`);
  seen.set(key, line);
}

/** Give a raw config (from either syntax) its meaning: types, ranges, defaults, cross-checks. */
export function buildConfig(raw: RawConfig, file: string): DaemonConfig {
  const absolute = resolve(file);
  const dir = dirname(absolute);

  const d: Settings<typeof DEFAULTS_KEYWORDS, never> = raw.defaults === undefined ? {} : readEntry(raw.defaults, DEFAULTS_KEYWORDS, [], file);
  const pollingInterval = d.polling_interval?.value ?? CONFIG_DEFAULTS.pollingInterval;
  const maxPollingInterval = d.max_polling_interval?.value ?? MAX_POLLING_FACTOR * pollingInterval;
  if (d.max_polling_interval !== undefined && maxPollingInterval < pollingInterval) {
    throw new ConfigError(
      file,
      d.max_polling_interval.line,
      `keyword 'max_polling_interval' in ${raw.defaults!.where}: ${maxPollingInterval} is less than polling_interval (${pollingInterval})`,
    );
  }
  const defaults: DefaultsConfig = {
    pollingInterval,
    maxPollingInterval,
    checkerTimeout: d.checker_timeout?.value ?? CONFIG_DEFAULTS.checkerTimeout,
    pathChecker: d.path_checker?.value ?? CONFIG_DEFAULTS.pathChecker,
    verbosity: d.verbosity?.value ?? CONFIG_DEFAULTS.verbosity,
    ...(d.checker_dir !== undefined && { checkerDir: resolve(dir, d.checker_dir.value) }),
    ...(d.workers !== undefined && { workers: d.workers.value }),
    ...(d.scenario_file !== undefined && { scenarioFile: resolve(dir, d.scenario_file.value) }),
    lines: linesOf(d),
  };

  const devices = raw.devices.map((e): DeviceConfig => {
    const s = readEntry(e, DEVICE_KEYWORDS, ['vendor', 'product', 'path_checker'], file);
    return { vendor: s.vendor.value, product: s.product.value, pathChecker: s.path_checker.value, line: e.line, lines: linesOf(s) };
  });

  const names = new Map<string, number>();
  const checkers = raw.checkers.map((e): CheckerPin => {
    const s = readEntry(e, CHECKER_KEYWORDS, ['name', 'path'], file);
    unique(names, s.name.value, s.name.line, 'checker', e.where, file);
    return {
      name: s.name.value,
      path: resolve(dir, s.path.value),
      ...(s.sha256 !== undefined && { sha256: s.sha256.value }),
      line: e.line,
      lines: linesOf(s),
    };
  });

  const specs = new Map<string, number>();
  const paths = raw.paths.map((e): PathConfig => {
    const s = readEntry(e, PATH_KEYWORDS, ['device'], file);
    unique(specs, s.device.value, s.device.line, 'path device', e.where, file);
    return {
      device: s.device.value,
      ...(s.checker !== undefined && { checker: s.checker.value }),
      ...(s.vendor !== undefined && { vendor: s.vendor.value }),
      ...(s.product !== undefined && { product: s.product.value }),
      ...(s.wwid !== undefined && { wwid: s.wwid.value }),
      line: e.line,
      lines: linesOf(s),
    };
  });

  const targetNames = new Map<string, number>();
  const targets = raw.targets.map((e): TargetConfig => {
    const s = readEntry(e, TARGET_KEYWORDS, ['name', 'chap_user', 'chap_secret'], file);
    const name = s.name.value.toLowerCase();
    unique(targetNames, name, s.name.line, 'target', e.where, file);
    return { name, chap: { user: s.chap_user.value, secret: s.chap_secret.value }, line: e.line, lines: linesOf(s) };
  });

  return { file: absolute, defaults, devices, checkers, paths, targets };
}

/**
 * The config in `text`, read from `file` (named in errors; relative paths in the config are resolved
 * against its directory). JSON when the first non-blank character is `{`, multipath.conf otherwise.
 * Throws ConfigError.
 */
export function parseConfig(text: string, file: string): DaemonConfig {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const raw = /^\s*\{/.test(body) ? parseJsonText(body, file) : parseConfText(body, file);
  return buildConfig(raw, file);
}

/** A config for 16k paths is about 1 MiB; past this cap it is a mistake (or /dev/zero), not a config. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Read and parse a config file. Throws ConfigError, also when the file cannot be read. */
export async function loadConfig(file: string): Promise<DaemonConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(file, MAX_CONFIG_BYTES);
  } catch (e) {
    throw new ConfigError(file, 0, `cannot read the config file: ${readFailure(e)}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(file, 0, 'cannot read the config file: it is not UTF-8 text');
  }
  return parseConfig(text, file);
}
