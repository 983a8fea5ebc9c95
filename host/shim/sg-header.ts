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

/** CDB length from the opcode's group code (SPC), as the sg driver computes it. */
export function cdbLength(opcode: number, twelveByte: boolean): number {
  switch (opcode >> 5) {
    case 1:
    case 2:
      return 10;
    case 4:
      return 16;
    case 5:
      return 12;
    case 0:
      return 6;
    default:
      return twelveByte ? 12 : 6;
  }
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
