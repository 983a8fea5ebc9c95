import type { Device } from '../backends/device.js';
import { IoKind, IoState, IO_DATA_MAX } from '../backends/io-slot.js';
import { Errno } from './errno.js';
import { DRIVER_SENSE, SG_HEADER_SIZE, SG_SENSE_SIZE, SgOffset, cdbLength, packStatusWord, unpackStatusWord } from './sg-header.js';

/** Longest request or reply a frame may carry: a header, a 16-byte CDB and 64 KiB of data. */
export const SG_MAX_FRAME = SG_HEADER_SIZE + 16 + IO_DATA_MAX;

/** Outcome of a frame read: an errno, or how many reply bytes replyBytes() holds. */
export type ReadResult = { errno: number; length: number };

/** Frame buffers start this small (a TUR needs 52 bytes) and grow to the largest frame seen. */
const INITIAL_FRAME = 256;

/**
 * The sg v2 protocol on a non-blocking device fd (docs/ABI.md "SCSI through WASI"): a write submits a
 * command into the device's shared command slot and returns; a read returns the reply once the device
 * has completed it, EAGAIN before. The slot, not this object, holds the command: another thread's fd
 * for the same device reads the reply. Buffers only grow, so a steady check does not allocate.
 */
export class SgChannel {
  private request = new Uint8Array(INITIAL_FRAME);
  private reply = new Uint8Array(INITIAL_FRAME);
  private requestView = new DataView(this.request.buffer);
  private replyView = new DataView(this.reply.buffer);

  /** Settable: the host's per-call fd retargets one channel at each call's device. */
  constructor(public device: Device) {}

  /** A buffer for a request frame of `length` bytes (<= SG_MAX_FRAME); fill it, then submit(). */
  requestBuffer(length: number): Uint8Array {
    if (this.request.length < length) {
      this.request = new Uint8Array(length);
      this.requestView = new DataView(this.request.buffer);
    }
    return this.request;
  }

  /** The reply frame built by the last successful read(). */
  replyBytes(length: number): Uint8Array {
    return this.reply.subarray(0, length);
  }

  /** A command is outstanding or its reply unread: another write must wait (EBUSY). */
  get busy(): boolean {
    return this.device.io.busy;
  }

  /**
   * Submit a request frame of `length` bytes already written into requestBuffer(), on behalf of pool
   * job `owner`; returns a WASI errno.
   */
  submit(length: number, owner: number): number {
    const io = this.device.io;
    if (io.busy) return Errno.BUSY;
    if (length < SG_HEADER_SIZE + 1 || length > this.request.length) return Errno.INVAL;
    const replyLen = this.requestView.getInt32(SgOffset.REPLY_LEN, true);
    if (replyLen < SG_HEADER_SIZE || replyLen - SG_HEADER_SIZE > IO_DATA_MAX) return Errno.INVAL;
    const flags = this.requestView.getUint32(SgOffset.FLAGS, true);
    const cdbLen = cdbLength(this.request[SG_HEADER_SIZE]!, unpackStatusWord(flags).twelveByte);
    if (length < SG_HEADER_SIZE + cdbLen || length - SG_HEADER_SIZE - cdbLen > IO_DATA_MAX) return Errno.INVAL;
    const won = io.submitScsi(
      this.request.subarray(SG_HEADER_SIZE, SG_HEADER_SIZE + cdbLen),
      this.request.subarray(SG_HEADER_SIZE + cdbLen, length),
      replyLen - SG_HEADER_SIZE,
      this.requestView.getInt32(SgOffset.PACK_ID, true),
      replyLen,
      owner,
    );
    // Another fd of the device got there first.
    if (!won) return Errno.BUSY;
    this.device.submitted();
    return Errno.SUCCESS;
  }

  /**
   * The reply of the outstanding command if it is there and was submitted for job `owner` (another
   * binding's reply is not this one's to take): EAGAIN while the device has not answered.
   */
  read(capacity: number, owner: number): ReadResult {
    const io = this.device.io;
    if (io.state !== IoState.COMPLETE || io.kind !== IoKind.SCSI || io.owner !== owner) return { errno: Errno.AGAIN, length: 0 };
    if (capacity < SG_HEADER_SIZE) return { errno: Errno.INVAL, length: 0 };
    const errno = io.errno;
    if (errno !== Errno.SUCCESS) {
      io.release();
      return { errno, length: 0 };
    }
    const dataLength = io.dataLength;
    const senseLength = Math.min(io.senseLength, SG_SENSE_SIZE);
    if (this.reply.length < SG_HEADER_SIZE + dataLength) {
      this.reply = new Uint8Array(SG_HEADER_SIZE + dataLength);
      this.replyView = new DataView(this.reply.buffer);
    }
    const driver = io.driverStatus | (senseLength > 0 ? DRIVER_SENSE : 0);
    const v = this.replyView;
    this.reply.fill(0, 0, SG_HEADER_SIZE);
    // Linux's sg v2 reply carries reply_len in pack_len too ("old, strange behaviour" in sg.c).
    v.setInt32(SgOffset.PACK_LEN, io.replyLen, true);
    v.setInt32(SgOffset.REPLY_LEN, io.replyLen, true);
    v.setInt32(SgOffset.PACK_ID, io.packId, true);
    v.setInt32(SgOffset.RESULT, 0, true);
    v.setUint32(SgOffset.FLAGS, packStatusWord(io.status, io.hostStatus, driver), true);
    // Views only for bytes there are: a healthy TUR reply has neither sense nor data.
    if (senseLength > 0) this.reply.set(io.sense.subarray(0, senseLength), SgOffset.SENSE);
    if (dataLength > 0) this.reply.set(io.data, SG_HEADER_SIZE);
    const length = SG_HEADER_SIZE + dataLength;
    io.release();
    return { errno: Errno.SUCCESS, length };
  }
}
