// cciss_tur: libmultipath cciss_tur.c (0.15.0) for configurations that name it. The original sends
// TEST UNIT READY through the HP Smart Array CCISS_PASSTHRU ioctl (after CCISS_GETLUNINFO for the LUN id);
// a WASI module can issue no ioctl, so the TUR goes through the sg v2 frame protocol instead, and its
// verdict is cciss_tur.c's: no retries, no sense decoding.
//   write/read errno, driver `result`, pack_id mismatch -> down "reports path is down"
//   status, host and driver bytes all 0                   -> up   "reports path is up"
//   anything else (CommandStatus | ScsiStatus != 0)       -> down
//
// ctx:     0 u32 magic 'CCIS'  4 u32 phase (0 idle, 1 waiting)  8 u32 pack id
// scratch: 0 sg iovec + count   16 request (header + 6-byte CDB)  64 reply (header)

import {
  ERRNO_AGAIN,
  ERRNO_SUCCESS,
  MSGID_DOWN,
  MSGID_NO_FD,
  MSGID_UP,
  PATH_DOWN,
  PATH_UP,
  PATH_WILD,
  SG_HEADER_SIZE,
  TEST_UNIT_READY,
  TUR_CDB_LEN,
  result,
  sgBegin,
  sgCdbInit,
  sgFinish,
  sgGood,
  sgSubmit,
  strBytes,
  strPtr,
  waitOn,
} from "../sdk";

export { pc_abi_version } from "../sdk/abi";
export { pc_msg_count, pc_msg, pc_msg_len } from "../sdk/no-messages";

const NAME = "cciss_tur";

const CTX_SIZE: i32 = 12;
const CTX_MAGIC: i32 = 0;
const CTX_PHASE: i32 = 4;
const CTX_PACK: i32 = 8;
const MAGIC: u32 = 0x53494343; // "CCIS"
const PHASE_IDLE: u32 = 0;
const PHASE_WAITING: u32 = 1;

const S_IO: usize = 0;
const S_REQ: usize = 16;
const S_REPLY: usize = 64;
const SCRATCH_SIZE: i32 = <i32>S_REPLY + SG_HEADER_SIZE;

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
  const req = scratch + S_REQ;
  const len = sgBegin(req, ctx + CTX_PACK, TUR_CDB_LEN, 0);
  sgCdbInit(req, TEST_UNIT_READY, TUR_CDB_LEN);
  if (sgSubmit(fd, req, len, scratch + S_IO) != ERRNO_SUCCESS) return result(PATH_DOWN, MSGID_DOWN);
  store<u32>(ctx, PHASE_WAITING, CTX_PHASE);
  return collect(ctx, fd, scratch);
}

export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  if (load<u32>(ctx, CTX_PHASE) != PHASE_WAITING) return result(PATH_DOWN, MSGID_DOWN);
  return collect(ctx, fd, scratch);
}

function collect(ctx: usize, fd: i32, scratch: usize): i32 {
  const reply = scratch + S_REPLY;
  const errno = sgFinish(fd, reply, SG_HEADER_SIZE, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  return errno == ERRNO_SUCCESS && sgGood(reply) ? result(PATH_UP, MSGID_UP) : result(PATH_DOWN, MSGID_DOWN);
}
