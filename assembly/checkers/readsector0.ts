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
  ERRNO_AGAIN,
  ERRNO_SUCCESS,
  MSGID_DOWN,
  MSGID_NO_FD,
  MSGID_UP,
  PATH_DOWN,
  PATH_UP,
  PATH_WILD,
  SECTOR0_ATTEMPTS,
  SECTOR0_BYTES,
  SECTOR0_RETRY,
  SECTOR0_UP,
  SG_HEADER_SIZE,
  result,
  sector0Request,
  sector0Verdict,
  sgFinish,
  sgSubmit,
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
  return submit(ctx, fd, scratch);
}

export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  if (load<u32>(ctx, CTX_PHASE) != PHASE_WAITING) return result(PATH_DOWN, MSGID_DOWN);
  return collect(ctx, fd, scratch);
}

function submit(ctx: usize, fd: i32, scratch: usize): i32 {
  const req = scratch + S_REQ;
  const errno = sgSubmit(fd, req, sector0Request(req, ctx + CTX_PACK), scratch + S_IO);
  if (errno != ERRNO_SUCCESS) return decide(ctx, fd, scratch, errno);
  store<u32>(ctx, PHASE_WAITING, CTX_PHASE);
  return collect(ctx, fd, scratch);
}

function collect(ctx: usize, fd: i32, scratch: usize): i32 {
  const errno = sgFinish(fd, scratch + S_REPLY, SG_HEADER_SIZE + SECTOR0_BYTES, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  return decide(ctx, fd, scratch, errno);
}

function decide(ctx: usize, fd: i32, scratch: usize, errno: i32): i32 {
  const attempts = load<i32>(ctx, CTX_ATTEMPTS);
  const verdict = sector0Verdict(errno, scratch + S_REPLY, attempts);
  if (verdict == SECTOR0_RETRY) {
    store<i32>(ctx, attempts - 1, CTX_ATTEMPTS);
    return submit(ctx, fd, scratch);
  }
  return verdict == SECTOR0_UP ? result(PATH_UP, MSGID_UP) : result(PATH_DOWN, MSGID_DOWN);
}
