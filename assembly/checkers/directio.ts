// directio: libmultipath directio.c (0.15.0): one direct read of one block at offset 0, resumable: a plain
// fd_pread on the non-blocking device fd (docs/ABI.md "Plain reads"); while it is outstanding the check is
// parked (directio.c: pending "is waiting on aio"), and its verdict comes when the read does.
//   the whole block came back                          -> up "reports path is up"
//   a short read, or the read failed (EIO, ...)        -> down "reports path is down"
//   the read could not be submitted (EBADF, EINVAL)    -> unchecked "is not available" (io_submit failing)
// A read the host's deadline passes is the host's `timeout` (directio.c cancels it and says down).
//
// The block size: directio.c takes BLKBSZGET, the kernel's soft block size of the device, 4096 when
// that fails, at most 4096. A WASI module has no ioctl, so the path's first check asks READ CAPACITY(10)
// through the sg frame protocol and derives what the kernel sets for a block device
// (set_init_blocksize): from the logical block length, doubled up to 4096 while the capacity stays a
// multiple of it. When READ CAPACITY cannot be sent or fails (a host whose fd is a read-only plain file:
// stock WASI with a disk image), 4096, as directio.c's fallback. Not in pc_init, which does no I/O: a
// device that hangs then costs a check, never the path.
//
// ctx:     0 u32 magic 'DIRI'  4 u32 phase (0 idle, 1 READ CAPACITY outstanding, 2 read outstanding)
//          8 u32 pack id  12 i32 block size (0 until the first check asked READ CAPACITY)
// scratch: 0 iovec + count  16 request (header + 10-byte CDB)  64 reply (header + 8)  112 the block (4096)

import {
  ERRNO_AGAIN,
  ERRNO_BADF,
  ERRNO_INVAL,
  ERRNO_SUCCESS,
  FIRST_MSGID,
  IOVEC_SIZE,
  MSGID_DOWN,
  MSGID_NO_FD,
  MSGID_UP,
  PATH_DOWN,
  PATH_UNCHECKED,
  PATH_UP,
  PATH_WILD,
  READ_CAPACITY_10,
  SG_HEADER_SIZE,
  fd_pread,
  result,
  sgBegin,
  sgCdbInit,
  sgCopyDataIn,
  sgFinish,
  sgGood,
  sgSubmit,
  strBytes,
  strPtr,
  waitOn,
} from "../sdk";

export { pc_abi_version } from "../sdk/abi";

const NAME = "directio";
const MAX_BLOCK: i32 = 4096;
const MIN_BLOCK: i32 = 512;
const RC_CDB_LEN: i32 = 10;
const RC_BYTES: i32 = 8;

const CTX_SIZE: i32 = 16;
const CTX_MAGIC: i32 = 0;
const CTX_PHASE: i32 = 4;
const CTX_PACK: i32 = 8;
const CTX_BLOCK: i32 = 12;
const MAGIC: u32 = 0x49524944; // "DIRI"
const PHASE_IDLE: u32 = 0;
const PHASE_CAPACITY: u32 = 1;
const PHASE_READ: u32 = 2;

const S_IO: usize = 0;
const S_REQ: usize = 16;
const S_REPLY: usize = 64;
const S_CAPACITY: usize = S_REPLY + <usize>SG_HEADER_SIZE;
const S_BLOCK: usize = 112;
const SCRATCH_SIZE: i32 = <i32>S_BLOCK + MAX_BLOCK;

const MSG_UNKNOWN: i32 = FIRST_MSGID + 0;
const MSG_COUNT: i32 = 1;

function msgText(id: i32): string {
  return id == MSG_UNKNOWN ? "is not available" : "";
}

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

export function pc_msg_count(): i32 {
  return MSG_COUNT;
}

export function pc_msg(id: i32): usize {
  const s = msgText(id);
  return s.length ? strPtr(s) : 0;
}

export function pc_msg_len(id: i32): i32 {
  return strBytes(msgText(id));
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
  if (load<i32>(ctx, CTX_BLOCK) == 0) return askCapacity(ctx, fd, scratch);
  return submitRead(ctx, fd, scratch);
}

function submitRead(ctx: usize, fd: i32, scratch: usize): i32 {
  const errno = pread(ctx, fd, scratch);
  if (errno == ERRNO_AGAIN) {
    store<u32>(ctx, PHASE_READ, CTX_PHASE);
    return waitOn(fd);
  }
  if (errno == ERRNO_BADF || errno == ERRNO_INVAL) return result(PATH_UNCHECKED, MSG_UNKNOWN);
  return verdict(ctx, scratch, errno);
}

export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  const phase = load<u32>(ctx, CTX_PHASE);
  if (phase == PHASE_CAPACITY) return collectCapacity(ctx, fd, scratch);
  if (phase != PHASE_READ) return result(PATH_DOWN, MSGID_DOWN);
  const errno = pread(ctx, fd, scratch);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  return verdict(ctx, scratch, errno);
}

/** fd_pread of one block at offset 0 into scratch; the same call submits it and later collects it. */
function pread(ctx: usize, fd: i32, scratch: usize): i32 {
  const io = scratch + S_IO;
  store<u32>(io, <u32>(scratch + S_BLOCK), 0);
  store<u32>(io, <u32>load<i32>(ctx, CTX_BLOCK), 4);
  store<u32>(io + <usize>IOVEC_SIZE, 0);
  return fd_pread(fd, io, 1, 0, io + <usize>IOVEC_SIZE);
}

function verdict(ctx: usize, scratch: usize, errno: i32): i32 {
  const whole = errno == ERRNO_SUCCESS && load<i32>(scratch + S_IO, IOVEC_SIZE) == load<i32>(ctx, CTX_BLOCK);
  return whole ? result(PATH_UP, MSGID_UP) : result(PATH_DOWN, MSGID_DOWN);
}

function askCapacity(ctx: usize, fd: i32, scratch: usize): i32 {
  const req = scratch + S_REQ;
  const len = sgBegin(req, ctx + CTX_PACK, RC_CDB_LEN, RC_BYTES);
  sgCdbInit(req, READ_CAPACITY_10, RC_CDB_LEN);
  if (sgSubmit(fd, req, len, scratch + S_IO) != ERRNO_SUCCESS) return capacityIs(ctx, fd, scratch, MAX_BLOCK);
  store<u32>(ctx, PHASE_CAPACITY, CTX_PHASE);
  return collectCapacity(ctx, fd, scratch);
}

function collectCapacity(ctx: usize, fd: i32, scratch: usize): i32 {
  const reply = scratch + S_REPLY;
  const errno = sgFinish(fd, reply, SG_HEADER_SIZE + RC_BYTES, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  if (errno != ERRNO_SUCCESS || !sgGood(reply)) return capacityIs(ctx, fd, scratch, MAX_BLOCK);
  const data = scratch + S_CAPACITY;
  sgCopyDataIn(reply, scratch + S_IO, data, RC_BYTES);
  const blocks = <u64>bswap<u32>(load<u32>(data)) + 1;
  const length = <i32>bswap<u32>(load<u32>(data, 4));
  return capacityIs(ctx, fd, scratch, length <= 0 ? MAX_BLOCK : blockSize(length, blocks));
}

/** The block size is known (for good: the check reads it from now on); go on with the read. */
function capacityIs(ctx: usize, fd: i32, scratch: usize, size: i32): i32 {
  store<i32>(ctx, size, CTX_BLOCK);
  return submitRead(ctx, fd, scratch);
}

/** The kernel's initial block size of a block device: its logical block length, doubled up to 4096 while the capacity is a multiple of it. */
function blockSize(logical: i32, blocks: u64): i32 {
  if (logical >= MAX_BLOCK) return MAX_BLOCK;
  let size = max(logical, MIN_BLOCK);
  const bytes = blocks * <u64>logical;
  while (size < MAX_BLOCK && bytes % <u64>(size << 1) == 0) size <<= 1;
  return size;
}
