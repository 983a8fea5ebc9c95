import { dirname, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECKER_NAME } from '../../host/abi/checker-name.js';
import { BOUNDS } from '../../host/daemon/bounds.js';
import { ConfigError } from '../../host/daemon/config/config-error.js';
import { MAX_CONFIG_BYTES, parseConfig, type DaemonConfig } from '../../host/daemon/config/daemon-config.js';
import { configModel, expectedConfig, renderConfig, settingsOf, type ConfigModel, type Setting, type Syntax } from './config-model.js';
import { expectOneLine, runFuzz, testTimeout, type FuzzOptions } from './fuzz-params.js';

/**
 * The config parser, both syntaxes (issue 11, "Fuzzing"): any text either parses to a valid config or
 * is refused with a ConfigError of one line, `FILE:LINE: ...`, LINE inside the file; no other exception
 * escapes. Generated well-formed configs parse and give back the values and lines they were written
 * with; one bad value in one is refused at that value's line.
 */

const FILE = 'fuzz/pathcheck.conf';
/** The surface's 100,000 cases: half noise, a quarter each of well-formed and spoilt configs. */
const NOISE: FuzzOptions = { slice: 1500, share: 0.5, budgetMs: 240_000 };
const WELL_FORMED: FuzzOptions = { slice: 800, share: 0.25, budgetMs: 240_000 };
const resolvePath = (p: string) => resolve(dirname(resolve(FILE)), p);
const lineCount = (text: string) => text.split('\n').length;

function refusal(text: string): ConfigError | null {
  try {
    expectValid(parseConfig(text, FILE));
    return null;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    expectOneLine(e.message);
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.line).toBeLessThanOrEqual(lineCount(text));
    expect(e.message.startsWith(`${FILE}:${e.line}: `)).toBe(true);
    expect(e.detail.length).toBeGreaterThan(0);
    return e;
  }
}

function inBounds(n: number | undefined, b: { min: number; max: number }): void {
  if (n === undefined) return;
  expect(Number.isInteger(n) && n >= b.min && n <= b.max, `${n} in ${b.min}..${b.max}`).toBe(true);
}

/** What a parsed config promises the daemon, whatever text it came from. */
function expectValid(c: DaemonConfig): void {
  const d = c.defaults;
  inBounds(d.pollingInterval, BOUNDS.pollingInterval);
  inBounds(d.maxPollingInterval, BOUNDS.maxPollingInterval);
  expect(d.maxPollingInterval).toBeGreaterThanOrEqual(d.pollingInterval);
  inBounds(d.checkerTimeout, BOUNDS.checkerTimeout);
  inBounds(d.verbosity, BOUNDS.verbosity);
  inBounds(d.workers, BOUNDS.workers);
  expect(d.pathChecker).toMatch(CHECKER_NAME);
  for (const dev of c.devices) expect(dev.pathChecker).toMatch(CHECKER_NAME);
  expect(new Set(c.checkers.map((k) => k.name)).size).toBe(c.checkers.length);
  for (const k of c.checkers) expect(k.name).toMatch(CHECKER_NAME);
  expect(new Set(c.paths.map((p) => p.device)).size).toBe(c.paths.length);
  for (const p of c.paths) {
    expect(p.device.length).toBeGreaterThan(0);
    if (p.checker !== undefined) expect(p.checker).toMatch(CHECKER_NAME);
  }
}

/** A config as comparable data: no lines, patterns as their text. */
function shape(c: DaemonConfig) {
  const { lines: _, ...defaults } = c.defaults;
  return {
    defaults,
    devices: c.devices.map((d) => ({ vendor: d.vendor.source, product: d.product.source, pathChecker: d.pathChecker })),
    checkers: c.checkers.map(({ line: _l, lines: _k, ...rest }) => rest),
    paths: c.paths.map(({ line: _l, lines: _k, ...rest }) => rest),
  };
}

// ---------------------------------------------------------------- noise

const CONF_WORDS = [
  'defaults', 'devices', 'device', 'checkers', 'checker', 'paths', 'path', 'blacklist', 'multipaths', 'polling_interval',
  'max_polling_interval', 'checker_timeout', 'path_checker', 'verbosity', 'checker_dir', 'workers', 'vendor', 'product',
  'name', 'sha256', 'tur', 'none', '0', '1', '-1', '+7', '3601', '1.5', '99999999999999999999999', '__proto__', 'constructor',
];
const CONF_PUNCT = ['{', '}', '"', '""', '"x y"', '"a""b"', '#', '!', '\n', '\n', '\n', '\r\n', ' ', ' ', '\t', '\u0000', '\u2028', '\uFEFF', 'é', '\\'];
const confNoise = fc.array(fc.constantFrom(...CONF_WORDS, ...CONF_PUNCT, ...CONF_PUNCT), { maxLength: 80 }).map((t) => t.join(''));

const JSON_TOKENS = [
  '{', '}', '[', ']', ':', ',', ',', ' ', '\n', '\t', '"defaults"', '"devices"', '"checkers"', '"paths"', '"device"', '"polling_interval"',
  '"max_polling_interval"', '"path_checker"', '"vendor"', '"product"', '"name"', '"path"', '"sha256"', '"blacklist"', '"__proto__"',
  '"constructor"', '"toString"', '1', '0', '-0', '-1', '1.5', '1e999', '-1e999', '5e-324', '123456789012345678901234567890', 'true',
  'false', 'null', '"tur"', '""', '"\\u0000"', '"\\ud800"', '"a\\nb"', '"\n"', '"\\x"', '"', '\\', '/*', '//', 'NaN', 'Infinity', '\u0000',
];
const jsonNoise = fc.array(fc.constantFrom(...JSON_TOKENS), { maxLength: 80 }).map((t) => `{${t.join('')}`);

/** Deep nesting: arrays, objects, both, inside a section or at the top. */
const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('[', '{"a":', '[{"x":'), fc.boolean(), fc.boolean())
  .map(([n, open, closed, inSection]) => {
    const close = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
    const body = `${open.repeat(n)}1${closed ? close.repeat(n) : ''}`;
    return inSection ? `{"defaults": ${body}}` : body;
  });

/** A well-formed config with characters inserted, deleted or replaced. */
const mutated = fc
  .tuple(
    configModel,
    fc.constantFrom<Syntax>('conf', 'json'),
    fc.integer(),
    fc.array(fc.tuple(fc.constantFrom('insert', 'delete', 'replace'), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(...CONF_PUNCT, ...JSON_TOKENS, ...CONF_WORDS)), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([m, syntax, seed, edits]) => {
    let text = renderConfig(m, syntax, seed).text;
    for (const [op, where, piece] of edits) {
      const at = Math.floor(where * text.length);
      text = op === 'insert' ? text.slice(0, at) + piece + text.slice(at) : text.slice(0, at) + (op === 'replace' ? piece : '') + text.slice(at + 1);
    }
    return text;
  });

const anyText = fc.oneof(
  confNoise,
  jsonNoise,
  deepJson,
  mutated,
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `{${s}`),
);

// ---------------------------------------------------------------- one bad value

/** An invalid value for `keyword` in `syntax`, as written in the file (one token). */
function badValue(keyword: string, syntax: Syntax): fc.Arbitrary<string> | null {
  const conf = syntax === 'conf';
  const integer = (b: { min: number; max: number }) =>
    fc.constantFrom(String(b.min - 1), String(b.max + 1), '1.5', '""', ...(conf ? ['abc', '1e3', '0x10', '"9 9"'] : ['"5"', 'true', 'null', '[]', '{}', '1e999']));
  const name = fc.constantFrom('UPPER', '""', ...(conf ? ['"bad name"', '-x', 'a'.repeat(33)] : ['5', 'null', '["tur"]', '"-x"']));
  const nonEmpty = fc.constantFrom('""', ...(conf ? [] : ['5', 'null', '{}']));
  switch (keyword) {
    case 'polling_interval':
      return integer(BOUNDS.pollingInterval);
    case 'max_polling_interval':
      return integer(BOUNDS.maxPollingInterval);
    case 'checker_timeout':
      return integer(BOUNDS.checkerTimeout);
    case 'verbosity':
      return integer(BOUNDS.verbosity);
    case 'workers':
      return integer(BOUNDS.workers);
    case 'path_checker':
    case 'name':
    case 'checker':
      return conf ? name : name.map((v) => (v === 'UPPER' ? '"UPPER"' : v));
    case 'checker_dir':
    case 'path':
    case 'device':
      return nonEmpty;
    case 'sha256':
      return fc.constantFrom(conf ? 'abc' : '"abc"', `"${'g'.repeat(64)}"`, ...(conf ? [] : ['5']));
    default:
      // vendor/product: a pattern in devices{} ('(' never compiles), any string in paths{} (only JSON can be wrong).
      return conf ? null : fc.constantFrom('5', 'null', '[]');
  }
}

interface BadCase {
  readonly model: ConfigModel;
  readonly syntax: Syntax;
  readonly seed: number;
  /** Index of the spoilt setting in settingsOf(model) order. */
  readonly index: number;
  readonly keyword: string;
}

const badCase: fc.Arbitrary<BadCase> = fc
  .tuple(configModel, fc.constantFrom<Syntax>('conf', 'json'), fc.integer(), fc.nat())
  .chain(([model, syntax, seed, pick]) => {
    const all = settingsOf(model);
    const candidates = all
      .map((s, index) => ({ ...s, index }))
      .filter((s) => (s.section === 'devices' && (s.setting.keyword === 'vendor' || s.setting.keyword === 'product')) || badValue(s.setting.keyword, syntax) !== null);
    if (candidates.length === 0) return fc.constant(null);
    const target = candidates[pick % candidates.length]!;
    const keyword = target.setting.keyword;
    const bad =
      target.section === 'devices' && (keyword === 'vendor' || keyword === 'product')
        ? fc.constantFrom('"("', '"[a"')
        : badValue(keyword, syntax)!;
    return bad.map((raw): BadCase => {
      let k = 0;
      const spoil = (s: Setting): Setting => (k++ === target.index ? { keyword: s.keyword, value: { raw } } : s);
      const spoilt: ConfigModel = { sections: model.sections.map((sec) => ({ name: sec.name, entries: sec.entries.map((e) => ({ settings: e.settings.map(spoil) })) })) };
      return { model: spoilt, syntax, seed, index: target.index, keyword };
    });
  })
  .filter((c): c is BadCase => c !== null);

describe('fuzz: config parser (multipath.conf and JSON)', () => {
  it(
    'any text: a valid config, or one ConfigError line FILE:LINE: ... with LINE in the file',
    async () => {
      await runFuzz('config noise', fc.property(anyText, (text) => void refusal(text)), NOISE);
    },
    testTimeout(NOISE),
  );

  it(
    'a generated config parses in both syntaxes to the values and lines it was written with',
    async () => {
      const property = fc.property(configModel, fc.constantFrom<Syntax>('conf', 'json'), fc.integer(), (model, syntax, seed) => {
        const r = renderConfig(model, syntax, seed);
        const c = parseConfig(r.text, FILE);
        expectValid(c);
        expect(shape(c)).toEqual(expectedConfig(model, resolvePath));
        // Lines: each entry's, and each keyword's in its entry.
        const entries = [...c.devices, ...c.checkers, ...c.paths];
        const order = model.sections.filter((s) => s.name !== 'defaults').flatMap((s) => s.entries.map((_, i) => ({ section: s.name, i })));
        const parsedEntry = (section: string, i: number) =>
          section === 'devices' ? c.devices[i]! : section === 'checkers' ? c.checkers[i]! : c.paths[i]!;
        expect(entries.length).toBe(order.length);
        order.forEach((o, k) => expect(parsedEntry(o.section, o.i).line).toBe(r.entryLines[k]));
        settingsOf(model).forEach((s, k) => {
          const lines = s.section === 'defaults' ? c.defaults.lines : parsedEntry(s.section, s.entry).lines;
          expect((lines as Record<string, number>)[s.setting.keyword]).toBe(r.settingLines[k]);
        });
      });
      await runFuzz('config well-formed', property, WELL_FORMED);
    },
    testTimeout(WELL_FORMED),
  );

  it(
    'one bad value in a generated config is refused at its line, naming its keyword',
    async () => {
      const property = fc.property(badCase, (c) => {
        const r = renderConfig(c.model, c.syntax, c.seed);
        const e = refusal(r.text);
        expect(e, 'the spoilt config must be refused').not.toBeNull();
        expect(e!.line).toBe(r.settingLines[c.index]);
        expect(e!.detail).toContain(`keyword '${c.keyword}'`);
      });
      await runFuzz('config bad value', property, WELL_FORMED);
    },
    testTimeout(WELL_FORMED),
  );
});

describe('config parser: regressions (large inputs, found while writing this fuzz test)', () => {
  it('a JSON string of 1.38 million \\u escapes (8.3 MB, under the 8 MiB cap) is read (it was a RangeError: the string regex overflowed the stack)', () => {
    const text = `{"paths": [{"device": "${'\\u0041'.repeat(1_380_000)}"}]}`;
    expect(text.length).toBeLessThan(MAX_CONFIG_BYTES);
    expect(parseConfig(text, FILE).paths[0]!.device).toBe('A'.repeat(1_380_000));
    // The same string with a raw control character in it is still refused in one line, at its line.
    const bad = refusal(`{"paths": [\n{"device": "${'\\n'.repeat(1_000_000)}\u0001"}]}`);
    expect(bad?.line).toBe(2);
    expect(bad?.detail).toMatch(/^invalid JSON: bad string/);
  });

  it('a quoted value of 900,000 doubled quotes is read in linear time (the lexer rescanned the line per quote: ~20 s)', () => {
    const text = `paths {\n path {\n  device "${'a""'.repeat(900_000)}"\n }\n}\n`;
    const t0 = performance.now();
    const c = parseConfig(text, FILE);
    // Linear: ~0.1 s here even on a loaded machine; the quadratic scan took ~20 s.
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(c.paths[0]!.device).toBe('a"'.repeat(900_000));
  });
});
