// One SCSI command as a resumable step: begin (header + pack id), submit, collect and validate the
// reply. The pack id counter lives in the checker's ctx (any thread may collect the reply).

import { ERRNO_IO, ERRNO_SUCCESS } from "./wasi";
import { SG_HEADER_SIZE, sgCollect, sgDriverStatus, sgHostStatus, sgPackId, sgReplyBytes, sgRequest, sgResult, sgTargetStatus } from "./sg";

/**
 * Writes the request header at `req` for a CDB of `cdbLen` bytes (the caller fills it after sgCdbInit,
 * and `dataOut` bytes of data-out after it) with `dataIn` bytes of data-in room, under the next pack id
 * from the u32 at `packCell`. Returns the request length for sgSubmit.
 */
export function sgBegin(req: usize, packCell: usize, cdbLen: i32, dataIn: i32, dataOut: i32 = 0): i32 {
  const packId = load<u32>(packCell) + 1;
  store<u32>(packCell, packId);
  return sgRequest(req, cdbLen, dataOut, SG_HEADER_SIZE + dataIn, <i32>packId, false);
}

/**
 * The data-in of the reply just collected with `io`, copied to `to` (`len` bytes): what came back,
 * zero-filled past it, so a short answer decodes as zeros (as a zeroed buffer does after SG_IO).
 */
export function sgCopyDataIn(reply: usize, io: usize, to: usize, len: i32): void {
  const got = min(max(sgReplyBytes(io) - SG_HEADER_SIZE, 0), len);
  memory.copy(to, reply + <usize>SG_HEADER_SIZE, <usize>got);
  memory.fill(to + <usize>got, 0, <usize>(len - got));
}

/**
 * Reads the reply of the command begun with `packCell`'s current pack id into `reply` (`cap` bytes).
 * ERRNO_AGAIN while it is outstanding; the read's errno; ERRNO_IO when the driver refused the command
 * (`result`) or the reply is another command's; else 0 (sgReplyBytes(io) - SG_HEADER_SIZE bytes of data-in follow the header).
 */
export function sgFinish(fd: i32, reply: usize, cap: i32, io: usize, packCell: usize): i32 {
  memory.fill(reply, 0, <usize>SG_HEADER_SIZE);
  const errno = sgCollect(fd, reply, cap, io);
  if (errno != ERRNO_SUCCESS) return errno;
  if (sgResult(reply) != 0 || <u32>sgPackId(reply) != load<u32>(packCell)) return ERRNO_IO;
  return ERRNO_SUCCESS;
}

/** Status, host and driver bytes all zero: the command completed GOOD. */
export function sgGood(reply: usize): bool {
  return (sgTargetStatus(reply) | sgHostStatus(reply) | sgDriverStatus(reply)) == 0;
}
