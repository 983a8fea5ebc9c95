// none: libmultipath's "none" checker: every path is up. No context, no scratch, no I/O.

import { MSGID_UP, PATH_UP, result, strBytes, strPtr } from "../sdk";

export { pc_abi_version } from "../sdk/abi";
export { pc_msg_count, pc_msg, pc_msg_len } from "../sdk/no-messages";

const NAME = "none";

export function pc_name(): usize {
  return strPtr(NAME);
}

export function pc_name_len(): i32 {
  return strBytes(NAME);
}

export function pc_ctx_size(): i32 {
  return 0;
}

export function pc_scratch_size(): i32 {
  return 0;
}

export function pc_init(ctx: usize, fd: i32, scratch: usize): i32 {
  return 0;
}

export function pc_free(ctx: usize): void {}

export function pc_check(ctx: usize, fd: i32, scratch: usize): i32 {
  return result(PATH_UP, MSGID_UP);
}

/** Never called: none never waits. */
export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  return result(PATH_UP, MSGID_UP);
}
