// hp_sw: libmultipath hp_sw.c (0.15.0), for HP active/standby arrays, over the sg v2 frame protocol,
// resumable. INQUIRY of VPD page 0x80 (unit serial number, allocation length 255) tells whether the
// path works at all; then TEST UNIT READY tells active from standby: a failing TUR means a standby
// controller, ghost, never down.
//   INQUIRY: errno ENOTTY (not a SCSI generic device)          -> wild "doesn't support this device"
//            other errno, driver `result`, pack_id mismatch     -> down "reports path is down"
//            status, host and driver bytes all 0               -> go on with the TUR
//            CHECK CONDITION / COMMAND TERMINATED / DRIVER_SENSE
//              with sense key RECOVERED ERROR                  -> go on with the TUR
//              with sense key ILLEGAL REQUEST                  -> wild "doesn't support this device"
//            anything else                                     -> down
//   TUR:     any errno, or any of status, host, driver bytes   -> ghost "reports path is ghost"
//            all 0                                             -> up "reports path is up"
//
// ctx:     0 u32 magic 'HPSW'  4 u32 phase (0 idle, 1 INQUIRY outstanding, 2 TUR outstanding)  8 u32 pack id
// scratch: 0 sg iovec + count   16 request (header + 6-byte CDB)  64 reply (header + 255 bytes)

import {
  ERRNO_AGAIN,
  ERRNO_NOTTY,
  ERRNO_SUCCESS,
  MSGID_DOWN,
  MSGID_GHOST,
  MSGID_NO_FD,
  MSGID_UNSUPPORTED,
  MSGID_UP,
  PATH_DOWN,
  PATH_GHOST,
  PATH_UP,
  PATH_WILD,
  SG_HEADER_SIZE,
  TEST_UNIT_READY,
  TUR_CDB_LEN,
  VPD_OK,
  VPD_UNSUPPORTED,
  result,
  sgBegin,
  sgCdbInit,
  sgFinish,
  sgGood,
  sgSubmit,
  strBytes,
  strPtr,
  vpdRequest,
  vpdVerdict,
  waitOn,
} from "../sdk";

export { pc_abi_version } from "../sdk/abi";
export { pc_msg_count, pc_msg, pc_msg_len } from "../sdk/no-messages";

const NAME = "hp_sw";
const VPD_SERIAL: u8 = 0x80;
const INQUIRY_BYTES: i32 = 255;

const CTX_SIZE: i32 = 12;
const CTX_MAGIC: i32 = 0;
const CTX_PHASE: i32 = 4;
const CTX_PACK: i32 = 8;
const MAGIC: u32 = 0x57535048; // "HPSW"
const PHASE_IDLE: u32 = 0;
const PHASE_INQUIRY: u32 = 1;
const PHASE_TUR: u32 = 2;

const S_IO: usize = 0;
const S_REQ: usize = 16;
const S_REPLY: usize = 64;
const SCRATCH_SIZE: i32 = <i32>S_REPLY + SG_HEADER_SIZE + INQUIRY_BYTES + 1;

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
  const errno = sgSubmit(fd, req, vpdRequest(req, ctx + CTX_PACK, VPD_SERIAL, INQUIRY_BYTES), scratch + S_IO);
  if (errno != ERRNO_SUCCESS) return inquiryFailed(errno);
  store<u32>(ctx, PHASE_INQUIRY, CTX_PHASE);
  return collectInquiry(ctx, fd, scratch);
}

export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  const phase = load<u32>(ctx, CTX_PHASE);
  if (phase == PHASE_INQUIRY) return collectInquiry(ctx, fd, scratch);
  if (phase == PHASE_TUR) return collectTur(ctx, fd, scratch);
  return result(PATH_DOWN, MSGID_DOWN);
}

function inquiryFailed(errno: i32): i32 {
  return errno == ERRNO_NOTTY ? result(PATH_WILD, MSGID_UNSUPPORTED) : result(PATH_DOWN, MSGID_DOWN);
}

function collectInquiry(ctx: usize, fd: i32, scratch: usize): i32 {
  const reply = scratch + S_REPLY;
  const errno = sgFinish(fd, reply, SG_HEADER_SIZE + INQUIRY_BYTES, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  if (errno != ERRNO_SUCCESS) return inquiryFailed(errno);
  // hp_sw.c sends its INQUIRY once.
  switch (vpdVerdict(reply, 1, true)) {
    case VPD_OK:
      return submitTur(ctx, fd, scratch);
    case VPD_UNSUPPORTED:
      return result(PATH_WILD, MSGID_UNSUPPORTED);
    default:
      return result(PATH_DOWN, MSGID_DOWN);
  }
}

function submitTur(ctx: usize, fd: i32, scratch: usize): i32 {
  const req = scratch + S_REQ;
  const len = sgBegin(req, ctx + CTX_PACK, TUR_CDB_LEN, 0);
  sgCdbInit(req, TEST_UNIT_READY, TUR_CDB_LEN);
  if (sgSubmit(fd, req, len, scratch + S_IO) != ERRNO_SUCCESS) return result(PATH_GHOST, MSGID_GHOST);
  store<u32>(ctx, PHASE_TUR, CTX_PHASE);
  return collectTur(ctx, fd, scratch);
}

function collectTur(ctx: usize, fd: i32, scratch: usize): i32 {
  const reply = scratch + S_REPLY;
  const errno = sgFinish(fd, reply, SG_HEADER_SIZE, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  return errno == ERRNO_SUCCESS && sgGood(reply) ? result(PATH_UP, MSGID_UP) : result(PATH_GHOST, MSGID_GHOST);
}
