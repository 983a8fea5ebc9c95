import { describe, expect, it } from 'vitest';
import { OUTPUT_BURST, OUTPUT_LINE_MAX, OUTPUT_REFILL_PER_SECOND, OutputLimiter, type OutputStream } from '../../host/shim/output-limit.js';
import { Guest } from '../helpers/guest.js';

/**
 * Plugin stdout/stderr (docs/ABI.md "stdout and stderr"): the limiter on a clock the test drives, then
 * the shim's fd_write to fd 1 and 2 through it.
 */

const SUCCESS = 0;

/** A limiter and its clock, in milliseconds. */
function limiter(): { out: OutputLimiter; advance(ms: number): void } {
  let now = 0;
  return { out: new OutputLimiter(() => now), advance: (ms) => void (now += ms) };
}

/** One write through the limiter, as the shim makes it: copy the allowance, pass it on. */
function write(out: OutputLimiter, text: string | Uint8Array, stream: OutputStream = 'stdout') {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return out.pass(stream, bytes.slice(0, out.allowance(bytes.length)), bytes.length);
}

/** `n` lines of `width` bytes each, newline included. */
const lines = (n: number, width: number) => `${'a'.repeat(width - 1)}\n`.repeat(n);
/** Use the bucket up, but for `left` bytes (a multiple of 64): short lines, so all of it is charged. */
const drain = (out: OutputLimiter, left = 0) => write(out, lines((OUTPUT_BURST - left) / 64, 64));
const utf8Length = (s: string) => Buffer.byteLength(s);

describe('OutputLimiter', () => {
  it('passes a burst of 16 KiB of whole lines at once, then drops, and reports the drop with the text', () => {
    const { out } = limiter();
    const flood = lines(1000, 100);
    const passed = write(out, flood);
    // 163 whole lines fit in 16384 bytes; the 164th, cut by the bucket, is dropped with the rest.
    expect(passed).toEqual({ text: lines(163, 100), dropped: flood.length - 16300 });
    expect(write(out, lines(1, 100))).toBeNull();
    expect(out.flush('stdout')).toBe(100);
    expect(out.flush('stdout')).toBe(0);
  });

  it('refills at 4 KiB a second, never above the burst', () => {
    const { out, advance } = limiter();
    expect(out.allowance(1 << 20)).toBe(OUTPUT_BURST);
    drain(out);
    expect(out.allowance(1 << 20)).toBe(0);
    advance(1000);
    expect(out.allowance(1 << 20)).toBe(OUTPUT_REFILL_PER_SECOND);
    advance(250);
    expect(out.allowance(1 << 20)).toBe(OUTPUT_REFILL_PER_SECOND + 1024);
    advance(60_000);
    expect(out.allowance(1 << 20)).toBe(OUTPUT_BURST);
    expect(out.allowance(10)).toBe(10);
  });

  it('a clock that steps back refills nothing', () => {
    const { out, advance } = limiter();
    drain(out);
    advance(-5000);
    expect(out.allowance(100)).toBe(0);
  });

  it('a line the bucket cuts is dropped and costs nothing; the next fits', () => {
    const { out, advance } = limiter();
    drain(out, 320);
    expect(write(out, `${'y'.repeat(500)}\n`)).toBeNull();
    expect(write(out, 'short\n')).toEqual({ text: 'short\n', dropped: 501 });
    advance(1000);
    expect(write(out, 'no newline at the end of the write')).toEqual({ text: 'no newline at the end of the write', dropped: 0 });
  });

  it('cuts a line to 1 KiB, keeping its newline, and counts the rest', () => {
    const { out } = limiter();
    const long = 'b'.repeat(3000);
    expect(write(out, `${long}\nnext\n`)).toEqual({ text: `${'b'.repeat(OUTPUT_LINE_MAX)}\nnext\n`, dropped: 3000 - OUTPUT_LINE_MAX });
    expect(write(out, 'c'.repeat(OUTPUT_LINE_MAX))).toEqual({ text: 'c'.repeat(OUTPUT_LINE_MAX), dropped: 0 });
  });

  it('a line longer than 1 KiB that the bucket cuts still passes its first 1 KiB', () => {
    const { out } = limiter();
    drain(out, 2048);
    expect(write(out, 'd'.repeat(50_000))).toEqual({ text: 'd'.repeat(OUTPUT_LINE_MAX), dropped: 50_000 - OUTPUT_LINE_MAX });
  });

  it.each([
    ['é', 2],
    ['€', 3],
    ['🙂', 4],
  ])('never cuts a line inside a multi-byte character (%s)', (char, size) => {
    for (let pad = OUTPUT_LINE_MAX - size + 1; pad < OUTPUT_LINE_MAX; pad++) {
      const { out } = limiter();
      const passed = write(out, `${'a'.repeat(pad)}${char}${'z'.repeat(100)}\n`);
      expect(passed?.text).toBe(`${'a'.repeat(pad)}\n`);
      expect(utf8Length(passed!.text) - 1 + passed!.dropped).toBe(pad + size + 100);
    }
    const { out } = limiter();
    const fits = 'a'.repeat(OUTPUT_LINE_MAX - size) + char;
    expect(write(out, `${fits}zz\n`)).toEqual({ text: `${fits}\n`, dropped: 2 });
  });

  it('escapes control characters but \\n and \\t, and replaces invalid UTF-8', () => {
    const { out } = limiter();
    expect(write(out, 'ok\x1b[2J\rforged line\x00\x07\x7f\u009b\tend\n')?.text).toBe('ok\\x1b[2J\\x0dforged line\\x00\\x07\\x7f\\x9b\tend\n');
    expect(write(out, Uint8Array.from([0x61, 0xff, 0xc3, 0x28, 0x0a]))?.text).toBe('a\ufffd\ufffd(\n');
    // A character the write itself ends inside of is invalid, not kept back.
    expect(write(out, Uint8Array.from([0x61, 0xe2, 0x82]))?.text).toBe('a\ufffd');
  });

  it('stdout and stderr share the bucket; each counts its own drops', () => {
    const { out } = limiter();
    drain(out);
    expect(write(out, 'lost\n', 'stderr')).toBeNull();
    expect(write(out, 'lost too\n', 'stdout')).toBeNull();
    expect([out.flush('stderr'), out.flush('stdout')]).toEqual([5, 9]);
  });

  it('over a long random flood, text bytes plus dropped bytes are exactly the bytes written', () => {
    const { out, advance } = limiter();
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    let written = 0;
    let accounted = 0;
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: rand(8) }, () => lines(1, 1 + rand(2000))).join('') + 'x'.repeat(rand(3));
      written += text.length;
      const passed = write(out, text, i % 3 === 0 ? 'stderr' : 'stdout');
      if (passed !== null) accounted += passed.text.length + passed.dropped;
      advance(rand(200));
    }
    accounted += out.flush('stdout') + out.flush('stderr');
    expect(accounted).toBe(written);
  });
});

describe('fd_write to stdout and stderr', () => {
  /** A guest with three pages (a 64 KiB buffer and 1,000 iovecs fit) and a limiter on a driven clock. */
  function setup() {
    const { out, advance } = limiter();
    const g = new Guest(new WebAssembly.Memory({ initial: 3, maximum: 100, shared: true }), 64, out);
    return { g, advance };
  }

  /** 1,000 iovecs each naming the same 64 KiB of 64-byte lines: 65.5 MB per call. */
  function flood(g: Guest): { iovs: number; count: number; length: number } {
    const buf = g.put(Buffer.from(lines(1024, 64)));
    return { iovs: g.iovs(Array.from({ length: 1000 }, () => [buf, 65536])), count: 1000, length: 1000 * 65536 };
  }

  it('a write of 1,000 iovecs x 64 KiB passes at most the burst and reports the full length written', () => {
    const { g } = setup();
    const { iovs, count, length } = flood(g);
    const out = g.out();
    expect(g.w.fd_write(1, iovs, count, out)).toBe(SUCCESS);
    expect(g.u32(out)).toBe(length);
    expect(g.logs).toEqual([['stdout', lines(OUTPUT_BURST / 64, 64), length - OUTPUT_BURST]]);
  });

  it('a flood over many calls logs bounded text, and text plus dropped adds up to every byte written', () => {
    const { g, advance } = setup();
    const { iovs, count, length } = flood(g);
    const calls = 100;
    const fdWrite = (fd: number) => {
      const out = g.out();
      expect(g.w.fd_write(fd, iovs, count, out)).toBe(SUCCESS);
      expect(g.u32(out)).toBe(length);
    };
    for (let i = 0; i < calls; i++) {
      if (i > 0) advance(100);
      fdWrite(i % 2 === 0 ? 2 : 1);
    }
    // Straight after the last: less than a line's worth has come back, so all of it is dropped ...
    fdWrite(1);
    const logged = g.logs.length;
    // ... and the count waits for the next text or, here, for the end of the job.
    g.shim.flushOutput();
    expect(g.logs.slice(logged)).toEqual([['stdout', '', length]]);
    const text = g.logs.reduce((n, [, t]) => n + t.length, 0);
    const dropped = g.logs.reduce((n, [, , d]) => n + d, 0);
    expect(logged).toBe(calls);
    expect(text).toBeLessThanOrEqual(OUTPUT_BURST + (OUTPUT_REFILL_PER_SECOND * (calls - 1) * 100) / 1000);
    expect(text + dropped).toBe((calls + 1) * length);
  });

  it('flushOutput reports nothing when nothing was dropped', () => {
    const { g } = setup();
    g.write(2, Buffer.from('fine\n'));
    g.shim.flushOutput();
    expect(g.logs).toEqual([['stderr', 'fine\n', 0]]);
  });

  it('escapes ESC and CR, so a plugin cannot forge a log line or clear a terminal', () => {
    const { g } = setup();
    const forged = Buffer.from('ok\x1b[2J\r[daemon] path sda up\n');
    expect(g.write(2, forged, [3])).toEqual({ errno: SUCCESS, nwritten: forged.length });
    expect(g.logs).toEqual([['stderr', 'ok\\x1b[2J\\x0d[daemon] path sda up\n', 0]]);
  });
});
