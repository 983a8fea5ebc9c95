/**
 * The Linux host bytes (DID_*) a transport backend reports, as the kernel's iSCSI initiator does
 * (drivers/scsi/libiscsi.c): what a checker sees in the sg reply when the transport, not the LUN,
 * answered. The sim backend names the same codes in its scenarios.json.
 */
export const HostByte = {
  OK: 0x00,
  /** No session to send on (login refused, the target gone): final, multipathd's tur says down. */
  NO_CONNECT: 0x01,
  /** The command was aborted at its deadline (ABORT TASK answered), as the kernel reports a timed-out command. */
  TIME_OUT: 0x03,
  /** The target answered with an iSCSI-level failure (a Reject, a service response that is not "completed"). */
  ERROR: 0x07,
  /** The connection dropped with the command outstanding: retried by tur, as by the kernel. */
  TRANSPORT_DISRUPTED: 0x0e,
} as const;
