// Linux sg v2 frames (`struct sg_header`, <scsi/sg.h>) over WASI fd_write/fd_read
// (docs/ABI.md, "SCSI through WASI").
//
// Every buffer is caller-provided (ctx or scratch): nothing here allocates.
//
//   offset size field
//        0    4 pack_len      out; we write the request length, the driver ignores it
//        4    4 reply_len     in: max reply length including this header
//        8    4 pack_id       in/out: echoed in the reply
//       12    4 result        out: 0 or a positive Linux errno
//       16    4 bit 0 twelve_byte, bits 1..5 target_status (SAM status >> 1),
//               bits 6..13 host_status (DID_*), bits 14..21 driver_status (DRIVER_*)
//       20   16 sense_buffer  out: first 16 bytes of sense data

import { fd_read, fd_write, ERRNO_IO, ERRNO_SUCCESS, IOVEC_SIZE } from "./wasi";

export const SG_HEADER_SIZE: i32 = 36;
export const SG_SENSE_OFFSET: i32 = 20;
export const SG_SENSE_SIZE: i32 = 16;
export const SG_MAX_CDB_LEN: i32 = 16;
/** Scratch bytes sgSubmit and sgCollect need for its iovec and byte count (8-byte iovec + u32, rounded up). */
export const SG_IO_SCRATCH: i32 = 16;

/**
 * CDB length the Linux sg driver (sg_write) takes for `opcode`: COMMAND_SIZE by group
 * (opcode >> 5 -> 6, 10, 10, 12, 16, 12, 10, 10), except 12 for vendor opcodes (>= 0xc0) when
 * twelve_byte is set. A switch rather than a table, so it adds no static data.
 */
export function sgCdbLen(opcode: i32, twelveByte: bool): i32 {
  const group = (opcode >> 5) & 7;
  if (group >= 6 && twelveByte) return 12;
  switch (group) {
    case 0: return 6;
    case 3:
    case 5: return 12;
    case 4: return 16;
    default: return 10; // 1, 2, 6, 7
  }
}

/**
 * Writes a request header at `req` for a CDB of `cdbLen` bytes (which the caller stores at
 * sgCdb(req)) followed by `dataOutLen` bytes, asking for a reply of at most `replyLen` bytes
 * (header included). Returns the total request length to pass to sgSubmit.
 */
export function sgRequest(
  req: usize,
  cdbLen: i32,
  dataOutLen: i32,
  replyLen: i32,
  packId: i32,
  twelveByte: bool,
): i32 {
  const total = SG_HEADER_SIZE + cdbLen + dataOutLen;
  memory.fill(req, 0, <usize>SG_HEADER_SIZE);
  store<i32>(req, total, 0); // pack_len
  store<i32>(req, replyLen, 4); // reply_len
  store<i32>(req, packId, 8); // pack_id
  store<u32>(req, twelveByte ? 1 : 0, 16); // twelve_byte; the status bits are outputs
  return total;
}

/** Where the CDB of the request at `req` goes. */
// @ts-ignore: decorator
@inline
export function sgCdb(req: usize): usize {
  return req + <usize>SG_HEADER_SIZE;
}

/** Zeroes the CDB of `len` bytes and sets its opcode. Other CDB bytes are the caller's. */
export function sgCdbInit(req: usize, opcode: i32, len: i32): void {
  const cdb = sgCdb(req);
  memory.fill(cdb, 0, <usize>len);
  store<u8>(cdb, <u8>opcode);
}

/**
 * Submits one command: fd_write of the request frame (`reqLen` bytes at `req`). `io` is SG_IO_SCRATCH
 * bytes of 4-byte-aligned scratch for the iovec and byte count. Returns the WASI errno of the write,
 * ERRNO_IO for a short write, or 0. On a non-blocking device fd this returns at once; collect the
 * reply with sgCollect.
 */
export function sgSubmit(fd: i32, req: usize, reqLen: i32, io: usize): i32 {
  const count = io + <usize>IOVEC_SIZE;
  store<u32>(io, <u32>req, 0);
  store<u32>(io, <u32>reqLen, 4);
  store<u32>(count, 0);
  const errno = fd_write(fd, io, 1, count);
  if (errno != ERRNO_SUCCESS) return errno;
  if (load<u32>(count) != <u32>reqLen) return ERRNO_IO;
  return ERRNO_SUCCESS;
}

/**
 * Collects the reply of the submitted command: fd_read of the reply frame into `reply` (`replyCap`
 * bytes, at least SG_HEADER_SIZE). Returns ERRNO_AGAIN while the device has not answered (the
 * caller returns waitOn(fd) and collects again when resumed), the errno of a failed read, ERRNO_IO for
 * a reply shorter than the header, or 0; then sgReplyBytes(io) is the number of reply bytes read.
 */
export function sgCollect(fd: i32, reply: usize, replyCap: i32, io: usize): i32 {
  const count = io + <usize>IOVEC_SIZE;
  store<u32>(io, <u32>reply, 0);
  store<u32>(io, <u32>replyCap, 4);
  store<u32>(count, 0);
  const errno = fd_read(fd, io, 1, count);
  if (errno != ERRNO_SUCCESS) return errno;
  if (load<u32>(count) < <u32>SG_HEADER_SIZE) return ERRNO_IO;
  return ERRNO_SUCCESS;
}

/** Reply bytes read by the last successful sgCollect that used `io`. */
// @ts-ignore: decorator
@inline
export function sgReplyBytes(io: usize): i32 {
  return load<i32>(io, IOVEC_SIZE);
}

/** Reply accessors. */
// @ts-ignore: decorator
@inline
export function sgPackId(reply: usize): i32 {
  return load<i32>(reply, 8);
}

/** 0, or the positive Linux errno with which the driver refused the command. */
// @ts-ignore: decorator
@inline
export function sgResult(reply: usize): i32 {
  return load<i32>(reply, 12);
}

/** target_status: the SAM status shifted right by one (GOOD 0, CHECK CONDITION 1, ...). */
// @ts-ignore: decorator
@inline
export function sgTargetStatus(reply: usize): i32 {
  return (load<i32>(reply, 16) >>> 1) & 0x1f;
}

/** host_status: a Linux DID_* value. */
// @ts-ignore: decorator
@inline
export function sgHostStatus(reply: usize): i32 {
  return (load<i32>(reply, 16) >>> 6) & 0xff;
}

/** driver_status: a Linux DRIVER_* value (DRIVER_SENSE when sense data is present). */
// @ts-ignore: decorator
@inline
export function sgDriverStatus(reply: usize): i32 {
  return (load<i32>(reply, 16) >>> 14) & 0xff;
}

/** The 16-byte sense buffer of the reply. */
// @ts-ignore: decorator
@inline
export function sgSense(reply: usize): usize {
  return reply + <usize>SG_SENSE_OFFSET;
}

/** Data-in that follows the reply header. */
// @ts-ignore: decorator
@inline
export function sgData(reply: usize): usize {
  return reply + <usize>SG_HEADER_SIZE;
}
