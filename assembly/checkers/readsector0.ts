// readsector0: libmultipath readsector0.c (0.15.0) over the sg v2 frame protocol, resumable: libsg.c's
// sg_read (sdk/sector0-read.ts), READ(10) of LBA 0, up to 3 times in all while the device answers UNIT
// ATTENTION.
//   write/read errno, driver `result`, pack_id mismatch -> down "reports path is down"
//   errno ENOMEM                                          -> up   (libsg.c: SG_IO failing with ENOMEM is up)
//   status, host and driver bytes all 0                   -> up   "reports path is up"
//   anything else                                         -> down
//
// ctx:     0 u32 magic 'RS0R'  4 u32 phase (0 idle, 1 waiting)  8 u32 pack id  12 i32 attempts left
// scratch: 0 sg iovec + count   16 request (header + 10-byte CDB)  64 reply (header + 4096 bytes)

import {
  MSGID_DOWN,
  MSGID_NO_FD,
  MSGID_UP,
  PATH_DOWN,
  PATH_UP,
  PATH_WILD,
  SECTOR0_ATTEMPTS,
  SECTOR0_BYTES,
  SECTOR0_UP,
  SECTOR0_WAIT,
  SG_HEADER_SIZE,
  result,
  sector0Collect,
  sector0Send,
  strBytes,
  strPtr,
  waitOn,
} from "../sdk";

export { pc_abi_version } from "../sdk/abi";
export { pc_msg_count, pc_msg, pc_msg_len } from "../sdk/no-messages";

const NAME = "readsector0";

const CTX_SIZE: i32 = 16;
const CTX_MAGIC: i32 = 0;
const CTX_PHASE: i32 = 4;
const CTX_PACK: i32 = 8;
const CTX_ATTEMPTS: i32 = 12;
const MAGIC: u32 = 0x52305352; // "RS0R"
const PHASE_IDLE: u32 = 0;
const PHASE_WAITING: u32 = 1;

const S_IO: usize = 0;
const S_REQ: usize = 16;
const S_REPLY: usize = 64;
const SCRATCH_SIZE: i32 = <i32>S_REPLY + SG_HEADER_SIZE + SECTOR0_BYTES;

export function pc_name(): usize {
  return strPtr(NAME);
}

export function pc_name_len(): i32 {
  return strBytes(NAME);
}

export function pc_ctx_size(): i32 {
  return CTX_SIZE;
}

export function pc_scratch_size(): i32 {
  return SCRATCH_SIZE;
}

export function pc_init(ctx: usize, fd: i32, scratch: usize): i32 {
  memory.fill(ctx, 0, <usize>CTX_SIZE);
  store<u32>(ctx, MAGIC, CTX_MAGIC);
  return 0;
}

export function pc_free(ctx: usize): void {
  memory.fill(ctx, 0, <usize>CTX_SIZE);
}

export function pc_check(ctx: usize, fd: i32, scratch: usize): i32 {
  if (fd < 0) return result(PATH_WILD, MSGID_NO_FD);
  store<i32>(ctx, SECTOR0_ATTEMPTS, CTX_ATTEMPTS);
  return verdict(ctx, fd, sector0Send(fd, scratch + S_IO, scratch + S_REQ, scratch + S_REPLY, ctx + CTX_PACK, ctx + CTX_ATTEMPTS));
}

export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  if (load<u32>(ctx, CTX_PHASE) != PHASE_WAITING) return result(PATH_DOWN, MSGID_DOWN);
  return verdict(ctx, fd, sector0Collect(fd, scratch + S_IO, scratch + S_REQ, scratch + S_REPLY, ctx + CTX_PACK, ctx + CTX_ATTEMPTS));
}

function verdict(ctx: usize, fd: i32, v: i32): i32 {
  store<u32>(ctx, v == SECTOR0_WAIT ? PHASE_WAITING : PHASE_IDLE, CTX_PHASE);
  if (v == SECTOR0_WAIT) return waitOn(fd);
  return v == SECTOR0_UP ? result(PATH_UP, MSGID_UP) : result(PATH_DOWN, MSGID_DOWN);
}
