import type { Deadline } from '../backends/deadline.js';
import { isFailure, type Device, type ScsiCommand } from '../backends/device.js';
import { Errno } from './errno.js';
import { DRIVER_SENSE, SG_HEADER_SIZE, SG_SENSE_SIZE, SgOffset, cdbLength, packStatusWord, unpackStatusWord } from './sg-header.js';

/** Longest request or reply a frame may carry: a header, a 16-byte CDB and 64 KiB of data. */
export const SG_MAX_FRAME = SG_HEADER_SIZE + 16 + 65536;

/** Outcome of a frame read: an errno, or how many reply bytes replyBytes() holds. */
export type ReadResult = { errno: number; length: number };

/** Frame buffers start this small (a TUR needs 52 bytes) and grow to the largest frame seen. */
const INITIAL_FRAME = 256;

/**
 * The sg v2 protocol on one device fd: a write submits a command, the next read waits for and
 * returns its reply. Buffers belong to the fd and only grow, so a steady check does not allocate.
 */
export class SgChannel {
  private request = new Uint8Array(INITIAL_FRAME);
  private reply = new Uint8Array(INITIAL_FRAME);
  private requestView = new DataView(this.request.buffer);
  private replyView = new DataView(this.reply.buffer);
  private pending: ScsiCommand | null = null;
  private pendingReplyLen = 0;
  private pendingPackId = 0;

  constructor(readonly device: Device) {}

  /** A buffer for a request frame of `length` bytes (<= SG_MAX_FRAME); fill it, then submit(). */
  requestBuffer(length: number): Uint8Array {
    if (this.request.length < length) {
      this.request = new Uint8Array(length);
      this.requestView = new DataView(this.request.buffer);
    }
    return this.request;
  }

  /** The reply frame built by the last successful complete(). */
  replyBytes(length: number): Uint8Array {
    return this.reply.subarray(0, length);
  }

  /** A command is written and its reply not yet read: another write must wait (EBUSY). */
  get busy(): boolean {
    return this.pending !== null;
  }

  /** Take a request frame of `length` bytes already written into requestBuffer(); returns a WASI errno. */
  submit(length: number): number {
    if (this.pending !== null) return Errno.BUSY;
    if (length < SG_HEADER_SIZE + 1 || length > this.request.length) return Errno.INVAL;
    const replyLen = this.requestView.getInt32(SgOffset.REPLY_LEN, true);
    if (replyLen < SG_HEADER_SIZE || replyLen > SG_MAX_FRAME) return Errno.INVAL;
    const flags = this.requestView.getUint32(SgOffset.FLAGS, true);
    const cdbLen = cdbLength(this.request[SG_HEADER_SIZE]!, unpackStatusWord(flags).twelveByte);
    if (length < SG_HEADER_SIZE + cdbLen) return Errno.INVAL;
    this.pending = {
      cdb: this.request.subarray(SG_HEADER_SIZE, SG_HEADER_SIZE + cdbLen),
      dataOut: this.request.subarray(SG_HEADER_SIZE + cdbLen, length),
      dataInLength: replyLen - SG_HEADER_SIZE,
    };
    this.pendingReplyLen = replyLen;
    this.pendingPackId = this.requestView.getInt32(SgOffset.PACK_ID, true);
    return Errno.SUCCESS;
  }

  /** Run the pending command on the device (blocking up to the deadline) and build the reply frame. */
  complete(capacity: number, deadline: Deadline): ReadResult {
    const command = this.pending;
    if (command === null) return { errno: Errno.AGAIN, length: 0 };
    if (capacity < SG_HEADER_SIZE) return { errno: Errno.INVAL, length: 0 };
    this.pending = null;
    const outcome = this.device.scsi(command, deadline);
    if (isFailure(outcome)) return { errno: outcome.errno, length: 0 };

    const dataLen = Math.min(outcome.dataIn.length, command.dataInLength);
    if (this.reply.length < SG_HEADER_SIZE + dataLen) {
      this.reply = new Uint8Array(SG_HEADER_SIZE + dataLen);
      this.replyView = new DataView(this.reply.buffer);
    }
    const senseLen = Math.min(outcome.sense.length, SG_SENSE_SIZE);
    const driver = outcome.driverStatus | (senseLen > 0 ? DRIVER_SENSE : 0);
    const v = this.replyView;
    this.reply.fill(0, 0, SG_HEADER_SIZE);
    // Linux's sg v2 reply carries reply_len in pack_len too ("old, strange behaviour" in sg.c).
    v.setInt32(SgOffset.PACK_LEN, this.pendingReplyLen, true);
    v.setInt32(SgOffset.REPLY_LEN, this.pendingReplyLen, true);
    v.setInt32(SgOffset.PACK_ID, this.pendingPackId, true);
    v.setInt32(SgOffset.RESULT, 0, true);
    v.setUint32(SgOffset.FLAGS, packStatusWord(outcome.status, outcome.hostStatus, driver), true);
    this.reply.set(outcome.sense.subarray(0, senseLen), SgOffset.SENSE);
    this.reply.set(outcome.dataIn.subarray(0, dataLen), SG_HEADER_SIZE);
    return { errno: Errno.SUCCESS, length: SG_HEADER_SIZE + dataLen };
  }
}
