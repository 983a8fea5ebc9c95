/**
 * Output caps (docs/ABI.md "stdout and stderr"). The burst holds a failing check's whole dump (a few
 * dozen lines) and bounds what one fd_write copies; the refill, about 40 lines of 100 bytes a second,
 * is far above what a checker prints per check yet keeps a flooding class to 4 KiB/s per host thread
 * in the daemon's log; 1 KiB is more than any diagnostic line needs.
 */
export const OUTPUT_BURST = 16 * 1024;
export const OUTPUT_REFILL_PER_SECOND = 4 * 1024;
export const OUTPUT_LINE_MAX = 1024;
/** What one write that passes costs at least: each is a message and a log line, so tiny writes are bounded too (64 a second). */
export const OUTPUT_WRITE_MIN = 64;

export type OutputStream = 'stdout' | 'stderr';

/** Text passed on to the log, and the bytes of its stream dropped since the last report. */
export interface PassedOutput {
  readonly text: string;
  readonly dropped: number;
}

const NEWLINE = 0x0a;
/** C0 controls but \t and \n, DEL and C1: what could move a terminal's cursor or forge a log line. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const escapeControl = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
const decoder = new TextDecoder('utf-8');

/**
 * What of one plugin instance's stdout and stderr reaches the log: a token bucket of bytes shared by
 * both streams (the instance is one class on one host thread), whole lines cut to OUTPUT_LINE_MAX,
 * control characters escaped, invalid UTF-8 replaced. What does not fit is dropped and counted per
 * stream, and the count goes out with that stream's next text (or flush()).
 */
export class OutputLimiter {
  private tokens = OUTPUT_BURST;
  private last: number;
  private readonly dropped: Record<OutputStream, number> = { stdout: 0, stderr: 0 };

  /** `now`: a monotonic clock in milliseconds. */
  constructor(private readonly now: () => number = () => performance.now()) {
    this.last = now();
  }

  /** How many of a `length`-byte write's first bytes may be copied now (at most OUTPUT_BURST). */
  allowance(length: number): number {
    const t = this.now();
    this.tokens = Math.min(OUTPUT_BURST, this.tokens + (Math.max(0, t - this.last) * OUTPUT_REFILL_PER_SECOND) / 1000);
    this.last = t;
    return Math.max(0, Math.min(length, Math.floor(this.tokens)));
  }

  /**
   * Pass on a `length`-byte write of which `prefix` holds the first allowance() bytes (it is
   * overwritten). Passes whole lines, each cut to OUTPUT_LINE_MAX bytes, and a line the prefix cuts
   * only when it is already that long. Takes the passed bytes (at least OUTPUT_WRITE_MIN) from the bucket;
   * the rest are dropped.
   * Returns null when nothing passes: the drop stays counted for the next report.
   */
  pass(stream: OutputStream, prefix: Uint8Array, length: number): PassedOutput | null {
    const whole = prefix.length === length;
    let kept = 0;
    // Compacts what passes to the front of `prefix`: one decode, no copy of the common case.
    const keep = (from: number, to: number) => {
      if (from !== kept) prefix.copyWithin(kept, from, to);
      kept += to - from;
    };
    for (let at = 0; at < prefix.length; ) {
      const newline = prefix.indexOf(NEWLINE, at);
      const end = newline < 0 ? prefix.length : newline;
      if (end - at > OUTPUT_LINE_MAX) {
        keep(at, charStart(prefix, at + OUTPUT_LINE_MAX));
        if (newline >= 0) keep(newline, newline + 1);
      } else if (newline >= 0 || whole) {
        keep(at, newline < 0 ? end : newline + 1);
      }
      at = end + 1;
    }
    this.dropped[stream] += length - kept;
    if (kept === 0) return null;
    this.tokens -= Math.max(kept, OUTPUT_WRITE_MIN);
    const text = decoder.decode(prefix.subarray(0, kept)).replace(CONTROL, escapeControl);
    return { text, dropped: this.flush(stream) };
  }

  /** Whether some dropped bytes are not reported yet (what a host checks before it flushes). */
  get dropping(): boolean {
    return this.dropped.stdout + this.dropped.stderr > 0;
  }

  /** Bytes of `stream` dropped since they were last reported; reporting them resets the count. */
  flush(stream: OutputStream): number {
    const n = this.dropped[stream];
    this.dropped[stream] = 0;
    return n;
  }
}

/** `at`, or the start of the UTF-8 character `at` falls inside of (a cut there keeps it whole). */
function charStart(bytes: Uint8Array, at: number): number {
  for (let i = at; i > at - 4; i--) {
    const b = bytes[i]!;
    if ((b & 0xc0) !== 0x80) return b >= 0xc0 && i + (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) > at ? i : at;
  }
  return at;
}
