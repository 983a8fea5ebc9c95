import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LineReader,
  encodeError,
  encodeEvent,
  encodeRequest,
  encodeResult,
  parseRequestLine,
  parseServerLine,
  type RequestId,
} from '../../host/control/protocol.js';
import { runFuzz, testTimeout, type FuzzOptions } from './fuzz-params.js';

/**
 * The control protocol (host/control/protocol.ts), issue 11 "Fuzzing": request lines from any bytes
 * are a request, a one-line refusal or (blank) nothing, never an exception; what the encoders write the
 * parsers read back exactly; LineReader splits any chunking of any stream as a plain split would,
 * holding at most maxLine bytes.
 */

/** The surface's 100,000 cases, across its four properties. */
const NOISE: FuzzOptions = { slice: 1500, share: 0.4, budgetMs: 180_000 };
const ROUND_TRIP: FuzzOptions = { slice: 800, share: 0.2, budgetMs: 180_000 };

const CONTROL = /[\u0000-\u001f\u007f]/;
/** What oneLine() escapes (host/daemon/logger.ts escapeControls): C0, DEL, C1, U+2028/9. */
const ESCAPED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

// ---------------------------------------------------------------- request lines

const TOKENS = [
  '{', '}', '[', ']', ':', ',', '"', '"id"', '"command"', '"show paths"', '"watch"', '"args"', '"__proto__"', '"constructor"',
  '1', '-1', '1e400', '18446744073709551616', '9007199254740992', '1.5', '-0', 'true', 'null', '"\\u0000"', '"\\ud800"',
  '"\\n"', ' ', '\t', '\r', '\u0000', '\u2028', '\\', 'é', 'NaN',
];
const jsonish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(''));
/** Objects with every kind of id and command value, and members of any JSON type. */
const requestish = fc
  .record(
    { id: fc.jsonValue({ maxDepth: 2 }), command: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })), extra: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })) },
    { requiredKeys: [] },
  )
  .map(({ extra, ...r }) => JSON.stringify({ ...extra, ...r }));
const deep = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => `{"command":"x","a":${open.repeat(n)}`);
const requestLine = fc.oneof(
  jsonish,
  requestish,
  deep,
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
);

function checkRequestLine(line: string | Uint8Array): void {
  const got = parseRequestLine(line);
  const text = typeof line === 'string' ? line : Buffer.from(line).toString('utf8');
  if (got === null) {
    expect(text.trim()).toBe('');
    return;
  }
  if (!got.ok) {
    expect(got.error).not.toMatch(CONTROL);
    expect(got.error.length).toBeGreaterThan(0);
    expect(got.id === null || typeof got.id === 'string' || Number.isSafeInteger(got.id)).toBe(true);
    return;
  }
  const { id, command, args } = got.request;
  expect(id === null || typeof id === 'string' || Number.isSafeInteger(id)).toBe(true);
  expect(command).toMatch(/^\S+( \S+)*$/);
  expect(Object.hasOwn(args, 'id') || Object.hasOwn(args, 'command')).toBe(false);
}

// ---------------------------------------------------------------- encoders

/** JSON values as JSON gives them back (fc.jsonValue makes -0, which JSON writes as 0). */
const json = (maxDepth: number) => fc.jsonValue({ maxDepth }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

const requestId: fc.Arbitrary<RequestId> = fc.oneof(fc.maxSafeInteger(), fc.string({ unit: 'binary' }), fc.constant(null));
const argKey = fc.string({ unit: 'binary' }).filter((k) => k !== 'id' && k !== 'command' && k !== '__proto__');
/** A command with at least one non-blank, blanks of every kind around and inside it. */
const command = fc
  .array(fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0', '\u2028')), { minLength: 1, maxLength: 6 })
  .map((p) => p.join(''))
  .filter((c) => c.trim() !== '');

// ---------------------------------------------------------------- LineReader

/** What LineReader should report for `stream`: every line (empty ones too), or 'overlong' for one past maxLine. */
function expectedLines(stream: Buffer, maxLine: number): Array<string | 'overlong'> {
  const parts = stream.toString('latin1').split('\n');
  const last = parts.pop()!;
  const out = parts.map((p) => (p.length > maxLine ? 'overlong' : p));
  if (last.length > maxLine) out.push('overlong');
  else if (last.length > 0) out.push(last);
  return out;
}

describe('fuzz: control protocol', () => {
  it(
    'any request line: a request, a one-line refusal, or (blank) nothing; never an exception',
    async () => {
      await runFuzz('protocol request lines', fc.property(requestLine, checkRequestLine), NOISE);
    },
    testTimeout(NOISE),
  );

  it(
    'encodeRequest -> parseRequestLine gives back the id, the single-spaced command and the args',
    async () => {
      const property = fc.property(requestId, command, fc.dictionary(argKey, json(3), { maxKeys: 4 }), (id, cmd, args) => {
        const line = encodeRequest(id, cmd, args);
        expect(line.indexOf('\n')).toBe(line.length - 1);
        const got = parseRequestLine(Buffer.from(line.slice(0, -1)));
        expect(got).toEqual({ ok: true, request: { id, command: cmd.trim().split(/\s+/).join(' '), args } });
      });
      await runFuzz('protocol request round trip', property, ROUND_TRIP);
    },
    testTimeout(ROUND_TRIP),
  );

  it(
    'encodeResult/encodeError/encodeEvent -> parseServerLine round-trip; errors come back one line; any line parses or is null',
    async () => {
      const property = fc.property(requestId, json(3), fc.string({ unit: 'binary' }), fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 40 })), (id, value, error, noise) => {
        for (const line of [encodeResult(id, value), encodeError(id, error), encodeEvent(value)]) expect(line.indexOf('\n')).toBe(line.length - 1);
        expect(parseServerLine(encodeResult(id, value).slice(0, -1))).toEqual({ kind: 'result', id, result: value });
        const e = parseServerLine(Buffer.from(encodeError(id, error).slice(0, -1)));
        expect(e).toMatchObject({ kind: 'error', id });
        const text = (e as { error: string }).error;
        expect(text).not.toMatch(CONTROL);
        if (!ESCAPED.test(error) && error.length <= 1000) expect(text).toBe(error);
        expect(parseServerLine(encodeEvent(value).slice(0, -1))).toEqual({ kind: 'event', event: value });
        const parsed = parseServerLine(noise);
        expect(parsed === null || ['result', 'error', 'event', 'dropped'].includes(parsed.kind)).toBe(true);
      });
      await runFuzz('protocol server lines', property, ROUND_TRIP);
    },
    testTimeout(ROUND_TRIP),
  );

  it(
    'LineReader: any stream in any chunks gives the lines a split gives, overlong ones reported once, never more than maxLine held',
    async () => {
      const stream = fc.array(fc.oneof(fc.constantFrom('\n', '\n\n', 'a', 'xyz', '\r\n', '\u00ff'), fc.string({ unit: 'binary-ascii', maxLength: 30 })), { maxLength: 30 }).map((p) => Buffer.from(p.join(''), 'latin1'));
      const property = fc.property(stream, fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (bytes, maxLine, cuts, end) => {
        const got: Array<string | 'overlong'> = [];
        const r = new LineReader(maxLine, (l) => got.push(l.toString('latin1')), () => got.push('overlong'));
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...at, bytes.length]) {
          r.feed(bytes.subarray(from, to));
          expect(r.buffered).toBeLessThanOrEqual(maxLine);
          from = to;
        }
        if (end) r.end();
        const want = expectedLines(bytes, maxLine);
        const tail = bytes.lastIndexOf(0x0a) < bytes.length - 1 && want.at(-1) !== 'overlong';
        // Without end(), a last line still in progress has not been reported yet.
        expect(got).toEqual(end || !tail ? want : want.slice(0, -1));
      });
      await runFuzz('protocol LineReader', property, ROUND_TRIP);
    },
    testTimeout(ROUND_TRIP),
  );
});
