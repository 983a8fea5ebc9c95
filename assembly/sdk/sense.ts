// Sense data decoding without allocation. The decoded value is one i32:
//   key << 16 | asc << 8 | ascq      (>= 0), or SENSE_NONE (-1) when there is no valid sense.
// Fields that the given length does not cover decode as 0.

import { DRIVER_SENSE } from "./scsi";

export const SENSE_NONE: i32 = -1;

/** Response code (byte 0, bit 7 masked) when it is one of 0x70..0x73, else -1. */
export function senseResponseCode(sb: usize, len: i32): i32 {
  if (len < 1) return -1;
  const code = <i32>load<u8>(sb) & 0x7f;
  return code >= 0x70 && code <= 0x73 ? code : -1;
}

/**
 * Decodes `len` valid bytes of sense data at `sb`.
 *   descriptor format (0x72/0x73): key = b[1] & 0x0f, asc = b[2], ascq = b[3]
 *   fixed format (0x70/0x71):      key = b[2] & 0x0f, asc = b[12], ascq = b[13]
 *                                  (asc/ascq need len >= 14; the key alone needs len > 2)
 */
export function senseDecode(sb: usize, len: i32): i32 {
  const code = senseResponseCode(sb, len);
  if (code < 0) return SENSE_NONE;
  let key = 0;
  let asc = 0;
  let ascq = 0;
  if (code >= 0x72) {
    if (len > 1) key = <i32>load<u8>(sb, 1) & 0x0f;
    if (len > 2) asc = <i32>load<u8>(sb, 2);
    if (len > 3) ascq = <i32>load<u8>(sb, 3);
  } else {
    if (len > 2) key = <i32>load<u8>(sb, 2) & 0x0f;
    if (len >= 14) {
      asc = <i32>load<u8>(sb, 12);
      ascq = <i32>load<u8>(sb, 13);
    }
  }
  return (key << 16) | (asc << 8) | ascq;
}

/**
 * Decodes the sense buffer of an sg reply: present when driver_status has DRIVER_SENSE or the
 * buffer starts with a valid response code.
 */
export function senseFromReply(sb: usize, len: i32, driverStatus: i32): i32 {
  if ((driverStatus & DRIVER_SENSE) == 0 && senseResponseCode(sb, len) < 0) return SENSE_NONE;
  return senseDecode(sb, len);
}

// @ts-ignore: decorator
@inline
export function senseValid(s: i32): bool {
  return s >= 0;
}

/** Sense key, or 0 (NO SENSE) for SENSE_NONE. */
// @ts-ignore: decorator
@inline
export function senseKey(s: i32): i32 {
  return s < 0 ? 0 : (s >> 16) & 0x0f;
}

// @ts-ignore: decorator
@inline
export function senseAsc(s: i32): i32 {
  return s < 0 ? 0 : (s >> 8) & 0xff;
}

// @ts-ignore: decorator
@inline
export function senseAscq(s: i32): i32 {
  return s < 0 ? 0 : s & 0xff;
}

/** asc << 8 | ascq, comparable with the ASC_* pairs in scsi.ts. */
// @ts-ignore: decorator
@inline
export function senseAscAscq(s: i32): i32 {
  return s < 0 ? 0 : s & 0xffff;
}
