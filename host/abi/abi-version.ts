/** The plugin ABI version this host implements (docs/ABI.md). */
export const ABI_VERSION = 2;

/** Encoding of pc_check's return value: state in bits 0..7, message id in bits 8..15. */
export function decodeCheckResult(raw: number): { state: number; msgid: number } {
  return { state: raw & 0xff, msgid: (raw >>> 8) & 0xff };
}
