// emc_clariion: libmultipath emc_clariion.c (0.15.0), for EMC CLARiiON / VNX arrays, over the sg v2
// frame protocol, resumable.
//
// A check: INQUIRY VPD page 0xC0 (unit path report, 128 bytes), sent again up to 5 times in all after a
// transport error (host byte DID_BUS_BUSY, DID_ERROR, DID_SOFT_ERROR or DID_TRANSPORT_DISRUPTED):
//   errno ENOTTY, or sense key ILLEGAL REQUEST    -> wild "doesn't support this device"
//   any other errno, driver `result`, pack_id     -> down ": sending query command failed"
//   any other non-GOOD answer                     -> down ": query command indicates error"
//     (a RECOVERED ERROR too: emc_clariion.c lets the sense pass, then fails the non-GOOD status)
//   page code (byte 1) not 0xC0 or revision (9) not 0 -> down ": Path unit report page in unknown format"
//   initiator type (27) not 3, failover mode (28, bits 0-2) not 4 or 6, or arraycommpath (30, bit 2)
//     clear                                      -> down ": Path not correctly configured for failover"
//   LUN operations (48) not 0                     -> shaky ": Path not available for normal operations"
//   path state (4) 0: unbound or LUNZ             -> down ": Logical Unit is unbound or LUNZ"
//   WWN (bytes 10-25) not the one this path saw first -> down ": Logical Unit WWN has changed"
//   path state 2 (active): READ(10) of LBA 0 as readsector0 (sdk/sector0-read.ts):
//     up                                          -> up ": Active path is healthy"
//     down, sense 05/25/01 (inactive snapshot)     -> down "reports path is down"; the multipath is
//                                                    marked an inactive snapshot
//     down otherwise                              -> down ": Read error"
//   any other path state (passive): the multipath marked an inactive snapshot -> down "reports path is down"
//                                   otherwise      -> up ": Active path is healthy" (sic; not ghost)
// "Inactive snapshot" is per multipath (emc_clariion.c's mpcontext): the multipath context word
// (docs/ABI.md), -1 unset, 1 inactive snapshot, 0 not; a good READ on an active path clears it. Where
// emc_clariion.c leaves the message of an inactive snapshot unset (it shows "still running"), this says
// "reports path is down".
//
// ctx:     0 u32 magic 'EMCC'  4 u32 phase  8 u32 pack id  12 i32 attempts left  16 u32 WWN set
//          20 the WWN (16 bytes)  40 i64 the multipath context word (the host's, copied in and out)
// scratch: 0 sg iovec + count   16 request (header + CDB)  64 reply (header + 4096)  4196 the page (128)

import {
  ERRNO_AGAIN,
  ERRNO_NOTTY,
  ERRNO_SUCCESS,
  FIRST_MSGID,
  MSGID_DOWN,
  MSGID_NO_FD,
  MSGID_UNSUPPORTED,
  PATH_DOWN,
  PATH_SHAKY,
  PATH_UP,
  PATH_WILD,
  SECTOR0_ATTEMPTS,
  SECTOR0_BYTES,
  SECTOR0_DOWN,
  SECTOR0_UP,
  SECTOR0_WAIT,
  SG_HEADER_SIZE,
  VPD_FAILED,
  VPD_RETRY,
  VPD_UNSUPPORTED,
  result,
  sector0Collect,
  sector0Send,
  sgCopyDataIn,
  sgFinish,
  sgSense,
  sgSubmit,
  strBytes,
  strPtr,
  vpdRequest,
  vpdVerdict,
  waitOn,
} from "../sdk";

export { pc_abi_version } from "../sdk/abi";

const NAME = "emc_clariion";
const ATTEMPTS: i32 = 5;
const VPD_UNIT_PATH_REPORT: u8 = 0xc0;
const PAGE_BYTES: i32 = 128;
const WWN_AT: i32 = 10;
const WWN_BYTES: i32 = 16;
const PATH_STATE_UNBOUND: u8 = 0;
const PATH_STATE_ACTIVE: u8 = 2;

const CTX_MAGIC: i32 = 0;
const CTX_PHASE: i32 = 4;
const CTX_PACK: i32 = 8;
const CTX_ATTEMPTS: i32 = 12;
const CTX_WWN_SET: i32 = 16;
const CTX_WWN: i32 = 20;
const CTX_MP: i32 = 40;
const CTX_SIZE: i32 = CTX_MP + 8;
const MP_INACTIVE_SNAPSHOT: i64 = 1;
const MP_ACTIVE: i64 = 0;
const MAGIC: u32 = 0x43434d45; // "EMCC"
const PHASE_IDLE: u32 = 0;
const PHASE_INQUIRY: u32 = 1;
const PHASE_READ: u32 = 2;

const S_IO: usize = 0;
const S_REQ: usize = 16;
const S_REPLY: usize = 64;
const S_PAGE: usize = S_REPLY + <usize>SG_HEADER_SIZE + <usize>SECTOR0_BYTES;
const SCRATCH_SIZE: i32 = <i32>S_PAGE + PAGE_BYTES;

const MSG_QUERY_FAILED: i32 = FIRST_MSGID + 0;
const MSG_QUERY_ERROR: i32 = FIRST_MSGID + 1;
const MSG_PATH_CONFIG: i32 = FIRST_MSGID + 2;
const MSG_UNIT_REPORT: i32 = FIRST_MSGID + 3;
const MSG_PATH_NOT_AVAIL: i32 = FIRST_MSGID + 4;
const MSG_LUN_UNBOUND: i32 = FIRST_MSGID + 5;
const MSG_WWN_CHANGED: i32 = FIRST_MSGID + 6;
const MSG_READ_ERROR: i32 = FIRST_MSGID + 7;
const MSG_PASSIVE_GOOD: i32 = FIRST_MSGID + 8;
const MSG_COUNT: i32 = 9;

// emc_clariion.c's texts begin with ": " (printed right after "emc_clariion checker").
function msgText(id: i32): string {
  switch (id) {
    case MSG_QUERY_FAILED: return ": sending query command failed";
    case MSG_QUERY_ERROR: return ": query command indicates error";
    case MSG_PATH_CONFIG: return ": Path not correctly configured for failover";
    case MSG_UNIT_REPORT: return ": Path unit report page in unknown format";
    case MSG_PATH_NOT_AVAIL: return ": Path not available for normal operations";
    case MSG_LUN_UNBOUND: return ": Logical Unit is unbound or LUNZ";
    case MSG_WWN_CHANGED: return ": Logical Unit WWN has changed";
    case MSG_READ_ERROR: return ": Read error";
    case MSG_PASSIVE_GOOD: return ": Active path is healthy";
    default: return "";
  }
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

/** The multipath context word's place in ctx: the host puts the multipath's word there before a check. */
export function pc_mpctx_offset(): i32 {
  return CTX_MP;
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
  store<i32>(ctx, ATTEMPTS, CTX_ATTEMPTS);
  return submitInquiry(ctx, fd, scratch);
}

export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  const phase = load<u32>(ctx, CTX_PHASE);
  if (phase == PHASE_INQUIRY) return collectInquiry(ctx, fd, scratch);
  if (phase == PHASE_READ) return readDone(ctx, fd, scratch, sector0Collect(fd, scratch + S_IO, scratch + S_REQ, scratch + S_REPLY, ctx + CTX_PACK, ctx + CTX_ATTEMPTS));
  return result(PATH_DOWN, MSGID_DOWN);
}

function submitInquiry(ctx: usize, fd: i32, scratch: usize): i32 {
  const req = scratch + S_REQ;
  const errno = sgSubmit(fd, req, vpdRequest(req, ctx + CTX_PACK, VPD_UNIT_PATH_REPORT, PAGE_BYTES), scratch + S_IO);
  if (errno != ERRNO_SUCCESS) return queryFailed(errno);
  store<u32>(ctx, PHASE_INQUIRY, CTX_PHASE);
  return collectInquiry(ctx, fd, scratch);
}

function queryFailed(errno: i32): i32 {
  return errno == ERRNO_NOTTY ? result(PATH_WILD, MSGID_UNSUPPORTED) : result(PATH_DOWN, MSG_QUERY_FAILED);
}

function collectInquiry(ctx: usize, fd: i32, scratch: usize): i32 {
  const reply = scratch + S_REPLY;
  const errno = sgFinish(fd, reply, SG_HEADER_SIZE + PAGE_BYTES, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  if (errno != ERRNO_SUCCESS) return queryFailed(errno);
  const attempts = load<i32>(ctx, CTX_ATTEMPTS);
  switch (vpdVerdict(reply, attempts, false)) {
    case VPD_RETRY:
      store<i32>(ctx, attempts - 1, CTX_ATTEMPTS);
      return submitInquiry(ctx, fd, scratch);
    case VPD_UNSUPPORTED:
      return result(PATH_WILD, MSGID_UNSUPPORTED);
    case VPD_FAILED:
      return result(PATH_DOWN, MSG_QUERY_ERROR);
  }
  const page = scratch + S_PAGE;
  sgCopyDataIn(reply, scratch + S_IO, page, PAGE_BYTES);
  if (load<u8>(page, 1) != VPD_UNIT_PATH_REPORT || load<u8>(page, 9) != 0) return result(PATH_DOWN, MSG_UNIT_REPORT);
  const failover = load<u8>(page, 28) & 0x07;
  if (load<u8>(page, 27) != 0x03 || (failover != 0x04 && failover != 0x06) || (load<u8>(page, 30) & 0x04) == 0) {
    return result(PATH_DOWN, MSG_PATH_CONFIG);
  }
  if (load<u8>(page, 48) != 0) return result(PATH_SHAKY, MSG_PATH_NOT_AVAIL);
  const state = load<u8>(page, 4);
  if (state == PATH_STATE_UNBOUND) return result(PATH_DOWN, MSG_LUN_UNBOUND);
  // The path must keep pointing at the LUN it first saw.
  if (load<u32>(ctx, CTX_WWN_SET) != 0) {
    if (memory.compare(ctx + CTX_WWN, page + <usize>WWN_AT, <usize>WWN_BYTES) != 0) return result(PATH_DOWN, MSG_WWN_CHANGED);
  } else {
    memory.copy(ctx + CTX_WWN, page + <usize>WWN_AT, <usize>WWN_BYTES);
    store<u32>(ctx, 1, CTX_WWN_SET);
  }
  if (state != PATH_STATE_ACTIVE) {
    return load<i64>(ctx, CTX_MP) == MP_INACTIVE_SNAPSHOT ? result(PATH_DOWN, MSGID_DOWN) : result(PATH_UP, MSG_PASSIVE_GOOD);
  }
  store<i32>(ctx, SECTOR0_ATTEMPTS, CTX_ATTEMPTS);
  return readDone(ctx, fd, scratch, sector0Send(fd, scratch + S_IO, scratch + S_REQ, scratch + S_REPLY, ctx + CTX_PACK, ctx + CTX_ATTEMPTS));
}

function readDone(ctx: usize, fd: i32, scratch: usize, v: i32): i32 {
  store<u32>(ctx, v == SECTOR0_WAIT ? PHASE_READ : PHASE_IDLE, CTX_PHASE);
  if (v == SECTOR0_WAIT) return waitOn(fd);
  if (v == SECTOR0_UP) {
    store<i64>(ctx, MP_ACTIVE, CTX_MP);
    return result(PATH_UP, MSG_PASSIVE_GOOD);
  }
  // emc_clariion.c reads the fixed-format bytes of the read's sense: key 5, ASC/ASCQ 25/01.
  const sense = sgSense(scratch + S_REPLY);
  if (v == SECTOR0_DOWN && (load<u8>(sense, 2) & 0x0f) == 5 && load<u8>(sense, 12) == 0x25 && load<u8>(sense, 13) == 0x01) {
    store<i64>(ctx, MP_INACTIVE_SNAPSHOT, CTX_MP);
    return result(PATH_DOWN, MSGID_DOWN);
  }
  return result(PATH_DOWN, MSG_READ_ERROR);
}
