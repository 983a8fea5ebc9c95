/** Linux `struct sg_header` (sg v2), as laid out in docs/ABI.md. */
export const SG_HEADER_SIZE = 36;
export const SG_SENSE_SIZE = 16;
export const DRIVER_SENSE = 0x08;

export const SgOffset = {
  PACK_LEN: 0,
  REPLY_LEN: 4,
  PACK_ID: 8,
  RESULT: 12,
  FLAGS: 16,
  SENSE: 20,
} as const;

/** CDB lengths by opcode group (opcode >> 5): Linux's COMMAND_SIZE table. */
const GROUP_CDB_LENGTH = [6, 10, 10, 12, 16, 12, 10, 10] as const;

/**
 * CDB length the Linux sg driver (sg_write) takes for `opcode`: COMMAND_SIZE by group, except
 * 12 for vendor opcodes (>= 0xc0) when twelve_byte is set.
 */
export function cdbLength(opcode: number, twelveByte: boolean): number {
  if ((opcode & 0xff) >= 0xc0 && twelveByte) return 12;
  return GROUP_CDB_LENGTH[(opcode >> 5) & 7]!;
}

/** Pack the status word at offset 16: twelve_byte bit 0, target_status 1..5, host 6..13, driver 14..21. */
export function packStatusWord(samStatus: number, hostStatus: number, driverStatus: number): number {
  return ((((samStatus >> 1) & 0x1f) << 1) | ((hostStatus & 0xff) << 6) | ((driverStatus & 0xff) << 14)) >>> 0;
}

export function unpackStatusWord(word: number): { twelveByte: boolean; targetStatus: number; hostStatus: number; driverStatus: number } {
  return {
    twelveByte: (word & 1) === 1,
    targetStatus: (word >>> 1) & 0x1f,
    hostStatus: (word >>> 6) & 0xff,
    driverStatus: (word >>> 14) & 0xff,
  };
}
