import { describe, expect, it } from 'vitest';
import {
  LineReader,
  encodeDropped,
  encodeError,
  encodeEvent,
  encodeRequest,
  encodeResult,
  oneLine,
  parseRequestLine,
  parseServerLine,
} from '../../host/control/protocol.js';

describe('control protocol: request lines', () => {
  it('parses a request: id, command (verb words, single-spaced), every other member as args', () => {
    expect(parseRequestLine('{"id": 7, "command": "  show   paths ", "format": "%d %t"}')).toEqual({
      ok: true,
      request: { id: 7, command: 'show paths', args: { format: '%d %t' } },
    });
    expect(parseRequestLine(Buffer.from('{"id":"a","command":"watch"}\r'))).toEqual({ ok: true, request: { id: 'a', command: 'watch', args: {} } });
    expect(parseRequestLine('{"command":"show paths"}')).toEqual({ ok: true, request: { id: null, command: 'show paths', args: {} } });
  });

  it('refuses with the exact one-line errors', () => {
    const bad = parseRequestLine('{"command": ');
    expect(bad).toMatchObject({ ok: false, id: null });
    expect(bad && !bad.ok && bad.error).toMatch(/^malformed JSON: \S/);
    expect(parseRequestLine('[1,2]')).toEqual({ ok: false, id: null, error: 'request must be a JSON object' });
    expect(parseRequestLine('"show paths"')).toEqual({ ok: false, id: null, error: 'request must be a JSON object' });
    expect(parseRequestLine('null')).toEqual({ ok: false, id: null, error: 'request must be a JSON object' });
    expect(parseRequestLine('{"id": 3}')).toEqual({ ok: false, id: 3, error: "request has no 'command' string" });
    expect(parseRequestLine('{"id": 3, "command": 5}')).toEqual({ ok: false, id: 3, error: "request has no 'command' string" });
    expect(parseRequestLine('{"id": 3, "command": "   "}')).toEqual({ ok: false, id: 3, error: "request has no 'command' string" });
    expect(parseRequestLine('{"id": {}, "command": "x"}')).toEqual({ ok: false, id: null, error: "request 'id' must be a string or a safe integer" });
  });

  it('binary garbage and invalid UTF-8 are malformed JSON, in one printable line', () => {
    const invalid = parseRequestLine(Buffer.from([0xff, 0xfe, 0x7b, 0x80]));
    expect(invalid).toEqual({ ok: false, id: null, error: 'malformed JSON: invalid UTF-8' });
    const garbage = parseRequestLine(Buffer.from([0x00, 0x01, 0x02, 0x1b, 0x0d, 0x41, 0x07]));
    expect(garbage).toMatchObject({ ok: false, id: null });
    const error = garbage && !garbage.ok ? garbage.error : '';
    expect(error.startsWith('malformed JSON: ')).toBe(true);
    expect(error).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('blank lines are not requests', () => {
    expect(parseRequestLine('')).toBeNull();
    expect(parseRequestLine(' \t\r')).toBeNull();
  });

  it('encodes responses and events as single lines; ids echoed, null when absent', () => {
    expect(encodeResult(4, { a: 'x\ny' })).toBe('{"id":4,"ok":true,"result":{"a":"x\\ny"}}\n');
    expect(encodeResult(null, undefined)).toBe('{"id":null,"ok":true,"result":null}\n');
    expect(encodeError('q', 'bad\nthing')).toBe('{"id":"q","ok":false,"error":"bad\\\\u000athing"}\n');
    expect(encodeEvent({ type: 'up' })).toBe('{"event":{"type":"up"}}\n');
    expect(() => encodeResult(1, { n: 1n })).toThrow();
    expect(encodeRequest(1, 'show paths', { verbose: true })).toBe('{"id":1,"command":"show paths","verbose":true}\n');
    expect(() => encodeRequest(1, 'x', { id: 2 })).toThrow(/may not be named/);
    expect(oneLine('a\r\nb')).toBe('a\\u000d\\u000ab');
  });

  it('parses what the server sends', () => {
    expect(parseServerLine('{"id":1,"ok":true,"result":[1]}')).toEqual({ kind: 'result', id: 1, result: [1] });
    expect(parseServerLine('{"id":null,"ok":false,"error":"e"}')).toEqual({ kind: 'error', id: null, error: 'e' });
    expect(parseServerLine('{"event":{"t":1}}')).toEqual({ kind: 'event', event: { t: 1 } });
    expect(parseServerLine('nonsense')).toBeNull();
  });

  it('the last line to a dropped client: an error with a null id, and the kind, told apart from an answer', () => {
    const line = encodeDropped('idle', 'idle for 60 s\n');
    expect(line).toBe('{"id":null,"ok":false,"dropped":"idle","error":"idle for 60 s\\\\u000a"}\n');
    expect(parseServerLine(line.trimEnd())).toEqual({ kind: 'dropped', dropped: 'idle', error: 'idle for 60 s\\u000a' });
  });
});

describe('control protocol: LineReader', () => {
  function reader(max: number) {
    const out: string[] = [];
    const r = new LineReader(max, (l) => out.push(l.toString()), () => out.push('<overlong>'));
    return { r, out };
  }

  it('splits lines across chunk boundaries', () => {
    const { r, out } = reader(100);
    r.feed(Buffer.from('ab'));
    r.feed(Buffer.from('c\nde'));
    r.feed(Buffer.from('f\n\ng'));
    expect(out).toEqual(['abc', 'def', '']);
    r.end();
    expect(out).toEqual(['abc', 'def', '', 'g']);
  });

  it('a line of exactly maxLine bytes passes; one byte more is reported once and discarded to the newline, unbuffered', () => {
    const { r, out } = reader(8);
    r.feed(Buffer.from('12345678\n'));
    expect(out).toEqual(['12345678']);
    r.feed(Buffer.from('123456789\nok\n'));
    expect(out).toEqual(['12345678', '<overlong>', 'ok']);
    // Unterminated: reported as soon as it passes the limit, then nothing is held.
    r.feed(Buffer.from('1234567'));
    r.feed(Buffer.from('89'));
    expect(out.at(-1)).toBe('<overlong>');
    expect(r.buffered).toBe(0);
    for (let i = 0; i < 100; i++) r.feed(Buffer.alloc(1000, 0x41));
    expect(r.buffered).toBe(0);
    r.feed(Buffer.from('tail\nnext\n'));
    expect(out.slice(-2)).toEqual(['<overlong>', 'next']);
    expect(out.filter((l) => l === '<overlong>')).toHaveLength(2);
  });
});

describe('control protocol: request ids are echoed exactly or refused', () => {
  // JSON.parse turns these into Infinity, 2^64 rounded and a rounded float: echoing them would
  // hand the client an id it never sent. A string, or an integer a double holds exactly, is echoed.
  const refused = ['1e400', '-1e400', '18446744073709551616', '123456789012345678901234567890', '9007199254740992', '1.5'];

  it.each(refused)('refuses the id %s with a null id and an error naming what it was read as', (text) => {
    const got = parseRequestLine(`{"id": ${text}, "command": "show stats"}`);
    expect(got).toEqual({
      ok: false,
      id: null,
      error: `request 'id' must be a string or a safe integer (at most 2^53-1 in magnitude); got a number read as ${String(JSON.parse(text))}`,
    });
  });

  it('echoes strings and safe integers exactly, the largest ones included', () => {
    for (const id of [0, -1, 9007199254740991, -9007199254740991, '18446744073709551616', '1e400', '']) {
      const got = parseRequestLine(JSON.stringify({ id, command: 'show stats' }));
      expect(got).toEqual({ ok: true, request: { id, command: 'show stats', args: {} } });
      expect(JSON.parse(encodeResult(id, 1))).toEqual({ id, ok: true, result: 1 });
    }
  });

  it('other id types get the same rule in the error', () => {
    for (const id of ['{}', 'true', '[1]']) {
      expect(parseRequestLine(`{"id": ${id}, "command": "x"}`)).toEqual({ ok: false, id: null, error: "request 'id' must be a string or a safe integer" });
    }
  });
});
