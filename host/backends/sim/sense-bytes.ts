/** Sense data formats a simulated device can answer in (SPC-4 4.5), in the order the shared state stores them. */
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
