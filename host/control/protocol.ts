/**
 * The control socket's wire protocol: newline-delimited JSON, one message per line.
 *
 *   request   {"id": <safe integer|string, optional>, "command": "show paths", ...named args}
 *   response  {"id": <same, or null>, "ok": true, "result": <any>}
 *             {"id": <same, or null>, "ok": false, "error": "<one line>"}
 *   event     {"event": <object>}            (only to clients that sent `watch`)
 *   dropped   {"id": null, "ok": false, "dropped": "<kind>", "error": "<why>"}
 *             (the last line before the server closes a connection: an error to a person at socat)
 *
 * Nothing here knows any command; the daemon's handler does.
 */

import { escapeControls } from '../daemon/logger.js';

/** A request id as the client sent it (a string or a safe integer); `null` when it sent none or a bad one. */
export type RequestId = number | string | null;

export interface ControlRequest {
  readonly id: RequestId;
  /** The command's verb words, trimmed, single-spaced: `show paths`. */
  readonly command: string;
  /** Every other member of the request object. */
  readonly args: Readonly<Record<string, unknown>>;
}

export type ParsedLine =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly id: RequestId; readonly error: string };

/** The default (and conventional) longest request line, in bytes, newline excluded. */
export const DEFAULT_MAX_LINE = 64 * 1024;

/** The message of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** For listeners that must exist (a socket's late 'error' after destroy) but have nothing to do. */
export function ignore(): void {}

/** A refusal a control client caused: answered as `{ok:false, error: message}`, the server carries on. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

export const overlongLineError = (maxLine: number): string => `request line longer than ${maxLine} bytes`;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_DETAIL = 200;

/**
 * Make any text safe as a one-line error: control characters (newlines included) become `\uXXXX`
 * escapes and the text is capped, so binary garbage echoed by a parser can never break a line.
 */
export function oneLine(text: string, max = MAX_DETAIL): string {
  const clean = escapeControls(text);
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

/**
 * JSON.parse rounds a number id the double cannot hold (2^64 becomes 18446744073709552000, 1e400
 * Infinity, which encodes as null): echoed, it would match no request, so only ids echoed exactly pass.
 */
const ID_RULE = "request 'id' must be a string or a safe integer";

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parse and validate one request line (without its newline). Blank lines are not requests:
 * they return `null` and get no answer, so a person typing at `socat` may press return freely.
 */
export function parseRequestLine(line: Uint8Array | string): ParsedLine | null {
  let text: string;
  if (typeof line === 'string') {
    text = line;
  } else {
    try {
      text = utf8.decode(line);
    } catch {
      return { ok: false, id: null, error: 'malformed JSON: invalid UTF-8' };
    }
  }
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, id: null, error: `malformed JSON: ${oneLine(errorText(err))}` };
  }
  if (!isPlainObject(value)) return { ok: false, id: null, error: 'request must be a JSON object' };
  const { id: rawId, command: rawCommand, ...args } = value;
  let id: RequestId = null;
  if (typeof rawId === 'string' || Number.isSafeInteger(rawId)) id = rawId as string | number;
  else if (typeof rawId === 'number') return { ok: false, id: null, error: `${ID_RULE} (at most 2^53-1 in magnitude); got a number read as ${rawId}` };
  else if (rawId !== undefined && rawId !== null) return { ok: false, id: null, error: ID_RULE };
  const command = typeof rawCommand === 'string' ? rawCommand.trim().split(/\s+/).join(' ') : '';
  if (command === '') return { ok: false, id, error: "request has no 'command' string" };
  return { ok: true, request: { id, command, args } };
}

/**
 * Splits a byte stream into lines of at most `maxLine` bytes (newline excluded). A longer line is
 * reported once, as soon as it passes the limit, and the rest of it is discarded up to the next
 * newline without being buffered: the reader never holds more than `maxLine` bytes.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    readonly maxLine: number,
    private readonly onLine: (line: Buffer) => void,
    private readonly onOverlong: () => void,
  ) {
    if (!Number.isInteger(maxLine) || maxLine < 1) throw new RangeError(`maxLine must be a positive integer, not ${maxLine}`);
  }

  /** Bytes held for the line in progress. */
  get buffered(): number {
    return this.size;
  }

  feed(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.hold(chunk, start);
        return;
      }
      if (this.discarding) {
        this.discarding = false; // the over-long line ends here; it was reported already
      } else if (this.size + (nl - start) > this.maxLine) {
        this.reset();
        this.onOverlong();
      } else {
        const tail = chunk.subarray(start, nl);
        const line = this.size === 0 ? tail : Buffer.concat([...this.parts, tail], this.size + tail.length);
        this.reset();
        this.onLine(line);
      }
      start = nl + 1;
    }
  }

  /** End of stream: a last line without a newline is still a line. */
  end(): void {
    if (!this.discarding && this.size > 0) {
      const line = Buffer.concat(this.parts, this.size);
      this.reset();
      this.onLine(line);
    }
    this.reset();
  }

  /** Forget the line in progress (and any discarding state). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }

  private hold(chunk: Buffer, start: number): void {
    if (this.discarding) return;
    const len = chunk.length - start;
    if (this.size + len > this.maxLine) {
      this.reset();
      this.discarding = true;
      this.onOverlong();
      return;
    }
    // Copy: holding a slice would keep the whole (up to 64 KiB) chunk alive for a few bytes.
    this.parts.push(Buffer.from(chunk.subarray(start)));
    this.size += len;
  }
}

/** `{"id":…,"ok":true,"result":…}\n`. Throws if `result` cannot be serialized (BigInt, cycles). */
export function encodeResult(id: RequestId, result: unknown): string {
  return `${JSON.stringify({ id, ok: true, result: result === undefined ? null : result })}\n`;
}

/** `{"id":…,"ok":false,"error":"…"}\n`, the error made one line. */
export function encodeError(id: RequestId, error: string): string {
  return `${JSON.stringify({ id, ok: false, error: oneLine(error, 1000) })}\n`;
}

/** `{"event":…}\n`. Throws if `event` cannot be serialized. */
export function encodeEvent(event: unknown): string {
  return `${JSON.stringify({ event })}\n`;
}

/**
 * The server's last line to a client it closes: why, in one line. An error with a null id, so a
 * person at `socat` reads it as one; `dropped` (the kind: queue-full, idle, refused, ...) tells a
 * client it answers no request and that the connection is ending.
 */
export function encodeDropped(kind: string, why: string): string {
  return `${JSON.stringify({ id: null, ok: false, dropped: kind, error: oneLine(why, 1000) })}\n`;
}

/** A request line as a client sends it. `args` may not carry `id` or `command`. */
export function encodeRequest(id: RequestId, command: string, args: Readonly<Record<string, unknown>> = {}): string {
  if ('id' in args || 'command' in args) throw new TypeError("request args may not be named 'id' or 'command'");
  return `${JSON.stringify({ id, command, ...args })}\n`;
}

/** What a client reads from the server. */
export type ServerMessage =
  | { readonly kind: 'result'; readonly id: RequestId; readonly result: unknown }
  | { readonly kind: 'error'; readonly id: RequestId; readonly error: string }
  | { readonly kind: 'event'; readonly event: unknown }
  | { readonly kind: 'dropped'; readonly dropped: string; readonly error: string };

/** Parse one line from the server; `null` for a line that is none of its messages. */
export function parseServerLine(line: Uint8Array | string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(typeof line === 'string' ? line : utf8.decode(line));
  } catch {
    return null;
  }
  if (!isPlainObject(value)) return null;
  if ('event' in value && !('ok' in value)) return { kind: 'event', event: value.event };
  const id = typeof value.id === 'number' || typeof value.id === 'string' ? value.id : null;
  if (value.ok === true) return { kind: 'result', id, result: value.result };
  if (value.ok === false && typeof value.dropped === 'string') return { kind: 'dropped', dropped: value.dropped, error: typeof value.error === 'string' ? value.error : 'dropped' };
  if (value.ok === false) return { kind: 'error', id, error: typeof value.error === 'string' ? value.error : 'error' };
  return null;
}
