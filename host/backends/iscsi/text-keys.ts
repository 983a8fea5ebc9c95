import { quote } from '../quote.js';
import { PduError } from './pdu-error.js';

/**
 * Login and Text key=value data (RFC 7143 section 6): UTF-8 pairs, each followed by one null byte.
 * Decoding is strict, as a target's text drives the negotiation: every pair has a key and an `=`, keys
 * are well-formed and unique, lengths and the number of pairs are bounded.
 */

/** RFC 7143 6.1: a standard-label is at most 63 characters (all ASCII, so bytes). */
export const MAX_KEY_BYTES = 63;
/** RFC 7143 6.1: a value is at most 255 bytes unless its key says otherwise. */
export const MAX_VALUE_BYTES = 255;
/** RFC 7143 12.1.3: CHAP challenges and responses are large-binary-values; bounded by the 8192 bytes of key=value data every node must take. */
const LARGE_VALUE_KEYS = new Set(['CHAP_C', 'CHAP_R']);
const MAX_LARGE_VALUE_BYTES = 8192;
/** Far more pairs than any negotiation sends: login sends about twenty. */
export const MAX_PAIRS = 256;

/** A standard-label (capital first, then letters, digits, . - + @ _), or an X# IANA-registered key (RFC 7143 6.1, 13.20). */
const KEY_SYNTAX = /^(?:[A-Z][A-Za-z0-9.\-+@_]*|X#[A-Za-z0-9.\-+@_]+)$/;

/** RFC 7143 6.2: answers in place of a value. */
export const SPECIAL_VALUES = ['NotUnderstood', 'Irrelevant', 'Reject'] as const;
export type SpecialValue = (typeof SPECIAL_VALUES)[number];

const NUL = 0x00;
const EQUALS = 0x3d;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** `key=value\0` for each pair, in order. `what` names the PDU in errors. */
export function encodeTextKeys(pairs: Iterable<readonly [string, string]>, what = 'text'): Uint8Array {
  let text = '';
  const seen = new Set<string>();
  for (const [key, value] of pairs) {
    checkKey(what, key, Buffer.byteLength(key));
    if (value.includes('\0')) throw new PduError(`${what}: value of ${key} contains a null byte`);
    checkValueLength(what, key, Buffer.byteLength(value));
    checkNewKey(what, seen, key);
    seen.add(key);
    text += `${key}=${value}\0`;
  }
  return encoder.encode(text);
}

/** The pairs of one logical text data segment (the C-bit continuations already joined), in order. */
export function decodeTextKeys(data: Uint8Array, what = 'text'): Map<string, string> {
  const pairs = new Map<string, string>();
  if (data.length > 0 && data[data.length - 1] !== NUL) throw new PduError(`${what}: text does not end with a null byte`);
  for (let start = 0; start < data.length; ) {
    const end = data.indexOf(NUL, start);
    if (end === start) throw new PduError(`${what}: empty key=value pair at byte ${start}`);
    const eq = data.subarray(start, end).indexOf(EQUALS);
    if (eq < 0) throw new PduError(`${what}: pair at byte ${start} has no '='`);
    const key = decode(what, data.subarray(start, start + eq), `key at byte ${start}`);
    checkKey(what, key, eq);
    const value = decode(what, data.subarray(start + eq + 1, end), `value of ${key}`);
    checkValueLength(what, key, end - start - eq - 1);
    checkNewKey(what, pairs, key);
    pairs.set(key, value);
    start = end + 1;
  }
  return pairs;
}

export function isSpecialValue(value: string): value is SpecialValue {
  return (SPECIAL_VALUES as readonly string[]).includes(value);
}

/** RFC 7143 6.1: a decimal-constant (no leading zeros) or a hex-constant (0x or 0X); at most 2^53 - 1 here. */
export function numericValue(key: string, value: string): number {
  refuseSpecial(key, value);
  if (!/^(?:0|[1-9][0-9]*|0[xX][0-9a-fA-F]+)$/.test(value)) {
    throw new PduError(`text: ${key}=${shown(value)} is not a number (decimal, or hex with 0x)`);
  }
  const n = BigInt(value);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new PduError(`text: ${key}=${shown(value)} is over ${Number.MAX_SAFE_INTEGER}`);
  return Number(n);
}

/** RFC 7143 6.1: boolean-value is Yes or No. */
export function booleanValue(key: string, value: string): boolean {
  refuseSpecial(key, value);
  if (value !== 'Yes' && value !== 'No') throw new PduError(`text: ${key}=${shown(value)} is not Yes or No`);
  return value === 'Yes';
}

/** RFC 7143 6.1: a list-of-values, comma-separated, none empty. */
export function listValue(key: string, value: string): string[] {
  refuseSpecial(key, value);
  const items = value.split(',');
  if (items.some((item) => item === '')) throw new PduError(`text: ${key}=${shown(value)} has an empty list item`);
  return items;
}

function checkKey(what: string, key: string, bytes: number): void {
  if (bytes === 0) throw new PduError(`${what}: empty key`);
  if (bytes > MAX_KEY_BYTES) throw new PduError(`${what}: key of ${bytes} bytes over the ${MAX_KEY_BYTES} allowed`);
  if (!KEY_SYNTAX.test(key)) throw new PduError(`${what}: key ${shown(key)} is not a key name (a capital letter, then letters, digits, . - + @ _)`);
}

function checkValueLength(what: string, key: string, bytes: number): void {
  const max = LARGE_VALUE_KEYS.has(key) ? MAX_LARGE_VALUE_BYTES : MAX_VALUE_BYTES;
  if (bytes > max) throw new PduError(`${what}: value of ${key} is ${bytes} bytes, over the ${max} allowed`);
}

function checkNewKey(what: string, seen: ReadonlySet<string> | ReadonlyMap<string, string>, key: string): void {
  if (seen.has(key)) throw new PduError(`${what}: key ${key} given twice`);
  if (seen.size === MAX_PAIRS) throw new PduError(`${what}: more than ${MAX_PAIRS} key=value pairs`);
}

function decode(what: string, bytes: Uint8Array, field: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new PduError(`${what}: ${field} is not UTF-8`);
  }
}

function refuseSpecial(key: string, value: string): void {
  if (isSpecialValue(value)) throw new PduError(`text: ${key}=${value}: the other side answered ${value}, not a value`);
}

/** Values in messages: quoted, control characters escaped, long ones cut. */
function shown(text: string): string {
  const MAX_SHOWN = 64;
  return text.length > MAX_SHOWN ? `${quote(text.slice(0, MAX_SHOWN))}...` : quote(text);
}
