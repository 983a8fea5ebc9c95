/**
 * An iSCSI PDU that cannot be built, or bytes from the target that are not a PDU this initiator accepts.
 * The message is one line naming the PDU and the field (`SCSI Response: SenseLength 40 over ...`); the
 * session drops the connection on one read from the target.
 */
export class PduError extends Error {
  override readonly name = 'PduError';
}

/** How messages show a byte or a tag: hex, zero-padded to `digits`, without the 0x. */
export function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0');
}
