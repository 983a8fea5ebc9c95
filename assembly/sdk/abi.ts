// The exports every checker has the same way: a checker re-exports them
// (`export { pc_abi_version } from "../sdk/abi"`).

/** Plugin ABI version 2 (docs/ABI.md). */
export function pc_abi_version(): i32 {
  return 2;
}
