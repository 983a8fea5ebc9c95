import { BHS_LENGTH, FINAL_BIT, ITT_AT, LUN_AT, OPCODE_MASK, RESERVED_TAG, bhsView, dataSegmentLength, totalAhsBytes } from './bhs.js';
import { isCurrentStage, isNextStage } from './login-stage.js';
import { PduError, hex } from './pdu-error.js';
import { Opcode, opcodeName, targetOpcode, type TargetOpcode } from './pdu-opcode.js';
import { LUN_LENGTH } from './scsi-lun.js';
import type { SenseSegment, TargetPdu } from './target-pdu.js';

/**
 * Typed decoders for the PDUs a target sends (RFC 7143 section 11). Fields RFC 7143 reserves are
 * ignored, except where a wrong value would make the rest misread: the opcode byte, byte 1's fixed 1,
 * segments a PDU never carries, flag combinations the RFC calls a protocol error, and lengths that do
 * not fit the segment. Those are a PduError naming the PDU and the field.
 */

/** RFC 7143 11: these show byte 1 bit 7 as a fixed 1 (no F bit of their own). */
const FIXED_BIT_7 = new Set<number>([
  Opcode.NopIn,
  Opcode.ScsiResponse,
  Opcode.TaskManagementResponse,
  Opcode.LogoutResponse,
  Opcode.ReadyToTransfer,
  Opcode.AsyncMessage,
  Opcode.Reject,
]);
/** RFC 7143 11.6, 11.8, 11.15: TotalAHSLength and DataSegmentLength are (0). */
const NO_SEGMENTS = new Set<number>([Opcode.TaskManagementResponse, Opcode.ReadyToTransfer, Opcode.LogoutResponse]);

/** The checks a BHS passes before the rest of its PDU is read: what it is, and that its segments may be there. */
export function checkTargetBhs(bhs: Uint8Array): TargetOpcode {
  const opcode = targetOpcode(bhs[0]! & OPCODE_MASK);
  const fail = failFor(opcode);
  if ((bhs[0]! & ~OPCODE_MASK) !== 0) fail(`reserved bits of byte 0 set (0x${hex(bhs[0]!, 2)})`);
  if (FIXED_BIT_7.has(opcode) && (bhs[1]! & FINAL_BIT) === 0) fail(`byte 1 bit 7 is 0, must be 1 (0x${hex(bhs[1]!, 2)})`);
  if (NO_SEGMENTS.has(opcode)) {
    if (totalAhsBytes(bhs) !== 0) fail(`TotalAHSLength ${totalAhsBytes(bhs) / 4}, must be 0`);
    if (dataSegmentLength(bhs) !== 0) fail(`DataSegmentLength ${dataSegmentLength(bhs)}, must be 0`);
  }
  return opcode;
}

/** One target PDU from its 48-byte BHS and its data segment (DataSegmentLength bytes, no padding). */
export function decodeTargetPdu(bhs: Uint8Array, data: Uint8Array): TargetPdu {
  if (bhs.length !== BHS_LENGTH) throw new PduError(`BHS of ${bhs.length} bytes, must be ${BHS_LENGTH}`);
  const opcode = checkTargetBhs(bhs);
  const fail = failFor(opcode);
  if (data.length !== dataSegmentLength(bhs)) fail(`data segment of ${data.length} bytes, DataSegmentLength says ${dataSegmentLength(bhs)}`);
  const v = bhsView(bhs);
  const u32 = (at: number) => v.getUint32(at);
  const flags = bhs[1]!;
  const base = { flags, data };
  const numbered = { statSN: u32(24), expCmdSN: u32(28), maxCmdSN: u32(32) };
  const lun = () => copy(bhs, LUN_AT, LUN_AT + LUN_LENGTH);
  const itt = u32(ITT_AT);
  switch (opcode) {
    case Opcode.LoginResponse: {
      const transit = (flags & T_BIT) !== 0;
      const csg = (flags >>> 2) & 3;
      const nsg = flags & 3;
      if (transit && (flags & C_BIT) !== 0) fail(`T and C both set (0x${hex(flags, 2)})`);
      if (!isCurrentStage(csg)) fail(`CSG ${csg} is not a login stage (0 or 1)`);
      if (transit && !isNextStage(nsg)) fail(`NSG ${nsg} is not a next stage (1 or 3)`);
      return {
        opcode,
        ...base,
        ...numbered,
        transit,
        continue: (flags & C_BIT) !== 0,
        csg,
        nsg: transit ? nsg : 0,
        versionMax: bhs[2]!,
        versionActive: bhs[3]!,
        isid: copy(bhs, 8, 14),
        tsih: v.getUint16(14),
        itt,
        statusClass: bhs[36]!,
        statusDetail: bhs[37]!,
      };
    }
    case Opcode.ScsiResponse: {
      // RFC 7143 11.4.1: o/u and O/U are each mutually exclusive; both set is a protocol error.
      if ((flags & (BIDI_OVERFLOW | BIDI_UNDERFLOW)) === (BIDI_OVERFLOW | BIDI_UNDERFLOW)) fail(`flags o and u both set (0x${hex(flags, 2)})`);
      if ((flags & (OVERFLOW | UNDERFLOW)) === (OVERFLOW | UNDERFLOW)) fail(`flags O and U both set (0x${hex(flags, 2)})`);
      return {
        opcode,
        ...base,
        ...numbered,
        ...senseSegment(fail, data, 'response data'),
        bidiOverflow: (flags & BIDI_OVERFLOW) !== 0,
        bidiUnderflow: (flags & BIDI_UNDERFLOW) !== 0,
        overflow: (flags & OVERFLOW) !== 0,
        underflow: (flags & UNDERFLOW) !== 0,
        response: bhs[2]!,
        status: bhs[3]!,
        itt,
        snackTag: u32(20),
        expDataSN: u32(36),
        bidiResidualCount: u32(40),
        residualCount: u32(44),
      };
    }
    case Opcode.ScsiDataIn: {
      const final = (flags & FINAL_BIT) !== 0;
      const statusPresent = (flags & STATUS_BIT) !== 0;
      // RFC 7143 11.7.3, 11.7.1: S requires F; O and U mean something only with S.
      if (statusPresent && !final) fail(`S set without F (0x${hex(flags, 2)})`);
      if (statusPresent && (flags & (OVERFLOW | UNDERFLOW)) === (OVERFLOW | UNDERFLOW)) fail(`flags O and U both set (0x${hex(flags, 2)})`);
      return {
        opcode,
        ...base,
        final,
        acknowledge: (flags & ACK_BIT) !== 0,
        overflow: statusPresent && (flags & OVERFLOW) !== 0,
        underflow: statusPresent && (flags & UNDERFLOW) !== 0,
        statusPresent,
        status: statusPresent ? bhs[3]! : undefined,
        statSN: statusPresent ? u32(24) : undefined,
        residualCount: statusPresent ? u32(44) : undefined,
        lun: lun(),
        itt,
        ttt: u32(20),
        expCmdSN: u32(28),
        maxCmdSN: u32(32),
        dataSN: u32(36),
        bufferOffset: u32(40),
      };
    }
    case Opcode.NopIn: {
      const ttt = u32(20);
      // RFC 7143 11.19: a NOP-In answers a ping (ITT set, TTT 0xffffffff) or is one (the reverse), never both.
      if (itt !== RESERVED_TAG && ttt !== RESERVED_TAG) fail(`ITT 0x${hex(itt, 8)} and TTT 0x${hex(ttt, 8)} both set`);
      return { opcode, ...base, ...numbered, lun: lun(), itt, ttt };
    }
    case Opcode.ReadyToTransfer: {
      const ttt = u32(20);
      const desiredDataTransferLength = u32(44);
      // RFC 7143 11.8: the TTT is never the reserved value; the length is never 0.
      if (ttt === RESERVED_TAG) fail('TTT 0xffffffff is the reserved tag');
      if (desiredDataTransferLength === 0) fail('Desired Data Transfer Length 0');
      return { opcode, ...base, ...numbered, lun: lun(), itt, ttt, r2tSN: u32(36), bufferOffset: u32(40), desiredDataTransferLength };
    }
    case Opcode.AsyncMessage:
      return {
        opcode,
        ...base,
        ...numbered,
        ...senseSegment(fail, data, 'event data'),
        lun: lun(),
        asyncEvent: bhs[36]!,
        asyncVCode: bhs[37]!,
        parameter1: v.getUint16(38),
        parameter2: v.getUint16(40),
        parameter3: v.getUint16(42),
      };
    case Opcode.Reject:
      // RFC 7143 11.17: the data segment starts with the complete header of the rejected PDU.
      if (data.length < BHS_LENGTH) fail(`data segment of ${data.length} bytes, shorter than the ${BHS_LENGTH}-byte rejected BHS`);
      return { opcode, ...base, ...numbered, reason: bhs[2]!, dataSN: u32(36), rejected: copy(data, 0, BHS_LENGTH) };
    case Opcode.LogoutResponse:
      return { opcode, ...base, ...numbered, response: bhs[2]!, itt, time2Wait: v.getUint16(40), time2Retain: v.getUint16(42) };
    case Opcode.TextResponse: {
      const final = (flags & FINAL_BIT) !== 0;
      const ttt = u32(20);
      // RFC 7143 11.11: C requires F clear; a final response carries TTT 0xffffffff.
      if (final && (flags & C_BIT) !== 0) fail(`F and C both set (0x${hex(flags, 2)})`);
      if (final && ttt !== RESERVED_TAG) fail(`F set with TTT 0x${hex(ttt, 8)}, must be 0xffffffff`);
      return { opcode, ...base, ...numbered, final, continue: (flags & C_BIT) !== 0, lun: lun(), itt, ttt };
    }
    case Opcode.TaskManagementResponse:
      return { opcode, ...base, ...numbered, response: bhs[2]!, itt };
  }
}

const T_BIT = 0x80;
const C_BIT = 0x40;
const ACK_BIT = 0x40;
const BIDI_OVERFLOW = 0x10;
const BIDI_UNDERFLOW = 0x08;
const OVERFLOW = 0x04;
const UNDERFLOW = 0x02;
const STATUS_BIT = 0x01;
const SENSE_LENGTH_BYTES = 2;

/** RFC 7143 11.4.7.2, 11.9.4: a non-empty segment is SenseLength (2 bytes), that much sense, then `restName`. */
function senseSegment(fail: (problem: string) => never, data: Uint8Array, restName: string): SenseSegment {
  if (data.length === 0) return { sense: data, rest: data };
  if (data.length < SENSE_LENGTH_BYTES) fail(`data segment of ${data.length} byte has no room for SenseLength`);
  const senseLength = (data[0]! << 8) | data[1]!;
  const after = data.length - SENSE_LENGTH_BYTES;
  if (senseLength > after) fail(`SenseLength ${senseLength} over the ${after} bytes of sense and ${restName} after it`);
  return { sense: data.subarray(SENSE_LENGTH_BYTES, SENSE_LENGTH_BYTES + senseLength), rest: data.subarray(SENSE_LENGTH_BYTES + senseLength) };
}

/** A copy, a plain Uint8Array even from a Buffer (whose slice would share the caller's bytes). */
function copy(b: Uint8Array, from: number, to: number): Uint8Array {
  return Uint8Array.from(b.subarray(from, to));
}

function failFor(opcode: number): (problem: string) => never {
  return (problem) => {
    throw new PduError(`${opcodeName(opcode)}: ${problem}`);
  };
}
