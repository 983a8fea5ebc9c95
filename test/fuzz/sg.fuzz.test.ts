import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IO_DATA_MAX } from '../../host/backends/io-slot.js';
import { Errno } from '../../host/shim/errno.js';
import { SG_MAX_FRAME, SgChannel } from '../../host/shim/sg-channel.js';
import { DRIVER_SENSE, SG_HEADER_SIZE, SG_SENSE_SIZE, cdbLength, packStatusWord, unpackStatusWord } from '../../host/shim/sg-header.js';
import type { ScsiOutcome } from '../../host/backends/device.js';
import { FakeDevice, outcome, type Failure } from '../helpers/fake-device.js';
import { runFuzz, testTimeout, type FuzzOptions } from './fuzz-params.js';

/**
 * sg v2 frames (host/shim/sg-header.ts, sg-channel.ts), issue 11 "Fuzzing": any request frame is
 * submitted exactly when Linux's sg_write rules allow it (else EINVAL), the device gets the CDB and
 * data the frame holds, and the reply frame carries the echoed ids, the packed status word, the sense
 * and the data, whatever the device answered; the status word packs and unpacks losslessly.
 */

const HEADER: FuzzOptions = { slice: 1000, share: 0.3, budgetMs: 120_000 };
const CHANNEL: FuzzOptions = { slice: 1500, share: 0.7, budgetMs: 240_000 };

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const OWNER = 7;

/** A request frame: header fields near and far from the limits, any opcode, any length. */
const frame = fc
  .record({
    replyLen: fc.oneof(fc.integer({ min: SG_HEADER_SIZE - 2, max: SG_HEADER_SIZE + 600 }), fc.constantFrom(SG_HEADER_SIZE + IO_DATA_MAX, SG_HEADER_SIZE + IO_DATA_MAX + 1), int32),
    packId: int32,
    flags: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    opcode: fc.integer({ min: 0, max: 255 }),
    /** Bytes after the header: around the CDB length, or anything up to the largest frame. */
    body: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: SG_MAX_FRAME - SG_HEADER_SIZE })),
    cut: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: SG_HEADER_SIZE })),
    fill: fc.integer({ min: 0, max: 255 }),
  })
  .map((f) => {
    const length = Math.max(0, SG_HEADER_SIZE + f.body - f.cut);
    const bytes = new Uint8Array(length).fill(f.fill);
    const full = new Uint8Array(Math.max(length, SG_HEADER_SIZE + 1));
    const v = new DataView(full.buffer);
    v.setInt32(4, f.replyLen, true);
    v.setInt32(8, f.packId, true);
    v.setUint32(16, f.flags >>> 0, true);
    full[SG_HEADER_SIZE] = f.opcode;
    bytes.set(full.subarray(0, Math.min(length, SG_HEADER_SIZE + 1)));
    return { ...f, bytes };
  });

/** What the device answers: an outcome with any status bytes, sense and data, or a failure errno. */
const answer: fc.Arbitrary<ScsiOutcome | Failure> = fc.oneof(
  fc
    .record({
      status: fc.integer({ min: 0, max: 255 }),
      hostStatus: fc.integer({ min: 0, max: 255 }),
      driverStatus: fc.integer({ min: 0, max: 255 }),
      sense: fc.uint8Array({ maxLength: 40 }),
      dataIn: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: IO_DATA_MAX + 10 }).map((n) => new Uint8Array(n).fill(0x5a))),
    })
    .map((o) => outcome(o)),
  fc.constantFrom(Errno.IO, Errno.TIMEDOUT, Errno.NXIO).map((errno) => ({ errno })),
);

/** Linux sg_write's rules for a v2 request of `length` bytes (the shim's SG_MAX_FRAME bound aside). */
function acceptable(length: number, replyLen: number, flags: number, opcode: number): boolean {
  if (length < SG_HEADER_SIZE + 1) return false;
  if (replyLen < SG_HEADER_SIZE || replyLen - SG_HEADER_SIZE > IO_DATA_MAX) return false;
  const cdb = cdbLength(opcode, (flags & 1) === 1);
  return length >= SG_HEADER_SIZE + cdb && length - SG_HEADER_SIZE - cdb <= IO_DATA_MAX;
}

describe('fuzz: sg v2 frames', () => {
  it(
    'status word: pack(unpack(w)) keeps bits 1..21; unpack(pack(s, h, d)) gives them back; cdbLength is Linux COMMAND_SIZE',
    async () => {
      const property = fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), (word, sam, host, driver, twelve) => {
        const u = unpackStatusWord(word);
        expect(packStatusWord(u.targetStatus << 1, u.hostStatus, u.driverStatus)).toBe((word & 0x3ffffe) >>> 0);
        expect(u.twelveByte).toBe((word & 1) === 1);
        expect(unpackStatusWord(packStatusWord(sam, host, driver))).toEqual({ twelveByte: false, targetStatus: (sam >> 1) & 0x1f, hostStatus: host, driverStatus: driver });
        const op = sam;
        expect(cdbLength(op, twelve)).toBe(op >= 0xc0 && twelve ? 12 : [6, 10, 10, 12, 16, 12, 10, 10][op >> 5]);
      });
      await runFuzz('sg status word', property, HEADER);
    },
    testTimeout(HEADER),
  );

  it(
    'any request frame, any answer, any read capacity: submitted iff valid, the device sees the frame, the reply frame is exact',
    async () => {
      const property = fc.property(frame, answer, fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })), (f, ans, capacity) => {
        const dev = new FakeDevice().answer(ans);
        const ch = new SgChannel(dev);
        const length = f.bytes.length;
        ch.requestBuffer(length).set(f.bytes);
        const errno = ch.submit(length, OWNER);
        if (!acceptable(length, f.replyLen, f.flags, f.opcode)) {
          expect(errno).toBe(Errno.INVAL);
          expect(dev.commands).toHaveLength(0);
          expect(ch.busy).toBe(false);
          return;
        }
        expect(errno).toBe(Errno.SUCCESS);
        const cdb = cdbLength(f.opcode, (f.flags & 1) === 1);
        // Buffer.equals: toEqual walks a 64 KiB typed array element by element.
        const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
        expect(dev.commands).toHaveLength(1);
        const [got] = dev.commands;
        expect(same(got!.cdb, f.bytes.subarray(SG_HEADER_SIZE, SG_HEADER_SIZE + cdb))).toBe(true);
        expect(same(got!.dataOut, f.bytes.subarray(SG_HEADER_SIZE + cdb))).toBe(true);
        expect(got!.dataInLength).toBe(f.replyLen - SG_HEADER_SIZE);
        // A second write while the reply is unread is refused; another job's read does not take it.
        expect(ch.submit(length, OWNER)).toBe(Errno.BUSY);
        expect(ch.read(SG_HEADER_SIZE, OWNER + 1).errno).toBe(Errno.AGAIN);
        if (capacity < SG_HEADER_SIZE) {
          expect(ch.read(capacity, OWNER)).toEqual({ errno: Errno.INVAL, length: 0 });
          capacity = SG_HEADER_SIZE;
        }
        const r = ch.read(capacity, OWNER);
        expect(ch.busy).toBe(false);
        if ('errno' in ans) {
          expect(r).toEqual({ errno: ans.errno, length: 0 });
          return;
        }
        expect(r.errno).toBe(Errno.SUCCESS);
        const data = ans.dataIn.subarray(0, f.replyLen - SG_HEADER_SIZE);
        expect(r.length).toBe(SG_HEADER_SIZE + data.length);
        const reply = ch.replyBytes(r.length);
        const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
        const sense = ans.sense.subarray(0, SG_SENSE_SIZE);
        expect([v.getInt32(0, true), v.getInt32(4, true), v.getInt32(8, true), v.getInt32(12, true), v.getUint32(16, true)]).toEqual([
          f.replyLen,
          f.replyLen,
          f.packId,
          0,
          packStatusWord(ans.status, ans.hostStatus, ans.driverStatus | (ans.sense.length > 0 ? DRIVER_SENSE : 0)),
        ]);
        const senseField = new Uint8Array(SG_SENSE_SIZE);
        senseField.set(sense);
        expect(same(reply.subarray(20, SG_HEADER_SIZE), senseField)).toBe(true);
        expect(same(reply.subarray(SG_HEADER_SIZE), data)).toBe(true);
      });
      await runFuzz('sg channel', property, CHANNEL);
    },
    testTimeout(CHANNEL),
  );
});
