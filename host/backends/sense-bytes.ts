// Sense data (SPC-4 4.5): written by the sim, read by transports that act on what the target said.

/** Sense data formats a simulated device can answer in, in the order the shared state stores them. */
export const SENSE_FORMATS = ['fixed', 'descriptor'] as const;
export type SenseFormat = (typeof SENSE_FORMATS)[number];

/** The three values a checker decodes from sense data. */
export interface SenseData {
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
}

const FIXED_CURRENT = 0x70;
const FIXED_LENGTH = 18;
/** Additional sense length: the bytes after byte 7 of an 18-byte fixed sense. */
const FIXED_ADDITIONAL = FIXED_LENGTH - 8;
const DESCRIPTOR_CURRENT = 0x72;
const DESCRIPTOR_LENGTH = 8;

/** Current-error sense bytes: fixed (18 bytes, 0x70) or descriptor (8-byte header, 0x72, no descriptors). */
export function senseBytes(format: SenseFormat, sense: SenseData): Uint8Array {
  if (format === 'fixed') {
    const b = new Uint8Array(FIXED_LENGTH);
    b[0] = FIXED_CURRENT;
    b[2] = sense.key & 0x0f;
    b[7] = FIXED_ADDITIONAL;
    b[12] = sense.asc;
    b[13] = sense.ascq;
    return b;
  }
  const b = new Uint8Array(DESCRIPTOR_LENGTH);
  b[0] = DESCRIPTOR_CURRENT;
  b[1] = sense.key & 0x0f;
  b[2] = sense.asc;
  b[3] = sense.ascq;
  return b;
}

/** Key, ASC and ASCQ of sense bytes in either format (current or deferred); null when too short or no sense. */
export function senseData(b: Uint8Array): SenseData | null {
  const code = (b[0] ?? 0) & 0x7f;
  if ((code === 0x70 || code === 0x71) && b.length >= 14) return { key: b[2]! & 0x0f, asc: b[12]!, ascq: b[13]! };
  if ((code === 0x72 || code === 0x73) && b.length >= 4) return { key: b[1]! & 0x0f, asc: b[2]!, ascq: b[3]! };
  return null;
}
