// The message exports of a checker with no messages of its own (only the generic ids): re-export them
// (`export { pc_msg_count, pc_msg, pc_msg_len } from "../sdk/no-messages"`).

export function pc_msg_count(): i32 {
  return 0;
}

export function pc_msg(id: i32): usize {
  return 0;
}

export function pc_msg_len(id: i32): i32 {
  return 0;
}
