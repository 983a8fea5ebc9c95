import { PduError, hex } from './pdu-error.js';

/** RFC 7143 11.2.1.2: opcodes an initiator sends (0x00-0x1f) and a target sends (0x20-0x3f). */
export const Opcode = {
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskManagementRequest: 0x02,
  LoginRequest: 0x03,
  TextRequest: 0x04,
  ScsiDataOut: 0x05,
  LogoutRequest: 0x06,
  SnackRequest: 0x10,
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskManagementResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  ScsiDataIn: 0x25,
  LogoutResponse: 0x26,
  ReadyToTransfer: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;

export type TargetOpcode =
  | typeof Opcode.NopIn
  | typeof Opcode.ScsiResponse
  | typeof Opcode.TaskManagementResponse
  | typeof Opcode.LoginResponse
  | typeof Opcode.TextResponse
  | typeof Opcode.ScsiDataIn
  | typeof Opcode.LogoutResponse
  | typeof Opcode.ReadyToTransfer
  | typeof Opcode.AsyncMessage
  | typeof Opcode.Reject;

/** The names RFC 7143 section 11 gives the PDUs, as error messages print them. */
const NAMES = new Map<number, string>([
  [Opcode.NopOut, 'NOP-Out'],
  [Opcode.ScsiCommand, 'SCSI Command'],
  [Opcode.TaskManagementRequest, 'Task Management Function Request'],
  [Opcode.LoginRequest, 'Login Request'],
  [Opcode.TextRequest, 'Text Request'],
  [Opcode.ScsiDataOut, 'SCSI Data-Out'],
  [Opcode.LogoutRequest, 'Logout Request'],
  [Opcode.SnackRequest, 'SNACK Request'],
  [Opcode.NopIn, 'NOP-In'],
  [Opcode.ScsiResponse, 'SCSI Response'],
  [Opcode.TaskManagementResponse, 'Task Management Function Response'],
  [Opcode.LoginResponse, 'Login Response'],
  [Opcode.TextResponse, 'Text Response'],
  [Opcode.ScsiDataIn, 'SCSI Data-In'],
  [Opcode.LogoutResponse, 'Logout Response'],
  [Opcode.ReadyToTransfer, 'R2T'],
  [Opcode.AsyncMessage, 'Asynchronous Message'],
  [Opcode.Reject, 'Reject'],
]);

const TARGET_OPCODE_MIN = 0x20;

/** The PDU's name, or `opcode 0xNN` for one this codec does not know. */
export function opcodeName(opcode: number): string {
  return NAMES.get(opcode) ?? `opcode 0x${hex(opcode, 2)}`;
}

/** The opcode of a PDU a target may send; anything else from the target is a PduError. */
export function targetOpcode(opcode: number): TargetOpcode {
  const name = NAMES.get(opcode);
  if (name === undefined) throw new PduError(`unknown opcode 0x${hex(opcode, 2)}`);
  if (opcode < TARGET_OPCODE_MIN) throw new PduError(`opcode 0x${hex(opcode, 2)} is the initiator's ${name}`);
  return opcode as TargetOpcode;
}
