import { bytes } from './hex-bytes.js';

/**
 * Golden target PDUs, hand-written at RFC 7143 section 11's offsets (one BHS row of 4 words per line, as
 * the RFC's figures draw them), for the decoder and reader tests.
 */
export const GOLDEN = {
  /** 11.13: T, CSG 1 -> NSG 3, TSIH 0x0100, ExpCmdSN 10, MaxCmdSN 11, Status 0/0, HeaderDigest=None. */
  loginResponse: bytes(`
    23 87 00 00 | 00 00 00 12 | 80 00 12 34 | 00 01 01 00
    00 00 00 01 | 00 00 00 00 | 00 00 00 00 | 00 00 00 0a
    00 00 00 0b | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    48 65 61 64 65 72 44 69 67 65 73 74 3d 4e 6f 6e 65 00 | 00 00`),
  /** 11.13.5: Status-Class 2 (initiator error), Detail 1 (authentication failure), no T, no text. */
  loginRejected: bytes(`
    23 00 00 00 | 00 00 00 00 | 80 00 12 34 | 00 01 00 00
    00 00 00 01 | 00 00 00 00 | 00 00 00 00 | 00 00 00 0a
    00 00 00 0b | 02 01 00 00 | 00 00 00 00 | 00 00 00 00`),
  /** 11.4: U, CHECK CONDITION, residual 64, SenseLength 18 + fixed sense ILLEGAL REQUEST 24/00. */
  scsiResponseSense: bytes(`
    21 82 00 02 | 00 00 00 14 | 00 00 00 00 | 00 00 00 00
    00 00 00 05 | 00 00 00 00 | 00 00 00 03 | 00 00 00 0b
    00 00 00 4a | 00 00 00 00 | 00 00 00 00 | 00 00 00 40
    00 12 70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00`),
  /** 11.4.7: SenseLength 2, sense aa bb, then response data cc dd; o and O with counts. */
  scsiResponseData: bytes(`
    21 94 00 00 | 00 00 00 06 | 00 00 00 00 | 00 00 00 00
    00 00 00 05 | 00 00 00 07 | 00 00 00 03 | 00 00 00 0b
    00 00 00 4a | 00 00 00 02 | 00 00 00 10 | 00 00 00 20
    00 02 aa bb cc dd | 00 00`),
  /** 11.7: F and S, GOOD, LUN 1, TTT 0xffffffff, StatSN 4, DataSN 0, 4 bytes. */
  dataInStatus: bytes(`
    25 81 00 00 | 00 00 00 04 | 00 01 00 00 | 00 00 00 00
    00 00 00 06 | ff ff ff ff | 00 00 00 04 | 00 00 00 0c
    00 00 00 4b | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    de ad be ef`),
  /** 11.7: no S: status byte, StatSN, O/U and residual are not meaningful (set to noise here). A set, DataSN 1, offset 512. */
  dataInNoStatus: bytes(`
    25 46 00 ee | 00 00 00 02 | 00 01 00 00 | 00 00 00 00
    00 00 00 06 | ff ff ff ff | 11 11 11 11 | 00 00 00 0c
    00 00 00 4b | 00 00 00 01 | 00 00 02 00 | 22 22 22 22
    01 02 | 00 00`),
  /** 11.19: a target's ping, ITT 0xffffffff, TTT 0xabc, LUN 1. */
  nopIn: bytes(`
    20 80 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
    ff ff ff ff | 00 00 0a bc | 00 00 00 05 | 00 00 00 0d
    00 00 00 4c | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
  /** 11.8: R2TSN 0, Buffer Offset 512, Desired Data Transfer Length 4096. */
  r2t: bytes(`
    31 80 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
    00 00 00 07 | 00 00 00 01 | 00 00 00 06 | 00 00 00 0d
    00 00 00 4c | 00 00 00 00 | 00 00 02 00 | 00 00 10 00`),
  /** 11.9: event 2 (connection drop): Parameter1 CID 1, Parameter2 Time2Wait 2, Parameter3 Time2Retain 20. */
  asyncDrop: bytes(`
    32 80 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    ff ff ff ff | 00 00 00 00 | 00 00 00 07 | 00 00 00 0e
    00 00 00 4d | 02 00 00 01 | 00 02 00 14 | 00 00 00 00`),
  /** 11.9.4: event 0 (SCSI event), LUN 1, SenseLength 8 + descriptor sense UNIT ATTENTION 3f/0e. */
  asyncScsiEvent: bytes(`
    32 80 00 00 | 00 00 00 0a | 00 01 00 00 | 00 00 00 00
    ff ff ff ff | 00 00 00 00 | 00 00 00 07 | 00 00 00 0e
    00 00 00 4d | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    00 08 72 06 3f 0e 00 00 00 00 | 00 00`),
  /** 11.17: reason 0x09 (invalid PDU field), the rejected BHS (a SCSI Command) as data. */
  reject: bytes(`
    3f 80 09 00 | 00 00 00 30 | 00 00 00 00 | 00 00 00 00
    ff ff ff ff | 00 00 00 00 | 00 00 00 08 | 00 00 00 0f
    00 00 00 4e | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    01 81 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
    12 34 56 78 | 00 00 00 00 | 0d 97 44 1e | 00 00 00 02
    00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
  /** 11.15: response 0 (closed), Time2Wait 2, Time2Retain 20. */
  logoutResponse: bytes(`
    26 80 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    00 00 00 09 | 00 00 00 00 | 00 00 00 09 | 00 00 00 10
    00 00 00 4f | 00 00 00 00 | 00 02 00 14 | 00 00 00 00`),
  /** 11.11: C (text continues), TTT 5 to continue with, A=1. */
  textResponse: bytes(`
    24 40 00 00 | 00 00 00 04 | 00 00 00 00 | 00 00 00 00
    00 00 00 0a | 00 00 00 05 | 00 00 00 0a | 00 00 00 11
    00 00 00 50 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    41 3d 31 00`),
  /** 11.6: response 0 (function complete). */
  taskManagementResponse: bytes(`
    22 80 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    00 00 00 0b | 00 00 00 00 | 00 00 00 0b | 00 00 00 12
    00 00 00 51 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
} as const;

/** A PDU's BHS and its data segment (DataSegmentLength bytes, padding dropped). */
export function split(pdu: Uint8Array): [Uint8Array, Uint8Array] {
  const dsl = (pdu[5]! << 16) | (pdu[6]! << 8) | pdu[7]!;
  return [pdu.subarray(0, 48), pdu.subarray(48, 48 + dsl)];
}
