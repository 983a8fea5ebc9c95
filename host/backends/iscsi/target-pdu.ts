import type { Opcode } from './pdu-opcode.js';

/**
 * A PDU from the target, decoded (pdu-decode.ts): the opcode tells the kind, the fields are RFC 7143
 * section 11's, named as it names them. `flags` is byte 1 as sent; `data` the data segment without its
 * padding. LUNs stay the 8 bytes the target sent (scsi-lun.ts decodes them; a NOP-Out echoes them).
 */
interface Pdu<Op extends number> {
  readonly opcode: Op;
  readonly flags: number;
  readonly data: Uint8Array;
}

/** The sequence numbers target PDUs carry (RFC 7143 4.2.2). */
interface Numbered {
  readonly statSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

/** SCSI Response / Asynchronous Message data segment: SenseLength, sense, then the rest (RFC 7143 11.4.7). */
export interface SenseSegment {
  readonly sense: Uint8Array;
  /** Response data (SCSI Response) or iSCSI event data (Asynchronous Message). */
  readonly rest: Uint8Array;
}

export interface LoginResponse extends Pdu<typeof Opcode.LoginResponse>, Numbered {
  readonly transit: boolean;
  readonly continue: boolean;
  readonly csg: number;
  /** Valid only with `transit` (0 otherwise). */
  readonly nsg: number;
  readonly versionMax: number;
  readonly versionActive: number;
  readonly isid: Uint8Array;
  readonly tsih: number;
  readonly itt: number;
  /** 0 success, 1 redirection, 2 initiator error, 3 target error (RFC 7143 11.13.5). */
  readonly statusClass: number;
  readonly statusDetail: number;
}

export interface ScsiResponse extends Pdu<typeof Opcode.ScsiResponse>, Numbered, SenseSegment {
  /** o, u: bidirectional read residual overflow, underflow. */
  readonly bidiOverflow: boolean;
  readonly bidiUnderflow: boolean;
  /** O, U: residual overflow, underflow. */
  readonly overflow: boolean;
  readonly underflow: boolean;
  /** 0x00 Command Completed at Target, 0x01 Target Failure; status is valid only with 0x00. */
  readonly response: number;
  readonly status: number;
  readonly itt: number;
  readonly snackTag: number;
  readonly expDataSN: number;
  readonly bidiResidualCount: number;
  readonly residualCount: number;
}

export interface ScsiDataIn extends Pdu<typeof Opcode.ScsiDataIn> {
  readonly final: boolean;
  /** A: the target asks for a DataACK SNACK (ErrorRecoveryLevel > 0 only). */
  readonly acknowledge: boolean;
  /** O, U: only meaningful with S, false without. */
  readonly overflow: boolean;
  readonly underflow: boolean;
  /** S: this PDU carries the command's status; `status`, `statSN` and `residualCount` are set only then. */
  readonly statusPresent: boolean;
  readonly status: number | undefined;
  readonly statSN: number | undefined;
  readonly residualCount: number | undefined;
  readonly lun: Uint8Array;
  readonly itt: number;
  readonly ttt: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
  readonly dataSN: number;
  readonly bufferOffset: number;
}

export interface NopIn extends Pdu<typeof Opcode.NopIn>, Numbered {
  readonly lun: Uint8Array;
  /** The ITT of the NOP-Out this answers, or 0xffffffff. */
  readonly itt: number;
  /** Not 0xffffffff: the target asks for a NOP-Out echoing it (pdu-encode encodeNopOutReply). */
  readonly ttt: number;
}

export interface ReadyToTransfer extends Pdu<typeof Opcode.ReadyToTransfer>, Numbered {
  readonly lun: Uint8Array;
  readonly itt: number;
  readonly ttt: number;
  readonly r2tSN: number;
  readonly bufferOffset: number;
  readonly desiredDataTransferLength: number;
}

export interface AsyncMessage extends Pdu<typeof Opcode.AsyncMessage>, Numbered, SenseSegment {
  readonly lun: Uint8Array;
  /** 0 SCSI event, 1 logout requested, 2 connection drop, 3 session drop, 4 renegotiate, 255 vendor (RFC 7143 11.9.1). */
  readonly asyncEvent: number;
  readonly asyncVCode: number;
  readonly parameter1: number;
  readonly parameter2: number;
  readonly parameter3: number;
}

export interface Reject extends Pdu<typeof Opcode.Reject>, Numbered {
  /** RFC 7143 11.17.1: 0x04 protocol error, 0x05 command not supported, 0x09 invalid PDU field, ... */
  readonly reason: number;
  readonly dataSN: number;
  /** The BHS of the PDU rejected (the data segment's first 48 bytes). */
  readonly rejected: Uint8Array;
}

export interface LogoutResponse extends Pdu<typeof Opcode.LogoutResponse>, Numbered {
  /** 0 closed, 1 CID not found, 2 recovery not supported, 3 cleanup failed (RFC 7143 11.15.1). */
  readonly response: number;
  readonly itt: number;
  readonly time2Wait: number;
  readonly time2Retain: number;
}

export interface TextResponse extends Pdu<typeof Opcode.TextResponse>, Numbered {
  readonly final: boolean;
  readonly continue: boolean;
  readonly lun: Uint8Array;
  readonly itt: number;
  readonly ttt: number;
}

export interface TaskManagementResponse extends Pdu<typeof Opcode.TaskManagementResponse>, Numbered {
  /** 0 Function complete, 1 task does not exist, ... (RFC 7143 11.6.1). */
  readonly response: number;
  readonly itt: number;
}

export type TargetPdu =
  | LoginResponse
  | ScsiResponse
  | ScsiDataIn
  | NopIn
  | ReadyToTransfer
  | AsyncMessage
  | Reject
  | LogoutResponse
  | TextResponse
  | TaskManagementResponse;
