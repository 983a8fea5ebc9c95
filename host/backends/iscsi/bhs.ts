/**
 * The 48-byte Basic Header Segment every iSCSI PDU starts with (RFC 7143 11.2.1) and the fields every
 * opcode shares. Digests are never present: the session negotiates HeaderDigest=None, DataDigest=None.
 */
export const BHS_LENGTH = 48;

/** Byte 0: bit 6 is the immediate-delivery bit on requests; bit 7 (and bit 6 on responses) reserved. */
export const IMMEDIATE_BIT = 0x40;
export const OPCODE_MASK = 0x3f;
/** Byte 1 bit 7: F (final) on most PDUs, a fixed 1 on those with no F bit. */
export const FINAL_BIT = 0x80;

/** Byte 4 counts the AHS in 4-byte words; bytes 5-7 the data segment's length, without its padding. */
export const TOTAL_AHS_LENGTH_AT = 4;
export const DATA_SEGMENT_LENGTH_AT = 5;
export const MAX_DATA_SEGMENT_LENGTH = 0xff_ffff;
export const LUN_AT = 8;
export const ITT_AT = 16;

/** The reserved tag value: "no task" for an ITT, "no transfer" for a TTT (RFC 7143 11.18, 11.19). */
export const RESERVED_TAG = 0xffff_ffff;

/** Segments are padded to a 4-byte boundary; the padding is not counted in DataSegmentLength. */
export function padded(length: number): number {
  return (length + 3) & ~3;
}

export function totalAhsBytes(bhs: Uint8Array): number {
  return bhs[TOTAL_AHS_LENGTH_AT]! * 4;
}

export function dataSegmentLength(bhs: Uint8Array): number {
  return (bhs[DATA_SEGMENT_LENGTH_AT]! << 16) | (bhs[DATA_SEGMENT_LENGTH_AT + 1]! << 8) | bhs[DATA_SEGMENT_LENGTH_AT + 2]!;
}

export function bhsView(bhs: Uint8Array): DataView {
  return new DataView(bhs.buffer, bhs.byteOffset, BHS_LENGTH);
}
