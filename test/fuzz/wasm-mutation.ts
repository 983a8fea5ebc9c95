import fc from 'fast-check';

/**
 * Mutations of a valid `.wasm` module for the loader fuzz test: byte flips, insertions, deletions and
 * truncation anywhere, and whole-section edits (drop, duplicate, swap, splice one from another module)
 * that keep the framing intact so the mutant gets past the first bytes of the decoder.
 */

interface Section {
  readonly id: number;
  /** The whole section: id byte, size LEB128, payload. */
  readonly bytes: Uint8Array;
}

/** A module's sections, after the 8-byte header; a malformed tail ends the list. */
function sections(module: Uint8Array): Section[] {
  const out: Section[] = [];
  let pos = 8;
  while (pos < module.length) {
    const start = pos;
    const id = module[pos++]!;
    let size = 0;
    for (let shift = 0; pos < module.length; shift += 7) {
      const b = module[pos++]!;
      size += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
    }
    if (pos + size > module.length) break;
    pos += size;
    out.push({ id, bytes: module.subarray(start, pos) });
  }
  return out;
}

function join(header: Uint8Array, parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(header.length + parts.reduce((n, p) => n + p.length, 0));
  out.set(header);
  let at = header.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'drop-section' | 'dup-section'; readonly at: number }
  | { readonly op: 'swap-sections'; readonly at: number }
  | { readonly op: 'splice-section'; readonly at: number; readonly from: number };

const at = fc.nat();
/** Values that mean something in a module (LEB128 ends and continuations, section ids, opcodes, types) or in a message (line breaks). */
const interesting = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x05, 0x07, 0x08, 0x0a, 0x0b, 0x0d, 0x41, 0x60, 0x7f, 0x80, 0xff));

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at, value: interesting }),
  fc.record({ op: fc.constant('insert' as const), at, bytes: fc.array(interesting, { minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constantFrom('drop-section' as const, 'dup-section' as const, 'swap-sections' as const), at }),
  fc.record({ op: fc.constant('splice-section' as const), at, from: at }),
);

/** `module` after `m`; `donor` gives the sections a splice takes. Positions wrap around the module. */
export function mutate(module: Uint8Array, m: Mutation, donor: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = Uint8Array.from(module);
  const i = b.length === 0 ? 0 : m.at % b.length;
  switch (m.op) {
    case 'flip':
      b[i] = b[i]! ^ (1 << m.bit);
      return b;
    case 'set':
      b[i] = m.value;
      return b;
    case 'insert':
      return join(b.subarray(0, i), [Uint8Array.from(m.bytes), b.subarray(i)]);
    case 'delete':
      return join(b.subarray(0, i), [b.subarray(i + m.count)]);
    case 'truncate':
      return b.slice(0, i);
  }
  const secs = sections(b);
  if (secs.length === 0) return b;
  const k = m.at % secs.length;
  const parts = secs.map((s) => s.bytes);
  const header = b.subarray(0, 8);
  switch (m.op) {
    case 'drop-section':
      parts.splice(k, 1);
      break;
    case 'dup-section':
      parts.splice(k, 0, parts[k]!);
      break;
    case 'swap-sections':
      if (k + 1 < parts.length) [parts[k], parts[k + 1]] = [parts[k + 1]!, parts[k]!];
      break;
    case 'splice-section': {
      const theirs = sections(donor);
      if (theirs.length > 0) parts[k] = theirs[m.from % theirs.length]!.bytes;
      break;
    }
  }
  return join(header, parts);
}
