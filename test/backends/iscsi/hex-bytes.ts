/** Bytes from hex text; spaces, newlines and `|` (column marks in golden PDUs) are ignored. */
export function bytes(text: string): Uint8Array {
  const digits = text.replace(/[\s|]/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`not hex bytes: ${text}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** A copy of `b` (a plain Uint8Array, even from a Buffer) with the bytes at the given offsets replaced. */
export function patched(b: Uint8Array, at: Record<number, number>): Uint8Array {
  const copy = Uint8Array.from(b);
  for (const [offset, value] of Object.entries(at)) copy[Number(offset)] = value;
  return copy;
}

/** The parts one after another, as a plain Uint8Array (Buffer.concat's Buffer would alias on slice). */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
