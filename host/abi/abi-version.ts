/** The plugin ABI version this host implements (docs/ABI.md). */
export const ABI_VERSION = 2;

/** Encoding of pc_check's return value: state in bits 0..7, message id in bits 8..15, bits 16..30 zero. */
export function decodeCheckResult(raw: number): { state: number; msgid: number } {
  return { state: raw & 0xff, msgid: (raw >>> 8) & 0xff };
}

/** Bits of a check result that must be zero: a message id or state wider than a byte is refused, not cut. */
export const RESULT_RESERVED_BITS = 0x7fff0000;
