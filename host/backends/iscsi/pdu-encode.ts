import {
  BHS_LENGTH,
  DATA_SEGMENT_LENGTH_AT,
  FINAL_BIT,
  IMMEDIATE_BIT,
  ITT_AT,
  LUN_AT,
  MAX_DATA_SEGMENT_LENGTH,
  RESERVED_TAG,
  padded,
} from './bhs.js';
import { isCurrentStage, isNextStage, type LoginStage } from './login-stage.js';
import { PduError } from './pdu-error.js';
import { Opcode, opcodeName } from './pdu-opcode.js';
import { LUN_LENGTH } from './scsi-lun.js';

/**
 * The PDUs an initiator sends, each built into one Uint8Array (BHS + data segment + padding; no AHS,
 * no digests). Offsets are RFC 7143 section 11's. Every field is checked: a value that does not fit,
 * or a combination the RFC forbids, is a PduError naming the PDU and the field.
 */

/** Sequence numbers every initiator request carries (RFC 7143 4.2.2). */
interface Sequenced {
  readonly cmdSN: number;
  readonly expStatSN: number;
}

export interface LoginRequest extends Sequenced {
  /** T: the initiator is ready to move to `nsg`. */
  readonly transit: boolean;
  /** C: the text continues in the next Login Request. */
  readonly continue: boolean;
  readonly csg: LoginStage;
  /** Present exactly when `transit` is. */
  readonly nsg?: LoginStage;
  /** 6 bytes (RFC 7143 11.12.5). */
  readonly isid: Uint8Array;
  readonly tsih: number;
  readonly itt: number;
  readonly cid: number;
  /** key=value text (text-keys.ts). */
  readonly data: Uint8Array;
}

const ISID_LENGTH = 6;
/** RFC 7143 11.12.4: iSCSI version 0x00 is the only one there is; max and min both 0. */
const VERSION = 0x00;
const T_BIT = 0x80;
const C_BIT = 0x40;

/** RFC 7143 11.12. Login Requests are always immediate (the I bit is 1). */
export function encodeLoginRequest(f: LoginRequest): Uint8Array {
  const p = new Pdu(Opcode.LoginRequest, true, f.data);
  if (f.transit && f.continue) p.fail('T and C both set (a continued text cannot end the stage)');
  if (!isCurrentStage(f.csg)) p.fail(`CSG ${f.csg} is not a login stage (0 or 1)`);
  if (f.transit !== (f.nsg !== undefined)) p.fail(f.transit ? 'T set without an NSG' : `NSG ${f.nsg} given without T`);
  if (f.nsg !== undefined && !isNextStage(f.nsg)) p.fail(`NSG ${f.nsg} is not a next stage (1 or 3)`);
  p.u8(1, (f.transit ? T_BIT : 0) | (f.continue ? C_BIT : 0) | (f.csg << 2) | (f.nsg ?? 0));
  p.u8(2, VERSION);
  p.u8(3, VERSION);
  p.bytes(8, 'ISID', f.isid, ISID_LENGTH);
  p.u16(14, 'TSIH', f.tsih);
  p.tag(ITT_AT, 'ITT', f.itt);
  p.u16(20, 'CID', f.cid);
  p.sequenced(f);
  return p.out;
}

export interface ScsiCommand extends Sequenced {
  /** R: data flows from the target (Data-In). */
  readonly read: boolean;
  /** W: data flows to the target (immediate data, Data-Out). */
  readonly write: boolean;
  /** F: no unsolicited Data-Out follows this PDU (default true). */
  readonly final?: boolean;
  /** 8 bytes, from encodeLun. */
  readonly lun: Uint8Array;
  readonly itt: number;
  readonly expectedDataTransferLength: number;
  readonly cdb: Uint8Array;
  /** Write data sent in this PDU's data segment (ImmediateData=Yes). */
  readonly immediateData?: Uint8Array;
}

const CDB_AT = 32;
const CDB_BYTES = 16;
const R_BIT = 0x40;
const W_BIT = 0x20;
/** ATTR (RFC 7143 11.3.1): 1 = Simple, the task attribute of an ordinary queued command. */
const ATTR_SIMPLE = 1;

/** RFC 7143 11.3: a non-immediate SCSI Command with a simple task attribute and the CDB in the BHS. */
export function encodeScsiCommand(f: ScsiCommand): Uint8Array {
  const data = f.immediateData ?? new Uint8Array(0);
  const p = new Pdu(Opcode.ScsiCommand, false, data);
  const final = f.final ?? true;
  if (f.cdb.length === 0) p.fail('empty CDB');
  if (f.cdb.length > CDB_BYTES) p.fail(`CDB of ${f.cdb.length} bytes over the ${CDB_BYTES} the BHS holds (extended CDB AHS not supported)`);
  if (f.read && f.write) p.fail('R and W both set (bidirectional commands need an AHS, not supported)');
  p.u32(20, 'Expected Data Transfer Length', f.expectedDataTransferLength);
  if (!f.read && !f.write && f.expectedDataTransferLength !== 0) {
    p.fail(`Expected Data Transfer Length ${f.expectedDataTransferLength} with neither R nor W set`);
  }
  if (data.length > 0 && !f.write) p.fail(`${data.length} bytes of immediate data without W`);
  if (data.length > f.expectedDataTransferLength) {
    p.fail(`${data.length} bytes of immediate data over the Expected Data Transfer Length ${f.expectedDataTransferLength}`);
  }
  if (!final && !f.write) p.fail('F clear (unsolicited Data-Out follows) without W');
  p.u8(1, (final ? FINAL_BIT : 0) | (f.read ? R_BIT : 0) | (f.write ? W_BIT : 0) | ATTR_SIMPLE);
  p.bytes(LUN_AT, 'LUN', f.lun, LUN_LENGTH);
  p.tag(ITT_AT, 'ITT', f.itt);
  p.sequenced(f);
  p.out.set(f.cdb, CDB_AT);
  return p.out;
}

export interface NopOutPing extends Sequenced {
  readonly itt: number;
  /** I: deliver ahead of queued commands; the CmdSN is then not advanced. */
  readonly immediate: boolean;
  /** Ping data the target echoes back in its NOP-In. */
  readonly data?: Uint8Array;
}

/** RFC 7143 11.18: a ping the target answers with a NOP-In carrying the same ITT (TTT 0xffffffff, LUN 0). */
export function encodeNopOutPing(f: NopOutPing): Uint8Array {
  const p = new Pdu(Opcode.NopOut, f.immediate, f.data ?? new Uint8Array(0));
  p.u8(1, FINAL_BIT);
  p.tag(ITT_AT, 'ITT', f.itt);
  p.u32(20, 'TTT', RESERVED_TAG);
  p.sequenced(f);
  return p.out;
}

export interface NopOutReply extends Sequenced {
  /** The LUN and TTT of the NOP-In being answered, echoed. */
  readonly lun: Uint8Array;
  readonly ttt: number;
  readonly data?: Uint8Array;
}

/**
 * RFC 7143 11.18: the answer to a target's NOP-In that asked for one (TTT not 0xffffffff): ITT
 * 0xffffffff, so the target sends nothing back, which makes it immediate (I = 1) with CmdSN not advanced.
 */
export function encodeNopOutReply(f: NopOutReply): Uint8Array {
  const p = new Pdu(Opcode.NopOut, true, f.data ?? new Uint8Array(0));
  p.u8(1, FINAL_BIT);
  p.bytes(LUN_AT, 'LUN', f.lun, LUN_LENGTH);
  p.u32(ITT_AT, 'ITT', RESERVED_TAG);
  p.tag(20, 'TTT', f.ttt);
  p.sequenced(f);
  return p.out;
}

export interface LogoutRequest extends Sequenced {
  readonly itt: number;
  readonly immediate: boolean;
}

/** Reason code 0 (RFC 7143 11.14.1): close the session; the CID field is then reserved. */
const CLOSE_SESSION = 0;

/** RFC 7143 11.14: close the session (all of its connections). */
export function encodeLogoutRequest(f: LogoutRequest): Uint8Array {
  const p = new Pdu(Opcode.LogoutRequest, f.immediate, new Uint8Array(0));
  p.u8(1, FINAL_BIT | CLOSE_SESSION);
  p.tag(ITT_AT, 'ITT', f.itt);
  p.sequenced(f);
  return p.out;
}

export interface TextRequest extends Sequenced {
  readonly final: boolean;
  readonly continue: boolean;
  readonly itt: number;
  /** The TTT of the Text Response this continues; 0xffffffff (the default) to start a new exchange. */
  readonly ttt?: number;
  readonly immediate: boolean;
  readonly data: Uint8Array;
}

/** RFC 7143 11.10: key=value text outside login (SendTargets, for one). */
export function encodeTextRequest(f: TextRequest): Uint8Array {
  const p = new Pdu(Opcode.TextRequest, f.immediate, f.data);
  if (f.final && f.continue) p.fail('F and C both set (a continued text cannot be final)');
  p.u8(1, (f.final ? FINAL_BIT : 0) | (f.continue ? C_BIT : 0));
  p.tag(ITT_AT, 'ITT', f.itt);
  p.u32(20, 'TTT', f.ttt ?? RESERVED_TAG);
  p.sequenced(f);
  return p.out;
}

export interface DataOut {
  /** F: the last Data-Out of this R2T's (or the unsolicited) burst. */
  readonly final: boolean;
  /** The R2T's LUN, echoed (RFC 7143 11.7.4). */
  readonly lun: Uint8Array;
  readonly itt: number;
  /** The R2T's TTT; 0xffffffff (the default) for unsolicited data. */
  readonly ttt?: number;
  readonly expStatSN: number;
  /** Counts the Data-Outs answering one R2T from 0 (RFC 7143 11.7.5). */
  readonly dataSN: number;
  readonly bufferOffset: number;
  readonly data: Uint8Array;
}

/** RFC 7143 11.7: write data for an R2T (or unsolicited); never immediate, no CmdSN. */
export function encodeDataOut(f: DataOut): Uint8Array {
  const p = new Pdu(Opcode.ScsiDataOut, false, f.data);
  p.u8(1, f.final ? FINAL_BIT : 0);
  p.bytes(LUN_AT, 'LUN', f.lun, LUN_LENGTH);
  p.tag(ITT_AT, 'ITT', f.itt);
  p.u32(20, 'TTT', f.ttt ?? RESERVED_TAG);
  p.u32(28, 'ExpStatSN', f.expStatSN);
  p.u32(36, 'DataSN', f.dataSN);
  p.u32(40, 'Buffer Offset', f.bufferOffset);
  return p.out;
}

/** RFC 7143 11.5.1 functions; TASK REASSIGN (8) needs ErrorRecoveryLevel 2 and is left out. */
export const TaskFunction = {
  AbortTask: 1,
  AbortTaskSet: 2,
  ClearAca: 3,
  ClearTaskSet: 4,
  LogicalUnitReset: 5,
  TargetWarmReset: 6,
  TargetColdReset: 7,
} as const;
export type TaskFunction = (typeof TaskFunction)[keyof typeof TaskFunction];

export interface TaskManagementRequest extends Sequenced {
  readonly function: TaskFunction;
  readonly immediate: boolean;
  readonly lun: Uint8Array;
  readonly itt: number;
  /** ABORT TASK only: the ITT and CmdSN of the task to abort. */
  readonly referencedTaskTag?: number;
  readonly refCmdSN?: number;
}

/** RFC 7143 11.5: ABORT TASK names one task (Referenced Task Tag, RefCmdSN); every other function none. */
export function encodeTaskManagementRequest(f: TaskManagementRequest): Uint8Array {
  const p = new Pdu(Opcode.TaskManagementRequest, f.immediate, new Uint8Array(0));
  if (!Object.values(TaskFunction).includes(f.function)) p.fail(`function ${f.function} is not one of 1-7`);
  if (f.function === TaskFunction.AbortTask) {
    if (f.referencedTaskTag === undefined || f.refCmdSN === undefined) p.fail('ABORT TASK without a Referenced Task Tag and RefCmdSN');
  } else if (f.referencedTaskTag !== undefined || f.refCmdSN !== undefined) {
    p.fail(`function ${f.function} takes no Referenced Task Tag or RefCmdSN`);
  }
  p.u8(1, FINAL_BIT | f.function);
  p.bytes(LUN_AT, 'LUN', f.lun, LUN_LENGTH);
  p.tag(ITT_AT, 'ITT', f.itt);
  if (f.referencedTaskTag === undefined) p.u32(20, 'Referenced Task Tag', RESERVED_TAG);
  else p.tag(20, 'Referenced Task Tag', f.referencedTaskTag);
  p.sequenced(f);
  p.u32(32, 'RefCmdSN', f.refCmdSN ?? 0);
  return p.out;
}

/** One PDU being built: the BHS's byte 0 and DataSegmentLength set, the data copied in after the BHS. */
class Pdu {
  readonly out: Uint8Array;
  readonly #view: DataView;
  readonly #name: string;

  constructor(opcode: number, immediate: boolean, data: Uint8Array) {
    this.#name = opcodeName(opcode);
    if (data.length > MAX_DATA_SEGMENT_LENGTH) this.fail(`data segment of ${data.length} bytes over the ${MAX_DATA_SEGMENT_LENGTH} a PDU holds`);
    this.out = new Uint8Array(BHS_LENGTH + padded(data.length));
    this.#view = new DataView(this.out.buffer);
    this.out[0] = (immediate ? IMMEDIATE_BIT : 0) | opcode;
    this.out[DATA_SEGMENT_LENGTH_AT] = data.length >>> 16;
    this.#view.setUint16(DATA_SEGMENT_LENGTH_AT + 1, data.length & 0xffff);
    this.out.set(data, BHS_LENGTH);
  }

  fail(problem: string): never {
    throw new PduError(`${this.#name}: ${problem}`);
  }

  u8(at: number, value: number): void {
    this.out[at] = value;
  }

  u16(at: number, field: string, value: number): void {
    this.#view.setUint16(at, this.#unsigned(field, value, 0xffff));
  }

  u32(at: number, field: string, value: number): void {
    this.#view.setUint32(at, this.#unsigned(field, value, 0xffff_ffff));
  }

  /** A task tag the initiator chose: 0xffffffff is reserved and means "none". */
  tag(at: number, field: string, value: number): void {
    if (value === RESERVED_TAG) this.fail(`${field} 0xffffffff is the reserved tag`);
    this.u32(at, field, value);
  }

  bytes(at: number, field: string, value: Uint8Array, length: number): void {
    if (value.length !== length) this.fail(`${field} of ${value.length} bytes, must be ${length}`);
    this.out.set(value, at);
  }

  sequenced(f: Sequenced): void {
    this.u32(24, 'CmdSN', f.cmdSN);
    this.u32(28, 'ExpStatSN', f.expStatSN);
  }

  #unsigned(field: string, value: number, max: number): number {
    if (!Number.isInteger(value) || value < 0 || value > max) this.fail(`${field} ${value} is not an integer in 0..${max}`);
    return value;
  }
}
