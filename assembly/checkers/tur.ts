// tur: TEST UNIT READY path checker, libmultipath tur.c semantics over the sg v2 frame protocol,
// resumable (plugin ABI v2): the TUR is submitted, and when the non-blocking fd has no reply yet the
// check returns waitOn(fd) and is continued by pc_pending. Everything it needs to continue (phase,
// outstanding pack id, attempts left) is in ctx, so any host thread may continue it.
//
// One check, as multipath-tools 0.15.0 tur.c decides: issue TUR, up to TUR_ATTEMPTS (5) times in all
// while the device answers with a transient condition (a host byte outside the "final" set, or UNIT
// ATTENTION), from one budget.
//   write/read errno, driver `result`, pack_id mismatch -> down  "reports path is down"
//   errno ENOTTY (fd is not a SCSI generic device)      -> wild  "doesn't support this device"
//   ETIMEDOUT (a blocking host gave up on the device)   -> timeout "timed out"
//   RESERVATION CONFLICT                                 -> up    (SCSI-3 arrays answer TUR so)
//   status, host and driver bytes all 0                  -> up
//   NOT READY 04/0B (target port in standby)             -> ghost
//   NOT READY 04/0A (asymmetric access state transition) -> pending "reports path is transitioning"
//   ILLEGAL REQUEST 25/00 (logical unit not supported)   -> disconnected "no access to this device"
//   anything else                                        -> down
//
// ctx (CTX_SIZE bytes, per path):   0 u32 magic 'TUR2' (set by pc_init, cleared by pc_free)
//                                   4 u32 checks started   8 u32 TUR commands issued (last pack id)
//                                  12 i32 last result     16 u32 phase (0 idle, 1 waiting for a reply)
//                                  20 i32 attempts left
// scratch (per host thread, per call): 0 sg iovec + byte count (SG_IO_SCRATCH)
//                                  16 request frame: sg_header + 6-byte CDB
//                                  80 reply frame: sg_header (no data-in)

import {
  ASC_ALUA_STANDBY,
  ASC_ALUA_STATE_TRANSITION,
  DID_ABORT,
  DID_BAD_TARGET,
  DID_NO_CONNECT,
  DID_OK,
  DID_TRANSPORT_FAILFAST,
  ERRNO_AGAIN,
  ERRNO_NOTTY,
  ERRNO_SUCCESS,
  ERRNO_TIMEDOUT,
  ASC_LUN_NOT_SUPPORTED,
  ILLEGAL_REQUEST,
  MSGID_DISCONNECTED,
  MSGID_TIMEOUT,
  PATH_DISCONNECTED,
  PATH_TIMEOUT,
  FIRST_MSGID,
  MSGID_DOWN,
  MSGID_GHOST,
  MSGID_NO_FD,
  MSGID_UNSUPPORTED,
  MSGID_UP,
  NOT_READY,
  PATH_DOWN,
  PATH_GHOST,
  PATH_PENDING,
  PATH_UP,
  PATH_WILD,
  SAM_STAT_RESERVATION_CONFLICT,
  SG_HEADER_SIZE,
  SG_SENSE_SIZE,
  TEST_UNIT_READY,
  TUR_CDB_LEN,
  UNIT_ATTENTION,
  maskedStatus,
  result,
  senseAscAscq,
  senseFromReply,
  senseKey,
  sgCdbInit,
  sgDriverStatus,
  sgHostStatus,
  sgCollect,
  sgSubmit,
  sgPackId,
  sgRequest,
  sgResult,
  sgSense,
  sgTargetStatus,
  strBytes,
  strPtr,
  waitOn,
} from "../sdk";

export { pc_abi_version } from "../sdk/abi";

const NAME = "tur";

const TUR_ATTEMPTS: i32 = 5;

const CTX_SIZE: i32 = 24;
const CTX_MAGIC: i32 = 0;
const CTX_CHECKS: i32 = 4;
const CTX_COMMANDS: i32 = 8;
const CTX_LAST: i32 = 12;
const CTX_PHASE: i32 = 16;
const CTX_ATTEMPTS: i32 = 20;
const MAGIC: u32 = 0x32525554; // "TUR2" little endian
const PHASE_IDLE: u32 = 0;
const PHASE_WAITING: u32 = 1;

const SCRATCH_SIZE: i32 = 256;
const S_IO: usize = 0;
const S_REQ: usize = 16;
const S_REPLY: usize = 80;

const MSG_TRANSITIONING: i32 = FIRST_MSGID + 0;
const MSG_COUNT: i32 = 1;

function msgText(id: i32): string {
  switch (id) {
    case MSG_TRANSITIONING: return "reports path is transitioning";
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

/** A new check: whatever an abandoned one left in ctx is void. */
export function pc_check(ctx: usize, fd: i32, scratch: usize): i32 {
  store<u32>(ctx, load<u32>(ctx, CTX_CHECKS) + 1, CTX_CHECKS);
  store<i32>(ctx, TUR_ATTEMPTS, CTX_ATTEMPTS);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  return finish(ctx, fd < 0 ? result(PATH_WILD, MSGID_NO_FD) : submitTur(ctx, fd, scratch));
}

/** The reply the check waits for is readable now. */
export function pc_pending(ctx: usize, fd: i32, scratch: usize): i32 {
  if (load<u32>(ctx, CTX_PHASE) != PHASE_WAITING) return finish(ctx, result(PATH_DOWN, MSGID_DOWN));
  return finish(ctx, collectTur(ctx, fd, scratch));
}

/** Remember a final result; a wait leaves the phase as submitTur set it. */
function finish(ctx: usize, r: i32): i32 {
  if (r >= 0) {
    store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
    store<i32>(ctx, r, CTX_LAST);
  }
  return r;
}

/** Host bytes after which multipathd does not retry: the answer is what it is. */
function hostStatusFinal(host: i32): bool {
  return (
    host == DID_OK ||
    host == DID_NO_CONNECT ||
    host == DID_BAD_TARGET ||
    host == DID_ABORT ||
    host == DID_TRANSPORT_FAILFAST
  );
}

function submitTur(ctx: usize, fd: i32, scratch: usize): i32 {
  const req = scratch + S_REQ;
  const packId = <i32>load<u32>(ctx, CTX_COMMANDS) + 1;
  store<u32>(ctx, <u32>packId, CTX_COMMANDS);
  const len = sgRequest(req, TUR_CDB_LEN, 0, SG_HEADER_SIZE, packId, false);
  sgCdbInit(req, TEST_UNIT_READY, TUR_CDB_LEN);
  const errno = sgSubmit(fd, req, len, scratch + S_IO);
  if (errno == ERRNO_NOTTY) return result(PATH_WILD, MSGID_UNSUPPORTED);
  if (errno != ERRNO_SUCCESS) return result(PATH_DOWN, MSGID_DOWN);
  store<u32>(ctx, PHASE_WAITING, CTX_PHASE);
  return collectTur(ctx, fd, scratch);
}

/** Read the TUR's reply and decide, or retry a transient answer while attempts are left. */
function collectTur(ctx: usize, fd: i32, scratch: usize): i32 {
  const reply = scratch + S_REPLY;
  memory.fill(reply, 0, <usize>SG_HEADER_SIZE);
  const errno = sgCollect(fd, reply, SG_HEADER_SIZE, scratch + S_IO);
  if (errno == ERRNO_AGAIN) return waitOn(fd);
  store<u32>(ctx, PHASE_IDLE, CTX_PHASE);
  if (errno == ERRNO_TIMEDOUT) return result(PATH_TIMEOUT, MSGID_TIMEOUT);
  if (errno != ERRNO_SUCCESS) return result(PATH_DOWN, MSGID_DOWN);
  if (sgResult(reply) != 0 || sgPackId(reply) != <i32>load<u32>(ctx, CTX_COMMANDS)) return result(PATH_DOWN, MSGID_DOWN);

  const status = sgTargetStatus(reply);
  if (status == maskedStatus(SAM_STAT_RESERVATION_CONFLICT)) return result(PATH_UP, MSGID_UP);
  const host = sgHostStatus(reply);
  const driver = sgDriverStatus(reply);
  if ((status | host | driver) == 0) return result(PATH_UP, MSGID_UP);

  // Check condition: a driver/transport error is retried, then the sense data decides.
  const attempts = load<i32>(ctx, CTX_ATTEMPTS);
  if (!hostStatusFinal(host) && attempts > 1) return retry(ctx, fd, scratch, attempts);
  const sense = senseFromReply(sgSense(reply), SG_SENSE_SIZE, driver);
  const key = senseKey(sense);
  if (key == UNIT_ATTENTION) {
    if (attempts > 1) return retry(ctx, fd, scratch, attempts);
  } else if (key == NOT_READY) {
    const pair = senseAscAscq(sense);
    if (pair == ASC_ALUA_STANDBY) return result(PATH_GHOST, MSGID_GHOST);
    if (pair == ASC_ALUA_STATE_TRANSITION) return result(PATH_PENDING, MSG_TRANSITIONING);
  } else if (key == ILLEGAL_REQUEST && senseAscAscq(sense) == ASC_LUN_NOT_SUPPORTED) {
    return result(PATH_DISCONNECTED, MSGID_DISCONNECTED);
  }
  return result(PATH_DOWN, MSGID_DOWN);
}

function retry(ctx: usize, fd: i32, scratch: usize, attempts: i32): i32 {
  store<i32>(ctx, attempts - 1, CTX_ATTEMPTS);
  return submitTur(ctx, fd, scratch);
}
