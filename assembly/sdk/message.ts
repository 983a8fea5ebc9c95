// Message ids and the pc_check result encoding (docs/ABI.md, "Result encoding", "Messages").

/** Generic ids; the host owns their text. */
export const MSGID_NONE: i32 = 0; // (none)
export const MSGID_DISABLED: i32 = 1; // is disabled
export const MSGID_NO_FD: i32 = 2; // has no usable fd
export const MSGID_INVALID: i32 = 3; // provided invalid message id
export const MSGID_UP: i32 = 4; // reports path is up
export const MSGID_DOWN: i32 = 5; // reports path is down
export const MSGID_GHOST: i32 = 6; // reports path is ghost
export const MSGID_UNSUPPORTED: i32 = 7; // doesn't support this device
export const MSGID_DISCONNECTED: i32 = 8; // no access to this device
export const MSGID_TIMEOUT: i32 = 9; // timed out
export const MSGID_RUNNING: i32 = 10; // still running

/** First checker-specific id; the checker's own table (pc_msg) starts here. */
export const FIRST_MSGID: i32 = 100;

/** The value pc_check returns: state in bits 0..7, message id in bits 8..15. */
// @ts-ignore: decorator
@inline
export function result(state: i32, msgid: i32): i32 {
  return (state & 0xff) | ((msgid & 0xff) << 8);
}

/**
 * What pc_init, pc_check and pc_pending return to wait for `fd` to become readable (docs/ABI.md
 * "Waiting"): bit 31 set, the fd in bits 0..15. The host calls pc_pending when it is.
 */
export const PC_WAIT: i32 = 0x80000000;

// @ts-ignore: decorator
@inline
export function waitOn(fd: i32): i32 {
  return PC_WAIT | (fd & 0xffff);
}
