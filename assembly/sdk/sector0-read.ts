// libsg.c's sg_read (multipath-tools 0.15.0), the probe readsector0 and emc_clariion share: READ(10) of
// LBA 0, transfer length 1, with 4096 bytes of data-in room, sent again after a UNIT ATTENTION while
// attempts are left (3 in all).
//
// libsg.c reads "4096 bytes" as 4096 / st_blksize blocks of the sg node (st_blksize is 4096 on Linux:
// one block) into a 4096-byte buffer; the transfer length is in the LUN's logical blocks, so one.

import { ERRNO_AGAIN, ERRNO_NOMEM, ERRNO_SUCCESS } from "./wasi";
import { READ_10, READ_10_CDB_LEN, UNIT_ATTENTION } from "./scsi";
import { SG_HEADER_SIZE, SG_SENSE_SIZE, sgCdb, sgCdbInit, sgDriverStatus, sgSense, sgSubmit } from "./sg";
import { senseFromReply, senseKey } from "./sense";
import { sgBegin, sgFinish, sgGood } from "./exchange";

export const SECTOR0_ATTEMPTS: i32 = 3;
export const SECTOR0_BYTES: i32 = 4096;

/** What the probe came to: up; down on the device's answer (its sense is in the reply); down on an errno; or, within a step, send it again / wait for the reply. */
export const SECTOR0_UP: i32 = 0;
export const SECTOR0_DOWN: i32 = 1;
export const SECTOR0_FAILED: i32 = 2;
export const SECTOR0_RETRY: i32 = 3;
export const SECTOR0_WAIT: i32 = 4;

/** The READ(10) request at `req`; returns its length for sgSubmit. */
export function sector0Request(req: usize, packCell: usize): i32 {
  const len = sgBegin(req, packCell, READ_10_CDB_LEN, SECTOR0_BYTES);
  sgCdbInit(req, READ_10, READ_10_CDB_LEN);
  store<u8>(sgCdb(req), 1, 8); // transfer length (bytes 7-8) 1; LBA 0
  return len;
}

/**
 * The verdict on a READ whose submit or collect ended with `errno` (the reply at `reply` when 0), with
 * `attempts` left counting this one. ENOMEM is up, as libsg.c has it for SG_IO.
 */
export function sector0Verdict(errno: i32, reply: usize, attempts: i32): i32 {
  if (errno == ERRNO_NOMEM) return SECTOR0_UP;
  if (errno != ERRNO_SUCCESS) return SECTOR0_FAILED;
  if (sgGood(reply)) return SECTOR0_UP;
  const key = senseKey(senseFromReply(sgSense(reply), SG_SENSE_SIZE, sgDriverStatus(reply)));
  return key == UNIT_ATTENTION && attempts > 1 ? SECTOR0_RETRY : SECTOR0_DOWN;
}

/**
 * Send the probe's READ (the attempts left, an i32 at `attemptsCell`, set by the caller for a new
 * probe) and collect it if answered: a verdict, or SECTOR0_WAIT (the caller parks, then calls
 * sector0Collect). `io`, `req` and `reply` are scratch for the iovec, the request and the reply
 * (header + SECTOR0_BYTES); the pack id is the u32 at `packCell`.
 */
export function sector0Send(fd: i32, io: usize, req: usize, reply: usize, packCell: usize, attemptsCell: usize): i32 {
  const errno = sgSubmit(fd, req, sector0Request(req, packCell), io);
  if (errno != ERRNO_SUCCESS) return sector0Verdict(errno, reply, 1);
  return sector0Collect(fd, io, req, reply, packCell, attemptsCell);
}

/** Collect the probe's READ: a verdict (sending it again after a unit attention), or SECTOR0_WAIT. */
export function sector0Collect(fd: i32, io: usize, req: usize, reply: usize, packCell: usize, attemptsCell: usize): i32 {
  const errno = sgFinish(fd, reply, SG_HEADER_SIZE + SECTOR0_BYTES, io, packCell);
  if (errno == ERRNO_AGAIN) return SECTOR0_WAIT;
  const attempts = load<i32>(attemptsCell);
  const verdict = sector0Verdict(errno, reply, attempts);
  if (verdict != SECTOR0_RETRY) return verdict;
  store<i32>(attemptsCell, attempts - 1);
  return sector0Send(fd, io, req, reply, packCell, attemptsCell);
}
