// rdac: libmultipath rdac.c (0.15.0), for LSI/Engenio/NetApp E-Series RDAC arrays, over the sg v2 frame
// protocol, resumable.
//
// Init (rdac.c libcheck_async_init): MODE SENSE(10) of the control mode page (0x0A, DBD, current
// values, 20 bytes); if TAS (byte 13 bit 6) is clear, MODE SENSE of its changeable values, and if TAS is
// changeable, MODE SELECT(10) (SP) of the current page with TAS set. Whatever of that fails, init
// succeeds, as in rdac.c (only a failed transfer stops it; a SCSI error reads as a zeroed page). It runs
// at the start of the path's first check, not in pc_init: a device that hangs then costs a check, never
// the path (pc_init does no I/O); a check abandoned during init starts it over next time.
//
// A check: INQUIRY VPD page 0xC9 (volume access control, 48 bytes), sent again up to 5 times in all after
// a transport error (host byte DID_BUS_BUSY, DID_ERROR, DID_SOFT_ERROR or DID_TRANSPORT_DISRUPTED):
//   errno ENOTTY, or sense key ILLEGAL REQUEST                -> wild "doesn't support this device"
//   any other errno, driver `result`, pack_id mismatch          -> down "reports path is down: inquiry failed"
//     (rdac.c goes on with a zeroed page after a failed SG_IO other than ENOTTY, and so says ghost:
//      a bug; here it is the inquiry failure it is)
//   CHECK CONDITION / COMMAND TERMINATED / DRIVER_SENSE, sense key not RECOVERED ERROR,
//     or any other non-GOOD answer                             -> down "...: inquiry failed"
//   then, on the page (byte 0 PQ/PDT, byte 8 AVT/CVP bits, byte 10/12 this/the other controller's
//   asymmetric access state, byte 11 its vendor-specific unavailability reason):
//   LUN not connected (PQ 1, or any of bits 0-6 of byte 0)     -> down "...: lun not connected"
//   TPGDE (byte 8 bit 4) and this controller unavailable (3)   -> down with the reason of byte 11
//   TPGDE and this controller transitioning (0xF), the other not -> down "...: ctlr is in startup sequence"
//   owner (byte 8 bit 0) or I/O shipping (bit 5)               -> up
//   otherwise                                                   -> ghost "reports path is ghost"
//
// ctx:     0 u32 magic 'RDAC'  4 u32 phase  8 u32 pack id  12 i32 attempts left  16 u32 init done
//          20 the current control mode page (20 bytes, kept between the init's MODE SENSE and MODE SELECT)
// scratch: 0 sg iovec + count   16 request (header + 10-byte CDB + 20 bytes data-out)  96 reply (header + 48)

import {
  ERRNO_AGAIN,
  ERRNO_NOTTY,
  ERRNO_SUCCESS,
  FIRST_MSGID,
  INQUIRY,
  MODE_SELECT_10,
  MODE_SENSE_10,
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
  VPD_FAILED,
  VPD_RETRY,
  VPD_UNSUPPORTED,
  result,
  sgBegin,
  sgCdb,
  sgCdbInit,
  sgCopyDataIn,
  sgFinish,
  sgSubmit,
  strBytes,
  strPtr,
  vpdRequest,
  vpdVerdict,
  waitOn,
} from "../sdk";

export { pc_abi_version } from "../sdk/abi";

const NAME = "rdac";
const ATTEMPTS: i32 = 5;
const VPD_VOLUME_ACCESS: u8 = 0xc9;
const INQUIRY_BYTES: i32 = 48;
const CONTROL_PAGE: u8 = 0x0a;
const PAGE_BYTES: i32 = 20;
const TAS_BYTE: i32 = 13;
const TAS_BIT: u8 = 0x40;
const MODE_CDB_LEN: i32 = 10;

const CTX_MAGIC: i32 = 0;
const CTX_PHASE: i32 = 4;
const CTX_PACK: i32 = 8;
const CTX_ATTEMPTS: i32 = 12;
const CTX_INIT_DONE: i32 = 16;
const CTX_PAGE: i32 = 20;
const CTX_SIZE: i32 = CTX_PAGE + PAGE_BYTES;
const MAGIC: u32 = 0x43414452; // "RDAC"
const PHASE_IDLE: u32 = 0;
const PHASE_SENSE_CURRENT: u32 = 1;
const PHASE_SENSE_CHANGEABLE: u32 = 2;
const PHASE_SELECT: u32 = 3;
const PHASE_INQUIRY: u32 = 4;

const S_IO: usize = 0;
const S_REQ: usize = 16;
const S_REPLY: usize = 96;
const S_DATA: usize = S_REPLY + <usize>SG_HEADER_SIZE + <usize>INQUIRY_BYTES;
const SCRATCH_SIZE: i32 = <i32>S_DATA + INQUIRY_BYTES;

// Asymmetric access states and the reasons an unavailable controller gives (byte 11).
const AAS_UNAVAILABLE: u8 = 0x3;
const AAS_TRANSITIONING: u8 = 0xf;

const MSG_NOT_CONN: i32 = FIRST_MSGID + 0;
const MSG_IN_STARTUP: i32 = FIRST_MSGID + 1;
const MSG_NON_RESPONSIVE: i32 = FIRST_MSGID + 2;
const MSG_IN_RESET: i32 = FIRST_MSGID + 3;
const MSG_FW_DOWNLOADING: i32 = FIRST_MSGID + 4;
const MSG_QUIESCED: i32 = FIRST_MSGID + 5;
const MSG_SERVICE_MODE: i32 = FIRST_MSGID + 6;
const MSG_UNAVAILABLE: i32 = FIRST_MSGID + 7;
const MSG_INQUIRY_FAILED: i32 = FIRST_MSGID + 8;
const MSG_COUNT: i32 = 9;

function msgText(id: i32): string {
  switch (id) {
    case MSG_NOT_CONN: return "reports path is down: lun not connected";
    case MSG_IN_STARTUP: return "reports path is down: ctlr is in startup sequence";
    case MSG_NON_RESPONSIVE: return "reports path is down: non-responsive to queries";
    case MSG_IN_RESET: return "reports path is down: ctlr held in reset";
    case MSG_FW_DOWNLOADING: return "reports path is down: ctlr firmware downloading";
    case MSG_QUIESCED: return "reports path is down: ctlr quiesced by admin request";
    case MSG_SERVICE_MODE: return "reports path is down: ctlr is in service mode";
    case MSG_UNAVAILABLE: return "reports path is down: ctlr is unavailable";
    case MSG_INQUIRY_FAILED: return "reports path is down: inquiry failed";
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
  if (load<u32>(ctx, CTX_INIT_DONE) == 0) return modeSense(ctx, fd, scratch, PHASE_SENSE_CURRENT);
  return submitInquiry(ctx, fd, scratch);
}

export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  const phase = load<u32>(ctx, CTX_PHASE);
  if (phase == PHASE_INQUIRY) return collectInquiry(ctx, fd, scratch);
  if (phase == PHASE_SENSE_CURRENT || phase == PHASE_SENSE_CHANGEABLE || phase == PHASE_SELECT) return collectInit(ctx, fd, scratch, phase);
  return result(PATH_DOWN, MSGID_DOWN);
}

// ------------------------------------------------------------------ init (first check): set TAS in the control mode page

/** MODE SENSE(10) of the control mode page: current values (PC 0) or changeable ones (PC 1). */
function modeSense(ctx: usize, fd: i32, scratch: usize, phase: u32): i32 {
  const req = scratch + S_REQ;
  const len = sgBegin(req, ctx + CTX_PACK, MODE_CDB_LEN, PAGE_BYTES);
  sgCdbInit(req, MODE_SENSE_10, MODE_CDB_LEN);
  const cdb = sgCdb(req);
  store<u8>(cdb, 0x08, 1); // DBD: no block descriptors
  store<u8>(cdb, CONTROL_PAGE | (phase == PHASE_SENSE_CHANGEABLE ? 0x40 : 0), 2);
  store<u8>(cdb, <u8>PAGE_BYTES, 8);
  return sendInit(ctx, fd, scratch, req, len, phase);
}

/** MODE SELECT(10) (SP) of the current page kept in ctx, with TAS set. */
function modeSelect(ctx: usize, fd: i32, scratch: usize): i32 {
  const page = ctx + CTX_PAGE;
  store<u8>(page, CONTROL_PAGE, 8);
  store<u8>(page, 0x0a, 9);
  store<u8>(page, load<u8>(page, TAS_BYTE) | TAS_BIT, TAS_BYTE);
  const req = scratch + S_REQ;
  const len = sgBegin(req, ctx + CTX_PACK, MODE_CDB_LEN, 0, PAGE_BYTES);
  sgCdbInit(req, MODE_SELECT_10, MODE_CDB_LEN);
  const cdb = sgCdb(req);
  store<u8>(cdb, 0x01, 1); // SP, as rdac.c sends it (PF clear)
  store<u8>(cdb, <u8>PAGE_BYTES, 8);
  memory.copy(cdb + <usize>MODE_CDB_LEN, page, <usize>PAGE_BYTES);
  return sendInit(ctx, fd, scratch, req, len, PHASE_SELECT);
}

function sendInit(ctx: usize, fd: i32, scratch: usize, req: usize, len: i32, phase: u32): i32 {
  if (sgSubmit(fd, req, len, scratch + S_IO) != ERRNO_SUCCESS) return initDone(ctx, fd, scratch);
  store<u32>(ctx, phase, CTX_PHASE);
  return collectInit(ctx, fd, scratch, phase);
}

function collectInit(ctx: usize, fd: i32, scratch: usize, phase: u32): i32 {
  const reply = scratch + S_REPLY;
  const cap = SG_HEADER_SIZE + (phase == PHASE_SELECT ? 0 : PAGE_BYTES);
  const errno = sgFinish(fd, reply, cap, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  if (errno != ERRNO_SUCCESS || phase == PHASE_SELECT) return initDone(ctx, fd, scratch);
  if (phase == PHASE_SENSE_CURRENT) {
    sgCopyDataIn(reply, scratch + S_IO, ctx + CTX_PAGE, PAGE_BYTES);
    if ((load<u8>(ctx + CTX_PAGE, TAS_BYTE) & TAS_BIT) != 0) return initDone(ctx, fd, scratch);
    return modeSense(ctx, fd, scratch, PHASE_SENSE_CHANGEABLE);
  }
  const changeable = scratch + S_DATA;
  sgCopyDataIn(reply, scratch + S_IO, changeable, PAGE_BYTES);
  if ((load<u8>(changeable, TAS_BYTE) & TAS_BIT) == 0) return initDone(ctx, fd, scratch);
  return modeSelect(ctx, fd, scratch);
}

/** Init is over, however it went: the check goes on with its INQUIRY. */
function initDone(ctx: usize, fd: i32, scratch: usize): i32 {
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  store<u32>(ctx, 1, CTX_INIT_DONE);
  return submitInquiry(ctx, fd, scratch);
}

// ------------------------------------------------------------------ a check: INQUIRY VPD 0xC9

function submitInquiry(ctx: usize, fd: i32, scratch: usize): i32 {
  const req = scratch + S_REQ;
  const errno = sgSubmit(fd, req, vpdRequest(req, ctx + CTX_PACK, VPD_VOLUME_ACCESS, INQUIRY_BYTES), scratch + S_IO);
  if (errno != ERRNO_SUCCESS) return inquiryFailed(errno);
  store<u32>(ctx, PHASE_INQUIRY, CTX_PHASE);
  return collectInquiry(ctx, fd, scratch);
}

function inquiryFailed(errno: i32): i32 {
  return errno == ERRNO_NOTTY ? result(PATH_WILD, MSGID_UNSUPPORTED) : result(PATH_DOWN, MSG_INQUIRY_FAILED);
}

function collectInquiry(ctx: usize, fd: i32, scratch: usize): i32 {
  const reply = scratch + S_REPLY;
  const errno = sgFinish(fd, reply, SG_HEADER_SIZE + INQUIRY_BYTES, scratch + S_IO, ctx + CTX_PACK);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  if (errno != ERRNO_SUCCESS) return inquiryFailed(errno);
  const attempts = load<i32>(ctx, CTX_ATTEMPTS);
  switch (vpdVerdict(reply, attempts, true)) {
    case VPD_RETRY:
      store<i32>(ctx, attempts - 1, CTX_ATTEMPTS);
      return submitInquiry(ctx, fd, scratch);
    case VPD_UNSUPPORTED:
      return result(PATH_WILD, MSGID_UNSUPPORTED);
    case VPD_FAILED:
      return result(PATH_DOWN, MSG_INQUIRY_FAILED);
  }
  const page = scratch + S_DATA;
  sgCopyDataIn(reply, scratch + S_IO, page, INQUIRY_BYTES);
  return decode(page);
}

/** rdac.c's verdict on the volume access control page. */
function decode(page: usize): i32 {
  const pqPdt = load<u8>(page, 0);
  const avtcvp = load<u8>(page, 8);
  const cur = load<u8>(page, 10) & 0x0f;
  const alt = load<u8>(page, 12) & 0x0f;
  if ((pqPdt & 0xe0) == 0x20 || (pqPdt & 0x7f) != 0) return result(PATH_DOWN, MSG_NOT_CONN);
  if ((avtcvp & 0x10) != 0) {
    if (cur == AAS_UNAVAILABLE) return result(PATH_DOWN, unavailableReason(load<u8>(page, 11)));
    if (cur == AAS_TRANSITIONING && alt != AAS_TRANSITIONING) return result(PATH_DOWN, MSG_IN_STARTUP);
  }
  if ((avtcvp & 0x01) != 0 || (avtcvp & 0x20) != 0) return result(PATH_UP, MSGID_UP);
  return result(PATH_GHOST, MSGID_GHOST);
}

function unavailableReason(vendorSpecific: u8): i32 {
  switch (vendorSpecific) {
    case 0x2: return MSG_NON_RESPONSIVE;
    case 0x3: return MSG_IN_RESET;
    case 0x4:
    case 0x5: return MSG_FW_DOWNLOADING;
    case 0x6: return MSG_QUIESCED;
    case 0x7: return MSG_SERVICE_MODE;
    default: return MSG_UNAVAILABLE;
  }
}
