import { describe, expect, it } from 'vitest';
import type { Device } from '../../host/backends/device.js';
import { IoSlot, IoState } from '../../host/backends/io-slot.js';
import { SimDevice } from '../../host/backends/sim/sim-device.js';
import { ProcExit } from '../../host/shim/proc-exit.js';
import { FakeDevice, LATER, outcome, pattern } from '../helpers/fake-device.js';
import { ALL_RIGHTS, Guest, POISON } from '../helpers/guest.js';

/**
 * Unit tests of the WASI device shim (docs/ABI.md "SCSI through WASI", "Plain reads", "WASI subset"),
 * calling its import functions directly with pointers laid out in a shared memory, the way a wasm
 * plugin would. Device fds are non-blocking: a FakeDevice answers at once unless a test programs LATER
 * and finishes the command itself, as a device's I/O side would. Errno values are written as numbers on purpose: the test checks WASI's numbering, not the shim's table.
 */

const SUCCESS = 0;
const AGAIN = 6;
const BADF = 8;
const BUSY = 10;
const FAULT = 21;
const INVAL = 28;
const IO = 29;
const ISDIR = 31;
const NAMETOOLONG = 37;
const NOENT = 44;
const NOTDIR = 54;
const NOTSUP = 58;
const ROFS = 69;
const SPIPE = 70;
const TIMEDOUT = 73;
const NOTCAPABLE = 76;

const PAGE = 65536;
const HDR = 36;

interface Request {
  cdb: ArrayLike<number>;
  dataOut?: ArrayLike<number>;
  replyLen?: number;
  packId?: number;
  /** The status word at offset 16; only bit 0 (twelve_byte) means anything on input. */
  flags?: number;
}

/** A Linux sg v2 request frame. Output-only header fields carry junk, which the shim must ignore. */
function sgRequest(r: Request): Uint8Array {
  const dataOut = r.dataOut ?? [];
  const f = new Uint8Array(HDR + r.cdb.length + dataOut.length);
  const v = new DataView(f.buffer);
  v.setInt32(0, 0x7eadbeef, true); // pack_len: ignored on input
  v.setInt32(4, r.replyLen ?? HDR, true);
  v.setInt32(8, r.packId ?? 0, true);
  v.setInt32(12, 0x5555, true); // result: output only
  v.setUint32(16, r.flags ?? 0, true);
  f.fill(0xaa, 20, 36); // sense: output only
  f.set(r.cdb, HDR);
  f.set(dataOut, HDR + r.cdb.length);
  return f;
}

interface Reply {
  packLen: number;
  replyLen: number;
  packId: number;
  result: number;
  word: number;
  sense: Uint8Array;
  data: Uint8Array;
}

function sgReply(b: Uint8Array): Reply {
  expect(b.length).toBeGreaterThanOrEqual(HDR);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    packLen: v.getInt32(0, true),
    replyLen: v.getInt32(4, true),
    packId: v.getInt32(8, true),
    result: v.getInt32(12, true),
    word: v.getUint32(16, true),
    sense: b.slice(20, 36),
    data: b.slice(36),
  };
}

/** Expected status word: target_status (SAM >> 1) in bits 1..5, host in 6..13, driver in 14..21. */
function word(sam: number, host: number, driver: number): number {
  return ((sam >> 1) << 1) | (host << 6) | (driver << 14);
}

const TUR = [0x00, 0, 0, 0, 0, 0];
/** Fixed-format sense, 18 bytes: NOT READY, LUN not ready, initializing command required; bytes 16-17 are 0x33 0x44. */
const SENSE_18 = [0x70, 0, 0x02, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x04, 0x02, 0x11, 0x22, 0x33, 0x44];
const bytesOf = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (seed + i * 7) & 0xff);
const poison = (n: number) => new Uint8Array(n).fill(POISON);

describe('sg v2 frames through fd_write / fd_read', () => {
  it('round-trips a TUR written in 3 iovecs and read into 2', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    // Cut inside reply_len and inside the status word, then the CDB on its own.
    const w = g.write(fd, sgRequest({ cdb: TUR, replyLen: HDR, packId: 0x1234_5678 }), [6, 30]);
    expect(w).toEqual({ errno: SUCCESS, nwritten: 42 });
    expect(dev.commands).toHaveLength(1); // the write submitted it, and the device answered at once

    const r = g.read(fd, [20, 40]);
    expect(r.errno).toBe(SUCCESS);
    expect(r.nread).toBe(36);
    const reply = sgReply(r.bytes);
    expect(reply).toEqual({ packLen: 36, replyLen: 36, packId: 0x1234_5678, result: 0, word: 0, sense: new Uint8Array(16), data: new Uint8Array(0) });
    expect(r.bufs[1]!.subarray(16)).toEqual(poison(24)); // nothing past the reply

    expect(dev.commands).toEqual([{ cdb: Uint8Array.from(TUR), dataOut: new Uint8Array(0), dataInLength: 0 }]);
    expect(dev.io.state).toBe(IoState.IDLE); // the read freed the device for the next command
  });

  it('echoes a negative pack_id and keeps working for a second command', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    for (const packId of [-7, 42]) {
      expect(g.write(fd, sgRequest({ cdb: TUR, packId, replyLen: 100 })).errno).toBe(SUCCESS);
      const r = g.read(fd, [200]);
      expect(r.errno).toBe(SUCCESS);
      expect(sgReply(r.bytes).packId).toBe(packId);
      expect(sgReply(r.bytes).replyLen).toBe(100);
    }
    expect(dev.commands).toHaveLength(2);
  });

  it('packs CHECK CONDITION with sense: target_status 1, DRIVER_SENSE added, sense cut to 16 bytes', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    dev.answer(outcome({ status: 0x02, sense: SENSE_18 }));
    g.write(fd, sgRequest({ cdb: TUR, packId: 5 }));
    const r = g.read(fd, [64]);
    expect(r.errno).toBe(SUCCESS);
    expect(r.nread).toBe(36);
    const reply = sgReply(r.bytes);
    expect(reply.word).toBe(0x0002_0002); // (0x02 >> 1) << 1 | 0x08 << 14
    expect(reply.word).toBe(word(0x02, 0, 0x08));
    expect(reply.sense).toEqual(Uint8Array.from(SENSE_18.slice(0, 16)));
    expect(reply.result).toBe(0);
    expect(r.bufs[0]!.subarray(36)).toEqual(poison(28)); // sense bytes 16-17 went nowhere
  });

  it.each([
    { name: 'BUSY, DID_NO_CONNECT, no sense', sam: 0x08, host: 0x01, driver: 0x00, sense: [], expected: (4 << 1) | (1 << 6) },
    { name: 'RESERVATION CONFLICT', sam: 0x18, host: 0x00, driver: 0x00, sense: [], expected: 12 << 1 },
    { name: 'GOOD with host DID_TIME_OUT and DRIVER_TIMEOUT', sam: 0x00, host: 0x03, driver: 0x06, sense: [], expected: (3 << 6) | (6 << 14) },
    { name: 'sense present with driver bits already set', sam: 0x02, host: 0xff, driver: 0x06, sense: [0x70, 0, 0x06], expected: (1 << 1) | (0xff << 6) | (0x0e << 14) },
    { name: 'GOOD with sense still sets DRIVER_SENSE', sam: 0x00, host: 0x00, driver: 0x00, sense: [0x72, 0x01], expected: 0x08 << 14 },
  ])('status word: $name', ({ sam, host, driver, sense, expected }) => {
    const g = new Guest();
    const { dev, fd } = g.device();
    dev.answer(outcome({ status: sam, hostStatus: host, driverStatus: driver, sense }));
    g.write(fd, sgRequest({ cdb: TUR }));
    const r = g.read(fd, [36]);
    expect(r.errno).toBe(SUCCESS);
    const reply = sgReply(r.bytes);
    expect(reply.word).toBe(expected);
    expect(reply.word & 1).toBe(0);
    expect(reply.word >>> 22).toBe(0);
    const expectedSense = new Uint8Array(16);
    expectedSense.set(sense);
    expect(reply.sense).toEqual(expectedSense);
  });

  it('cuts data-in to reply_len - 36 and tells the device how much fits', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const inquiry = bytesOf(96, 1);
    dev.answer(outcome({ dataIn: inquiry }));
    g.write(fd, sgRequest({ cdb: [0x12, 0, 0, 0, 96, 0], replyLen: HDR + 8 }));
    const r = g.read(fd, [30, 200]);
    expect(r.errno).toBe(SUCCESS);
    expect(r.nread).toBe(44);
    const reply = sgReply(r.bytes);
    expect(reply.packLen).toBe(44);
    expect(reply.replyLen).toBe(44);
    expect(reply.data).toEqual(inquiry.subarray(0, 8));
    expect(r.bufs[1]!.subarray(14)).toEqual(poison(186));
    expect(dev.commands[0]!.dataInLength).toBe(8);
  });

  it('cuts the reply to the read buffer, as Linux does', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const data = bytesOf(96, 3);
    dev.answer(outcome({ dataIn: data, status: 0x02, sense: SENSE_18 }));
    g.write(fd, sgRequest({ cdb: [0x12, 0, 0, 0, 96, 0], replyLen: HDR + 96, packId: 9 }));
    const r = g.read(fd, [36, 10]);
    expect(r.errno).toBe(SUCCESS);
    expect(r.nread).toBe(46);
    const reply = sgReply(r.bytes);
    expect(reply.packId).toBe(9);
    expect(reply.replyLen).toBe(132);
    expect(reply.packLen).toBe(132); // Linux sg v2: pack_len in a reply equals reply_len
    expect(reply.word).toBe(word(0x02, 0, 0x08));
    expect(reply.sense).toEqual(Uint8Array.from(SENSE_18.slice(0, 16)));
    expect(reply.data).toEqual(data.subarray(0, 10));
  });

  it('returns short data-in as the device gave it', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    dev.answer(outcome({ dataIn: [1, 2, 3] }));
    g.write(fd, sgRequest({ cdb: [0x12, 0, 0, 0, 64, 0], replyLen: HDR + 64 }));
    const r = g.read(fd, [128]);
    expect(r.nread).toBe(39);
    expect(sgReply(r.bytes).packLen).toBe(HDR + 64); // equals reply_len, not the data length
    expect(sgReply(r.bytes).data).toEqual(Uint8Array.from([1, 2, 3]));
  });

  it('hands the device exactly the CDB and the data-out bytes (a WRITE(10) larger than the first frame buffer)', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const cdb = [0x2a, 0, 0, 0, 0x10, 0x00, 0, 0, 2, 0];
    const payload = bytesOf(1024, 11);
    const w = g.write(fd, sgRequest({ cdb, dataOut: payload, replyLen: HDR }), [36, 4, 500]);
    expect(w).toEqual({ errno: SUCCESS, nwritten: 36 + 10 + 1024 });
    expect(g.read(fd, [36]).errno).toBe(SUCCESS);
    expect(dev.commands[0]!.cdb).toEqual(Uint8Array.from(cdb));
    expect(dev.commands[0]!.dataOut).toEqual(payload);
    expect(dev.commands[0]!.dataInLength).toBe(0);
  });

  it('carries a data-in reply larger than the first frame buffer', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const data = bytesOf(4096, 5);
    dev.answer(outcome({ dataIn: data }));
    g.write(fd, sgRequest({ cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], replyLen: HDR + 4096 }));
    const r = g.read(fd, [HDR, 1000, 4000]);
    expect(r.nread).toBe(HDR + 4096);
    expect(sgReply(r.bytes).data).toEqual(data);
  });

  it.each([
    { opcode: 0x00, group: 0, len: 6 },
    { opcode: 0x12, group: 0, len: 6 },
    { opcode: 0x28, group: 1, len: 10 },
    { opcode: 0x5a, group: 2, len: 10 },
    { opcode: 0x7f, group: 3, len: 12 },
    { opcode: 0x88, group: 4, len: 16 },
    { opcode: 0xa0, group: 5, len: 12 },
    { opcode: 0xc0, group: 6, len: 10 },
    { opcode: 0xe0, group: 7, len: 10 },
  ])('CDB length of opcode $opcode (group $group) is $len, as in Linux sg', ({ opcode, len }) => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const tail = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? opcode : 0x40 + i));
    expect(g.write(fd, sgRequest({ cdb: tail })).errno).toBe(SUCCESS);
    g.read(fd, [36]);
    expect(dev.commands[0]!.cdb).toEqual(tail.subarray(0, len));
    expect(dev.commands[0]!.dataOut).toEqual(tail.subarray(len));
  });

  it.each([
    { opcode: 0xc0, len: 12 },
    { opcode: 0xdf, len: 12 },
    { opcode: 0xe0, len: 12 },
    { opcode: 0xff, len: 12 },
    { opcode: 0x00, len: 6 },
    { opcode: 0x28, len: 10 },
    { opcode: 0x7f, len: 12 },
    { opcode: 0x88, len: 16 },
    { opcode: 0xbf, len: 12 },
  ])('twelve_byte makes opcode $opcode $len bytes (12 from 0xc0 up, no change below)', ({ opcode, len }) => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const tail = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? opcode : i));
    expect(g.write(fd, sgRequest({ cdb: tail, flags: 1 })).errno).toBe(SUCCESS);
    g.read(fd, [36]);
    expect(dev.commands[0]!.cdb).toHaveLength(len);
  });

  it('finds laid-out frames past the first page after memory.grow', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    g.memory.grow(1);
    g.top = PAGE + 100;
    dev.answer(outcome({ dataIn: [9, 8, 7] }));
    expect(g.write(fd, sgRequest({ cdb: TUR, replyLen: HDR + 3 }), [20])).toEqual({ errno: SUCCESS, nwritten: 42 });
    const r = g.read(fd, [64]);
    expect(r.errno).toBe(SUCCESS);
    expect(sgReply(r.bytes).data).toEqual(Uint8Array.from([9, 8, 7]));
    expect(dev.commands[0]!.cdb).toEqual(Uint8Array.from(TUR));
  });
});

describe('sg v2 errors', () => {
  it.each([
    { name: 'header only', frame: sgRequest({ cdb: [] }) },
    { name: 'part of a header', frame: sgRequest({ cdb: TUR }).subarray(0, 20) },
    { name: 'READ(10) with 9 CDB bytes', frame: sgRequest({ cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 1] }) },
    { name: 'READ(16) with 15 CDB bytes', frame: sgRequest({ cdb: [0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0] }) },
    { name: 'twelve_byte vendor opcode with 6 CDB bytes', frame: sgRequest({ cdb: [0xc0, 0, 0, 0, 0, 0], flags: 1 }) },
    { name: 'twelve_byte vendor opcode with 11 CDB bytes', frame: sgRequest({ cdb: [0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], flags: 1 }) },
    { name: 'vendor opcode with 9 CDB bytes', frame: sgRequest({ cdb: [0xc0, 0, 0, 0, 0, 0, 0, 0, 0] }) },
    { name: 'group 3 opcode with 11 CDB bytes', frame: sgRequest({ cdb: [0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }) },
    { name: 'nothing', frame: new Uint8Array(0) },
  ])('a write shorter than header + CDB is EINVAL ($name)', ({ frame }) => {
    const g = new Guest();
    const { dev, fd } = g.device();
    expect(g.write(fd, frame).errno).toBe(INVAL);
    expect(g.read(fd, [64]).errno).toBe(AGAIN); // nothing was submitted
    expect(dev.commands).toHaveLength(0);
  });

  it('a write with no iovecs at all is EINVAL', () => {
    const g = new Guest();
    const { fd } = g.device();
    const out = g.out();
    expect(g.w.fd_write(fd, g.iovs([]), 0, out)).toBe(INVAL);
  });

  it.each([35, 0, -1, -0x8000_0000])('reply_len %i (< 36) is EINVAL', (replyLen) => {
    const g = new Guest();
    const { dev, fd } = g.device();
    expect(g.write(fd, sgRequest({ cdb: TUR, replyLen })).errno).toBe(INVAL);
    expect(g.read(fd, [64]).errno).toBe(AGAIN);
    expect(dev.commands).toHaveLength(0);
  });

  it('reply_len 36 exactly is accepted', () => {
    const g = new Guest();
    const { fd } = g.device();
    expect(g.write(fd, sgRequest({ cdb: TUR, replyLen: 36 })).errno).toBe(SUCCESS);
  });

  it('reply_len up to 36 + 64 KiB of data-in is accepted; one byte more, or far more, is EINVAL (never a throw)', () => {
    const g = new Guest();
    const { fd } = g.device();
    expect(g.write(fd, sgRequest({ cdb: TUR, replyLen: 36 + 65536 + 1 })).errno).toBe(INVAL);
    expect(g.write(fd, sgRequest({ cdb: TUR, replyLen: 36 + 16 + 65536 + 1 })).errno).toBe(INVAL);
    expect(g.write(fd, sgRequest({ cdb: TUR, replyLen: 0x7fff_ffff })).errno).toBe(INVAL);
    expect(g.write(fd, sgRequest({ cdb: TUR, replyLen: 36 + 65536 })).errno).toBe(SUCCESS);
  });

  it('a write longer than the largest frame is EINVAL', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const frame = sgRequest({ cdb: [0x2a, 0, 0, 0, 0, 0, 0, 0, 80, 0], dataOut: new Uint8Array(40_000 - 46) });
    const buf = g.put(frame);
    const iovs = g.iovs([
      [buf, frame.length],
      [buf, frame.length],
    ]); // 80000 bytes, more than 36 + 16 + 65536
    expect(g.w.fd_write(fd, iovs, 2, g.out())).toBe(INVAL);
    expect(g.read(fd, [64]).errno).toBe(AGAIN);
    expect(dev.commands).toHaveLength(0);
  });

  it('a second write while the command is outstanding, or while its reply is unread, is EBUSY', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    dev.answer(LATER);
    expect(g.write(fd, sgRequest({ cdb: TUR, packId: 1 })).errno).toBe(SUCCESS);
    expect(g.write(fd, sgRequest({ cdb: TUR, packId: 2 })).errno).toBe(BUSY);
    dev.finish();
    expect(g.write(fd, sgRequest({ cdb: TUR, packId: 3 })).errno).toBe(BUSY);
    const r = g.read(fd, [64]);
    expect(r.errno).toBe(SUCCESS);
    expect(sgReply(r.bytes).packId).toBe(1);
    expect(dev.commands).toHaveLength(1);
    expect(g.read(fd, [64]).errno).toBe(AGAIN);
    expect(g.write(fd, sgRequest({ cdb: TUR, packId: 4 })).errno).toBe(SUCCESS);
  });

  // The device's I/O side runs the command from the slot, later: a refused write must not touch it.
  it('a refused (EBUSY) second write leaves the outstanding command as it was written', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    // Same length, different bytes: a MODE SELECT(6) with 4 bytes of data-out, then another.
    const first = sgRequest({ cdb: [0x15, 0x10, 0, 0, 4, 0], dataOut: [1, 2, 3, 4], replyLen: HDR + 8, packId: 1 });
    const second = sgRequest({ cdb: [0x15, 0x11, 9, 9, 4, 9], dataOut: [5, 6, 7, 8], replyLen: HDR + 4, packId: 2 });
    dev.answer(LATER);
    expect(g.write(fd, first).errno).toBe(SUCCESS);
    expect(g.write(fd, second).errno).toBe(BUSY);
    const pending = dev.io.command();
    expect({ cdb: [...pending.cdb], dataOut: [...pending.dataOut], dataInLength: pending.dataInLength }).toEqual({
      cdb: [0x15, 0x10, 0, 0, 4, 0],
      dataOut: [1, 2, 3, 4],
      dataInLength: 8,
    });
    dev.finish();
    const r = g.read(fd, [128]);
    expect(r.errno).toBe(SUCCESS);
    expect(sgReply(r.bytes)).toMatchObject({ packId: 1, replyLen: HDR + 8 });
    expect(dev.commands).toHaveLength(1);
  });

  it('a read with nothing outstanding is EAGAIN', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    expect(g.read(fd, [64]).errno).toBe(AGAIN);
    expect(dev.commands).toHaveLength(0);
  });

  it('a read buffer smaller than 36 bytes is EINVAL and leaves the reply unread', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    g.write(fd, sgRequest({ cdb: TUR, packId: 77 }));
    expect(g.read(fd, [20, 15]).errno).toBe(INVAL);
    expect(g.read(fd, [35]).errno).toBe(INVAL);
    expect(dev.commands).toHaveLength(1);
    const r = g.read(fd, [36]);
    expect(r.errno).toBe(SUCCESS);
    expect(sgReply(r.bytes).packId).toBe(77);
  });

  it.each([
    { errno: TIMEDOUT, later: false },
    { errno: IO, later: false },
    { errno: IO, later: true },
  ])('a device failure (errno $errno, completed later: $later) is what fd_read returns, and the fd is free again', ({ errno, later }) => {
    const g = new Guest();
    const { dev, fd } = g.device();
    dev.answer(later ? LATER : { errno });
    g.write(fd, sgRequest({ cdb: TUR }));
    if (later) {
      expect(g.read(fd, [64]).errno).toBe(AGAIN);
      dev.finish({ errno });
    }
    const r = g.read(fd, [64]);
    expect(r.errno).toBe(errno);
    expect(r.nread).toBe(0xeeeeeeee); // nread untouched
    expect(g.read(fd, [64]).errno).toBe(AGAIN);
    expect(g.write(fd, sgRequest({ cdb: TUR })).errno).toBe(SUCCESS);
    expect(g.read(fd, [64]).errno).toBe(SUCCESS);
    expect(dev.commands).toHaveLength(2);
  });

  // The command slot is the device's (IoSlot), not the fd's: what lets another worker's fd collect the reply.
  it('two fds on one device share its one outstanding command', () => {
    const g = new Guest();
    const { dev, fd: a } = g.device();
    const b = g.open('sda');
    expect(b.errno).toBe(SUCCESS);
    expect(b.fd).not.toBe(a);
    expect(g.write(a, sgRequest({ cdb: TUR, packId: 10 })).errno).toBe(SUCCESS);
    expect(g.write(b.fd, sgRequest({ cdb: TUR, packId: 20 })).errno).toBe(BUSY);
    expect(sgReply(g.read(b.fd, [64]).bytes).packId).toBe(10);
    expect(g.read(a, [64]).errno).toBe(AGAIN);
    expect(dev.commands).toHaveLength(1);
  });

  describe('bad fds', () => {
    it.each([4, 9, 1000, -1])('fd %i that was never opened is EBADF everywhere', (fd) => {
      const g = new Guest();
      const buf = g.alloc(64);
      const iovs = g.iovs([[buf, 64]]);
      const out = g.alloc(64);
      expect(g.w.fd_read(fd, iovs, 1, out)).toBe(BADF);
      expect(g.w.fd_write(fd, iovs, 1, out)).toBe(BADF);
      expect(g.w.fd_pread(fd, iovs, 1, 0n, out)).toBe(BADF);
      expect(g.w.fd_close(fd)).toBe(BADF);
      expect(g.w.fd_fdstat_get(fd, out)).toBe(BADF);
      expect(g.w.fd_prestat_get(fd, out)).toBe(BADF);
    });

    it('a closed device fd is EBADF', () => {
      const g = new Guest();
      const { dev, fd } = g.device();
      g.write(fd, sgRequest({ cdb: TUR }));
      expect(g.w.fd_close(fd)).toBe(SUCCESS);
      expect(g.read(fd, [64]).errno).toBe(BADF); // not the reply still on the device
      expect(g.write(fd, sgRequest({ cdb: TUR })).errno).toBe(BADF);
      expect(g.read(fd, [64], 0n).errno).toBe(BADF);
      expect(g.w.fd_close(fd)).toBe(BADF);
      expect(g.w.fd_fdstat_get(fd, g.alloc(24))).toBe(BADF);
      expect([dev.commands.length, dev.reads.length]).toEqual([1, 0]);
    });

    it('the preopened directory is EISDIR for fd_read, fd_write and fd_pread', () => {
      const g = new Guest();
      expect(g.write(3, sgRequest({ cdb: TUR })).errno).toBe(ISDIR);
      expect(g.read(3, [64]).errno).toBe(ISDIR);
      expect(g.read(3, [64], 0n).errno).toBe(ISDIR);
    });

    it.each([0, 1, 2])('fd_pread on stdio fd %i is ESPIPE', (fd) => {
      const g = new Guest();
      expect(g.read(fd, [16], 0n).errno).toBe(SPIPE);
    });

    it('stdin reads as end of file; writing it, or reading stdout/stderr, is EBADF', () => {
      const g = new Guest();
      expect(g.read(0, [16])).toMatchObject({ errno: SUCCESS, nread: 0 });
      expect(g.write(0, Buffer.from('x')).errno).toBe(BADF);
      expect(g.read(1, [16]).errno).toBe(BADF);
      expect(g.read(2, [16]).errno).toBe(BADF);
    });

    it('stdio and the preopen cannot be closed, and stay usable', () => {
      const g = new Guest();
      for (const fd of [0, 1, 2, 3]) expect(g.w.fd_close(fd)).toBe(NOTSUP);
      expect(g.write(1, Buffer.from('still here')).errno).toBe(SUCCESS);
      g.ns.add('sda', new FakeDevice());
      expect(g.open('sda').errno).toBe(SUCCESS);
    });

    it('a device fd the host opened for the path cannot be closed by the plugin (its number would be reused)', () => {
      const g = new Guest();
      const fd = g.shim.fds.openDevice(new FakeDevice());
      expect(g.w.fd_close(fd)).toBe(NOTSUP);
      expect(g.shim.fds.get(fd)?.kind).toBe('device');
      expect(g.shim.fds.close(fd)).toBe(true);
    });
  });

  describe('pointers outside memory are EFAULT, and the device hears nothing', () => {
    function setup() {
      const g = new Guest();
      const { dev, fd } = g.device();
      const frame = sgRequest({ cdb: TUR });
      const buf = g.put(frame);
      return { g, dev, fd, frame, buf };
    }

    it('iovec array past the end of memory', () => {
      const { g, dev, fd } = setup();
      expect(g.w.fd_write(fd, PAGE - 4, 1, g.out())).toBe(FAULT);
      expect(g.w.fd_write(fd, PAGE, 1, g.out())).toBe(FAULT);
      expect(g.w.fd_write(fd, -8, 1, g.out())).toBe(FAULT); // 0xfffffff8 as wasm passes it
      expect(g.read(fd, [64]).errno).toBe(AGAIN);
      expect(dev.commands).toHaveLength(0);
    });

    it('an iovec array of at most IOV_MAX (1024) entries that does not fit', () => {
      const { g, dev, fd } = setup();
      expect(g.w.fd_write(fd, PAGE - 1023 * 8, 1024, g.out())).toBe(FAULT);
      expect(dev.commands).toHaveLength(0);
    });

    it('more than IOV_MAX (1024) iovecs is EINVAL for fd_write, fd_read and fd_pread, before the array is looked at', () => {
      const { g, dev, fd, buf, frame } = setup();
      const iovs = g.iovs([[buf, frame.length]]);
      for (const count of [1025, 1_000_000, 0x1000_0000, -1]) {
        expect(g.w.fd_write(fd, iovs, count, g.out())).toBe(INVAL);
        expect(g.w.fd_write(1, iovs, count, g.out())).toBe(INVAL);
        expect(g.w.fd_read(fd, iovs, count, g.out())).toBe(INVAL);
        expect(g.w.fd_pread(fd, iovs, count, 0n, g.out())).toBe(INVAL);
      }
      expect([dev.commands.length, dev.reads.length, g.logs.length]).toEqual([0, 0, 0]);
    });

    it('a buffer running past the end of memory', () => {
      const { g, dev, fd, buf, frame } = setup();
      const near = PAGE - 20;
      for (const bad of [
        [[near, 42]],
        [[PAGE, 1]],
        [[-36, 42]],
        [
          [buf, 36],
          [PAGE - 2, 6],
        ],
        [[buf, 0xffff_ffff]],
      ] as Array<Array<[number, number]>>) {
        expect(g.w.fd_write(fd, g.iovs(bad), bad.length, g.out())).toBe(FAULT);
      }
      expect(dev.commands).toHaveLength(0);
      // the valid frame still goes through afterwards
      expect(g.w.fd_write(fd, g.iovs([[buf, frame.length]]), 1, g.out())).toBe(SUCCESS);
      expect(dev.commands).toHaveLength(1);
    });

    it('nwritten pointer outside memory', () => {
      const { g, dev, fd, buf, frame } = setup();
      const iovs = g.iovs([[buf, frame.length]]);
      expect(g.w.fd_write(fd, iovs, 1, PAGE - 3)).toBe(FAULT);
      expect(g.w.fd_write(fd, iovs, 1, PAGE)).toBe(FAULT);
      expect(g.w.fd_write(fd, iovs, 1, -4)).toBe(FAULT);
      expect(g.read(fd, [64]).errno).toBe(AGAIN);
      expect(dev.commands).toHaveLength(0);
    });

    it('fd_read with a bad iovec or nread pointer does not consume the reply', () => {
      const { g, fd } = setup();
      g.write(fd, sgRequest({ cdb: TUR, packId: 3 }));
      const good = g.iovs([[g.alloc(64), 64]]);
      expect(g.w.fd_read(fd, g.iovs([[PAGE - 10, 64]]), 1, g.out())).toBe(FAULT);
      expect(g.w.fd_read(fd, PAGE - 4, 1, g.out())).toBe(FAULT);
      expect(g.w.fd_read(fd, good, 1, PAGE - 2)).toBe(FAULT);
      const r = g.read(fd, [64]);
      expect(r.errno).toBe(SUCCESS);
      expect(sgReply(r.bytes).packId).toBe(3);
    });

    it('fd_pread with a bad iovec or nread pointer does not reach the device', () => {
      const { g, dev, fd } = setup();
      const good = g.iovs([[g.alloc(64), 64]]);
      expect(g.w.fd_pread(fd, g.iovs([[PAGE - 10, 64]]), 1, 0n, g.out())).toBe(FAULT);
      expect(g.w.fd_pread(fd, good, 1, 0n, PAGE)).toBe(FAULT);
      expect(dev.reads).toHaveLength(0);
    });

    it('stdout with a bad buffer writes nothing to the log', () => {
      const { g } = setup();
      expect(g.w.fd_write(1, g.iovs([[PAGE - 1, 2]]), 1, g.out())).toBe(FAULT);
      expect(g.logs).toEqual([]);
    });
  });
});

describe('path_open under the preopened dir (fd 3)', () => {
  it('opens a known name as fd 5, then 6 (fd 4 is the call fd), each reaching its own device', () => {
    const g = new Guest();
    const sda = new FakeDevice('fake:sda');
    const sdb = new FakeDevice('fake:sdb');
    g.ns.add('sda', sda);
    g.ns.add('sdb', sdb);
    expect(g.open('sda')).toEqual({ errno: SUCCESS, fd: 5 });
    expect(g.open('sdb')).toEqual({ errno: SUCCESS, fd: 6 });
    expect(g.write(6, sgRequest({ cdb: [0x12, 0, 0, 0, 8, 0], replyLen: 44 })).errno).toBe(SUCCESS);
    expect(g.read(6, [64]).nread).toBe(36);
    expect(sdb.commands.map((c) => [...c.cdb])).toEqual([[0x12, 0, 0, 0, 8, 0]]);
    expect(sda.commands).toHaveLength(0);
    expect(g.shim.fds.deviceCount).toBe(2);
  });

  it('an unknown name is ENOENT', () => {
    const g = new Guest();
    g.ns.add('sda', new FakeDevice());
    expect(g.open('sdz').errno).toBe(NOENT);
    expect(g.open('SDA').errno).toBe(NOENT);
    expect(g.open('').errno).toBe(NOENT);
    expect(g.open('.').errno).toBe(NOENT);
    expect(g.open('sda/').errno).toBe(NOENT);
    expect(g.open('x/sda').errno).toBe(NOENT);
    expect(g.shim.fds.deviceCount).toBe(0);
  });

  it.each(['..', '../sda', '../../etc/passwd', '/sda', '/dev/sda', '/'])("'%s' is ENOTCAPABLE", (name) => {
    const g = new Guest();
    g.ns.add('sda', new FakeDevice());
    expect(g.open(name).errno).toBe(NOTCAPABLE);
  });

  it.each([
    { flag: 'CREAT', oflags: 1 },
    { flag: 'EXCL', oflags: 4 },
    { flag: 'TRUNC', oflags: 8 },
    { flag: 'CREAT|EXCL', oflags: 5 },
    { flag: 'CREAT|DIRECTORY', oflags: 3 },
  ])('oflags $flag is EROFS, for known and unknown names', ({ oflags }) => {
    const g = new Guest();
    g.ns.add('sda', new FakeDevice());
    expect(g.open('sda', { oflags }).errno).toBe(ROFS);
    expect(g.open('new', { oflags }).errno).toBe(ROFS);
    expect(g.shim.fds.deviceCount).toBe(0);
  });

  it('oflags DIRECTORY on a device is ENOTDIR', () => {
    const g = new Guest();
    g.ns.add('sda', new FakeDevice());
    expect(g.open('sda', { oflags: 2 }).errno).toBe(NOTDIR);
    expect(g.shim.fds.deviceCount).toBe(0);
  });

  it('a device fd or a stdio fd as dirfd is ENOTDIR; an unknown dirfd is EBADF', () => {
    const g = new Guest();
    const { fd } = g.device('sda');
    expect(g.open('sda', { dirfd: fd }).errno).toBe(NOTDIR);
    expect(g.open('sda', { dirfd: 1 }).errno).toBe(NOTDIR);
    expect(g.open('sda', { dirfd: 17 }).errno).toBe(BADF);
    expect(g.open('sda', { dirfd: -1 }).errno).toBe(BADF);
  });

  it('names longer than 255 bytes are ENAMETOOLONG; 255 bytes is a name', () => {
    const g = new Guest();
    const long255 = 'a'.repeat(255);
    g.ns.add(long255, new FakeDevice());
    expect(g.open('b'.repeat(255)).errno).toBe(NOENT);
    expect(g.open(long255)).toEqual({ errno: SUCCESS, fd: 5 });
    expect(g.open('a'.repeat(256)).errno).toBe(NAMETOOLONG);
    expect(g.open('é'.repeat(128)).errno).toBe(NAMETOOLONG); // 256 bytes, 128 characters
    expect(g.open('x'.repeat(4096)).errno).toBe(NAMETOOLONG);
  });

  it('a UTF-8 name is matched by its bytes', () => {
    const g = new Guest();
    g.ns.add('lün', new FakeDevice());
    expect(g.open(Uint8Array.from([0x6c, 0xc3, 0xbc, 0x6e])).errno).toBe(SUCCESS);
  });

  it('a path or out pointer outside memory is EFAULT', () => {
    const g = new Guest();
    g.ns.add('sda', new FakeDevice());
    const path = g.put(Buffer.from('sda'));
    expect(g.w.path_open(3, 0, PAGE - 2, 3, 0, ALL_RIGHTS, ALL_RIGHTS, 0, g.out())).toBe(FAULT);
    expect(g.w.path_open(3, 0, path, 3, 0, ALL_RIGHTS, ALL_RIGHTS, 0, PAGE - 3)).toBe(FAULT);
    expect(g.w.path_open(3, 0, path, -1, 0, ALL_RIGHTS, ALL_RIGHTS, 0, g.out())).toBe(FAULT);
    expect(g.shim.fds.deviceCount).toBe(0);
  });

  it('reuses closed fd numbers lowest first', () => {
    const g = new Guest();
    g.ns.add('sda', new FakeDevice());
    expect([g.open('sda').fd, g.open('sda').fd, g.open('sda').fd]).toEqual([5, 6, 7]);
    expect(g.w.fd_close(6)).toBe(SUCCESS);
    expect(g.open('sda').fd).toBe(6);
    expect(g.w.fd_close(7)).toBe(SUCCESS);
    expect(g.w.fd_close(5)).toBe(SUCCESS);
    expect(g.open('sda').fd).toBe(5);
    expect(g.open('sda').fd).toBe(7);
    expect(g.open('sda').fd).toBe(8);
    expect(g.shim.fds.deviceCount).toBe(4);
  });

  it('a reused fd number reaches the newly opened device, not the reply left on the old one', () => {
    const g = new Guest();
    const { dev: sda, fd } = g.device('sda');
    const { dev: sdb } = g.device('sdb');
    g.write(fd, sgRequest({ cdb: TUR, packId: 1 }));
    expect(g.w.fd_close(fd)).toBe(SUCCESS);
    expect(g.open('sdb').fd).toBe(fd);
    expect(g.read(fd, [64]).errno).toBe(AGAIN);
    expect(g.write(fd, sgRequest({ cdb: TUR, packId: 2 })).errno).toBe(SUCCESS);
    expect(sgReply(g.read(fd, [64]).bytes).packId).toBe(2);
    expect([sda.commands.length, sdb.commands.length]).toEqual([1, 1]);
  });
});

describe('the rest of the WASI subset', () => {
  it('fd_prestat_get describes fd 3 as a directory named with 3 bytes', () => {
    const g = new Guest();
    const out = g.alloc(8);
    expect(g.w.fd_prestat_get(3, out)).toBe(SUCCESS);
    expect(g.u32(out)).toBe(0); // preopentype dir
    expect(g.u32(out + 4)).toBe(3);
    expect(g.w.fd_prestat_get(3, PAGE - 4)).toBe(FAULT);
  });

  it('fd_prestat_get on anything but the preopen is EBADF (how a libc ends its preopen scan)', () => {
    const g = new Guest();
    const { fd } = g.device();
    for (const f of [0, 1, 2, fd, fd + 1]) expect(g.w.fd_prestat_get(f, g.alloc(8))).toBe(BADF);
  });

  it("fd_prestat_dir_name writes 'dev', and a short buffer is ENAMETOOLONG", () => {
    const g = new Guest();
    const exact = g.alloc(3);
    expect(g.w.fd_prestat_dir_name(3, exact, 3)).toBe(SUCCESS);
    expect(Buffer.from(g.get(exact, 3)).toString()).toBe('dev');

    const roomy = g.alloc(10);
    expect(g.w.fd_prestat_dir_name(3, roomy, 10)).toBe(SUCCESS);
    expect(g.get(roomy, 10)).toEqual(Uint8Array.from([0x64, 0x65, 0x76, ...poison(7)])); // no NUL, nothing more

    const short = g.alloc(2);
    expect(g.w.fd_prestat_dir_name(3, short, 2)).toBe(NAMETOOLONG);
    expect(g.w.fd_prestat_dir_name(3, short, 0)).toBe(NAMETOOLONG);
    expect(g.get(short, 2)).toEqual(poison(2));

    expect(g.w.fd_prestat_dir_name(3, PAGE - 1, 3)).toBe(FAULT);
    expect(g.w.fd_prestat_dir_name(1, exact, 3)).toBe(BADF);
    expect(g.w.fd_prestat_dir_name(8, exact, 3)).toBe(BADF);
  });

  it('fd_fdstat_get: fd 3 is a directory (3), a device fd a non-blocking character device (2, NONBLOCK 0x4)', () => {
    const g = new Guest();
    const { fd } = g.device();
    const dir = g.alloc(24);
    expect(g.w.fd_fdstat_get(3, dir)).toBe(SUCCESS);
    expect(g.get(dir, 1)[0]).toBe(3);
    expect(g.get(dir + 1, 7)).toEqual(new Uint8Array(7)); // padding and fs_flags zeroed
    expect(g.u64(dir + 8)).toBe(ALL_RIGHTS);
    expect(g.u64(dir + 16)).toBe(ALL_RIGHTS);

    const dev = g.alloc(24);
    expect(g.w.fd_fdstat_get(fd, dev)).toBe(SUCCESS);
    expect(g.get(dev, 1)[0]).toBe(2);
    // fs_flags, the u16 at offset 2: NONBLOCK alone, as Linux /dev/sgN opened with O_NONBLOCK
    expect(g.get(dev + 1, 7)).toEqual(Uint8Array.of(0, 0x04, 0, 0, 0, 0, 0));
    expect(g.u64(dev + 8)).toBe(ALL_RIGHTS);
    expect(g.u64(dev + 16)).toBe(0n);
    expect(g.get(dev + 24, 4)).toEqual(poison(4)); // exactly 24 bytes written

    expect(g.w.fd_fdstat_get(fd, PAGE - 23)).toBe(FAULT);
  });

  it('clock_time_get: realtime near Date.now(), monotonic non-decreasing, unknown id EINVAL', () => {
    const g = new Guest();
    const out = g.alloc(8);
    const before = BigInt(Date.now()) * 1_000_000n;
    expect(g.w.clock_time_get(0, 1n, out)).toBe(SUCCESS);
    const after = BigInt(Date.now()) * 1_000_000n;
    const real = g.u64(out);
    const slack = 5_000_000_000n; // 5 s
    expect(real >= before - slack && real <= after + slack).toBe(true);

    let last = 0n;
    for (let i = 0; i < 50; i++) {
      expect(g.w.clock_time_get(1, 0n, out)).toBe(SUCCESS);
      const t = g.u64(out);
      expect(t >= last).toBe(true);
      last = t;
    }
    expect(last > 0n).toBe(true);

    for (const id of [2, 3]) expect(g.w.clock_time_get(id, 0n, out)).toBe(SUCCESS);

    const untouched = g.alloc(8);
    expect(g.w.clock_time_get(99, 0n, untouched)).toBe(INVAL);
    expect(g.w.clock_time_get(-1, 0n, untouched)).toBe(INVAL);
    expect(g.get(untouched, 8)).toEqual(poison(8));
    expect(g.w.clock_time_get(0, 0n, PAGE - 4)).toBe(FAULT);
  });

  it('random_get fills exactly the bytes asked for', () => {
    const g = new Guest();
    const buf = g.alloc(64);
    expect(g.w.random_get(buf, 64)).toBe(SUCCESS);
    expect(g.get(buf, 64).some((b) => b !== 0)).toBe(true);
    expect(g.get(buf, 64).every((b) => b === POISON)).toBe(false);
    expect(g.get(buf + 64, 8)).toEqual(poison(8));
    expect(g.w.random_get(buf, 0)).toBe(SUCCESS);
    expect(g.w.random_get(PAGE - 10, 64)).toBe(FAULT);
  });

  it('args and environ are empty', () => {
    const g = new Guest();
    const a = g.alloc(4);
    const b = g.alloc(4);
    expect(g.w.args_sizes_get(a, b)).toBe(SUCCESS);
    expect([g.u32(a), g.u32(b)]).toEqual([0, 0]);
    const c = g.alloc(4);
    const d = g.alloc(4);
    expect(g.w.environ_sizes_get(c, d)).toBe(SUCCESS);
    expect([g.u32(c), g.u32(d)]).toEqual([0, 0]);
    expect(g.w.args_get(g.alloc(4), g.alloc(4))).toBe(SUCCESS);
    expect(g.w.environ_get(g.alloc(4), g.alloc(4))).toBe(SUCCESS);
    expect(g.w.args_sizes_get(PAGE, b)).toBe(FAULT);
    expect(g.w.environ_sizes_get(c, PAGE - 1)).toBe(FAULT);
  });

  it('sched_yield succeeds', () => {
    expect(new Guest().w.sched_yield()).toBe(SUCCESS);
  });

  it('proc_exit throws ProcExit carrying the code', () => {
    const g = new Guest();
    let thrown: unknown;
    try {
      g.w.proc_exit(42);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ProcExit);
    expect((thrown as ProcExit).code).toBe(42);
    expect(() => g.w.proc_exit(0)).toThrow(ProcExit);
  });

  it('fd_write to fd 1 and fd 2 reaches the log sink with the text', () => {
    const g = new Guest();
    const text = Buffer.from('path sda: ok — grüße\n');
    expect(g.write(1, text, [5, 14])).toEqual({ errno: SUCCESS, nwritten: text.length });
    expect(g.write(2, Buffer.from('oops'))).toEqual({ errno: SUCCESS, nwritten: 4 });
    expect(g.logs).toEqual([
      ['stdout', 'path sda: ok — grüße\n', 0],
      ['stderr', 'oops', 0],
    ]);
  });

  it('fd_pread reaches the device with the offset and the iovecs’ total length', () => {
    const g = new Guest();
    const { dev, fd } = g.device();
    const r = g.read(fd, [100, 412], 4096n);
    expect(r.errno).toBe(SUCCESS);
    expect(r.nread).toBe(512);
    expect(r.bytes).toEqual(pattern(4096, 512));
    expect(dev.reads).toEqual([{ offset: 4096, length: 512 }]);
    expect(dev.commands).toHaveLength(0);
    expect(dev.io.state).toBe(IoState.IDLE);
  });

  it('fd_pread: short data, a large offset, a device failure, a negative offset', () => {
    const g = new Guest();
    // 2^32 blocks of 512 bytes: offset 2^40 is inside
    const { dev, fd } = g.device('big', new FakeDevice('fake:big', 512, 2 ** 32));
    dev.answer(Uint8Array.from([1, 2, 3]), { errno: IO });
    const short = g.read(fd, [2, 8], 1n << 40n);
    expect(short.nread).toBe(3);
    expect(short.bytes).toEqual(Uint8Array.from([1, 2, 3]));
    expect(short.bufs[1]!.subarray(1)).toEqual(poison(7));
    expect(dev.reads[0]!.offset).toBe(2 ** 40);
    expect(g.read(fd, [16], 0n)).toMatchObject({ errno: IO, nread: 0xeeeeeeee });
    expect(g.read(fd, [16], -1n).errno).toBe(INVAL);
    expect(dev.reads).toHaveLength(2);
  });

  it('fd_pread not wholly inside the device, or longer than one transfer, is EINVAL and reaches no device', () => {
    const g = new Guest();
    g.memory.grow(2); // room for a 64 KiB + 1 buffer
    const { dev: small, fd } = g.device('small', new FakeDevice('fake:small', 512, 2));
    const { dev: big, fd: bigFd } = g.device('big', new FakeDevice('fake:big', 512, 2 ** 32));
    for (const [offset, length] of [[1023n, 2], [1024n, 1], [0n, 1025], [-1n, 1], [1n << 53n, 1], [1n << 63n, 1]] as const) {
      expect(g.read(fd, [length], offset).errno, `${offset} + ${length}`).toBe(INVAL);
    }
    expect(g.read(bigFd, [65536, 1], 0n).errno).toBe(INVAL);
    expect([small.reads, big.reads]).toEqual([[], []]);
    expect(small.io.state).toBe(IoState.IDLE);
    // the whole device, and an empty read at its end, are inside
    expect(g.read(fd, [1024], 0n).bytes).toEqual(pattern(0, 1024));
    expect(g.read(fd, [], 1024n)).toMatchObject({ errno: SUCCESS, nread: 0 });
    expect(small.reads).toEqual([
      { offset: 0, length: 1024 },
      { offset: 1024, length: 0 },
    ]);
  });

  it('fd_pread on a device whose capacity is not known yet (0 blocks) reaches the device, which checks it; one longer than a transfer still does not', () => {
    const g = new Guest();
    g.memory.grow(2);
    const { dev, fd } = g.device('unknown', new FakeDevice('fake:unknown', 0, 0));
    expect(g.read(fd, [16], 1n << 40n).errno).toBe(SUCCESS);
    expect(g.read(fd, [65536, 1], 0n).errno).toBe(INVAL);
    expect(dev.reads).toEqual([{ offset: 2 ** 40, length: 16 }]);
  });
});

describe('non-blocking device fds', () => {
  /** A guest whose device leaves its next `n` commands outstanding until the test finishes them. */
  function later(n = 1) {
    const g = new Guest();
    const { dev, fd } = g.device();
    for (let i = 0; i < n; i++) dev.answer(LATER);
    return { g, dev, fd };
  }

  it('fd_write submits and returns the byte count while the device has not answered', () => {
    const { g, dev, fd } = later();
    expect(g.write(fd, sgRequest({ cdb: TUR, packId: 8 }), [10])).toEqual({ errno: SUCCESS, nwritten: 42 });
    expect(dev.commands).toHaveLength(1);
    expect(dev.io.state).toBe(IoState.SUBMITTED);
  });

  it('fd_read is EAGAIN, touching nothing, until the device completes; then it returns the reply once', () => {
    const { g, dev, fd } = later();
    g.write(fd, sgRequest({ cdb: TUR, packId: 8 }));
    for (let i = 0; i < 3; i++) {
      const r = g.read(fd, [64]);
      expect(r).toMatchObject({ errno: AGAIN, nread: 0xeeeeeeee });
      expect(r.bufs[0]).toEqual(poison(64));
    }
    dev.finish(outcome({ status: 0x02, sense: SENSE_18 }));
    const r = g.read(fd, [64]);
    expect(r.errno).toBe(SUCCESS);
    expect(sgReply(r.bytes)).toMatchObject({ packId: 8, word: word(0x02, 0, 0x08) });
    expect(g.read(fd, [64]).errno).toBe(AGAIN);
    expect(dev.commands).toHaveLength(1);
  });

  // A check's result must not depend on when its device answered.
  it('a reply completed later is the same frame, byte for byte, as one completed at once', () => {
    const data = bytesOf(96, 3);
    const answer = outcome({ status: 0x02, hostStatus: 0x03, driverStatus: 0x06, sense: SENSE_18, dataIn: data });
    const [atOnce, completedLater] = ([answer, LATER] as const).map((program) => {
      const g = new Guest();
      const { dev, fd } = g.device();
      dev.answer(program);
      g.write(fd, sgRequest({ cdb: [0x12, 0, 0, 0, 96, 0], replyLen: HDR + 96, packId: -5 }));
      if (program === LATER) dev.finish(answer);
      return g.read(fd, [40, 20]); // cut to the read buffer
    });
    expect(completedLater!.errno).toBe(SUCCESS);
    expect(completedLater!.bytes).toEqual(atOnce!.bytes);
    expect(sgReply(completedLater!.bytes)).toEqual({
      packLen: 132,
      replyLen: 132,
      packId: -5,
      result: 0,
      word: word(0x02, 0x03, 0x06 | 0x08),
      sense: Uint8Array.from(SENSE_18.slice(0, 16)),
      data: data.subarray(0, 24),
    });
  });

  it('fd_pread submits, is EAGAIN while outstanding, and the same offset and length collect it', () => {
    const { g, dev, fd } = later();
    const first = g.read(fd, [8, 8], 512n);
    expect(first).toMatchObject({ errno: AGAIN, nread: 0xeeeeeeee });
    expect(first.bufs).toEqual([poison(8), poison(8)]);
    expect(g.read(fd, [16], 512n).errno).toBe(AGAIN); // the same read, however the iovecs cut it
    expect(dev.reads).toEqual([{ offset: 512, length: 16 }]); // submitted once
    dev.finish();
    const r = g.read(fd, [4, 12], 512n);
    expect(r.errno).toBe(SUCCESS);
    expect(r.bytes).toEqual(pattern(512, 16));
    // collected: the same call again is a new read
    expect(g.read(fd, [16], 512n).errno).toBe(SUCCESS);
    expect(dev.reads).toHaveLength(2);
  });

  it('fd_pread of another offset or length while one is outstanding or unread is EBUSY, and leaves it', () => {
    const { g, dev, fd } = later();
    expect(g.read(fd, [16], 0n).errno).toBe(AGAIN);
    expect(g.read(fd, [16], 512n).errno).toBe(BUSY);
    expect(g.read(fd, [8], 0n).errno).toBe(BUSY);
    dev.finish();
    expect(g.read(fd, [16], 512n).errno).toBe(BUSY);
    expect(g.read(fd, [17], 0n).errno).toBe(BUSY);
    expect(g.read(fd, [16], 0n).bytes).toEqual(pattern(0, 16));
    expect(dev.reads).toEqual([{ offset: 0, length: 16 }]);
  });

  it('fd_pread: a failure completed later is what the collecting call returns, and frees the device', () => {
    const { g, dev, fd } = later();
    expect(g.read(fd, [16], 0n).errno).toBe(AGAIN);
    dev.finish({ errno: IO });
    const r = g.read(fd, [16], 0n);
    expect(r).toMatchObject({ errno: IO, nread: 0xeeeeeeee });
    expect(r.bufs[0]).toEqual(poison(16));
    expect(g.read(fd, [16], 0n).errno).toBe(SUCCESS);
    expect(dev.reads).toHaveLength(2);
  });

  it('fd_pread and sg commands exclude each other on a device', () => {
    const { g, dev, fd } = later(2);
    g.write(fd, sgRequest({ cdb: TUR, packId: 4 }));
    expect(g.read(fd, [512], 0n).errno).toBe(BUSY); // an sg command outstanding
    dev.finish();
    expect(g.read(fd, [512], 0n).errno).toBe(BUSY); // its reply unread
    expect(sgReply(g.read(fd, [64]).bytes).packId).toBe(4);

    expect(g.read(fd, [512], 0n).errno).toBe(AGAIN);
    expect(g.write(fd, sgRequest({ cdb: TUR })).errno).toBe(BUSY); // a plain read outstanding
    dev.finish();
    expect(g.write(fd, sgRequest({ cdb: TUR })).errno).toBe(BUSY); // its data uncollected
    expect(g.read(fd, [64]).errno).toBe(AGAIN); // fd_read does not take a plain read's data
    expect(g.read(fd, [512], 0n).bytes).toEqual(pattern(0, 512));
    expect([dev.commands.length, dev.reads.length]).toEqual([1, 1]);
  });

  // What lets a parked check resume on another worker: the outstanding command is the device's, not the fd's.
  describe("another instance's fd for the same device collects the reply", () => {
    /** Two instances of one class (the same memory, the second allocating clear of the first), each with an fd for one device. */
    function pair() {
      const g = new Guest();
      const h = new Guest(g.memory, PAGE / 2);
      const dev = new FakeDevice('fake:sda');
      const other = new FakeDevice('fake:sda', 512, 2048, new IoSlot(dev.io.shared));
      dev.answer(LATER);
      return { g, h, dev, other, a: g.shim.fds.openDevice(dev), b: h.shim.fds.openDevice(other) };
    }

    it("an sg reply belongs to the job that submitted it: another job's call sees it outstanding", async () => {
      const { g, h, dev, a, b } = pair();
      g.shim.owner = 7;
      h.shim.owner = 8;
      expect(g.write(a, sgRequest({ cdb: TUR, packId: 41 })).errno).toBe(SUCCESS);
      await completed(dev, () => dev.finish(outcome()));
      // Job 8 (another binding of the device, on another thread) can neither take nor overwrite it.
      expect(h.read(b, [64]).errno).toBe(AGAIN);
      expect(h.write(b, sgRequest({ cdb: TUR, packId: 42 })).errno).toBe(BUSY);
      expect(h.read(b, [8], 0n).errno).toBe(BUSY);
      expect(dev.io.state).toBe(IoState.COMPLETE);
      // Job 7, continued on the other instance, collects it.
      h.shim.owner = 7;
      const r = h.read(b, [64]);
      expect(r.errno).toBe(SUCCESS);
      expect(sgReply(r.bytes).packId).toBe(41);
    });

    it('an sg reply', async () => {
      const { g, h, dev, other, a, b } = pair();
      expect(g.write(a, sgRequest({ cdb: TUR, packId: 31 })).errno).toBe(SUCCESS);
      expect(g.read(a, [64]).errno).toBe(AGAIN);
      expect(h.read(b, [64]).errno).toBe(AGAIN);
      expect(h.write(b, sgRequest({ cdb: TUR, packId: 32 })).errno).toBe(BUSY);
      await completed(dev, () => dev.finish(outcome({ status: 0x02, sense: SENSE_18 })));
      const r = h.read(b, [64]);
      expect(r.errno).toBe(SUCCESS);
      expect(sgReply(r.bytes)).toMatchObject({ packLen: HDR, packId: 31, word: word(0x02, 0, 0x08), sense: Uint8Array.from(SENSE_18.slice(0, 16)) });
      expect(g.read(a, [64]).errno).toBe(AGAIN); // read once, by whichever fd
      expect([dev.commands.length, other.commands.length]).toEqual([1, 0]);
    });

    it('a plain read', () => {
      const { g, h, dev, other, a, b } = pair();
      expect(g.read(a, [16], 1024n).errno).toBe(AGAIN);
      expect(h.read(b, [16], 0n).errno).toBe(BUSY);
      dev.finish();
      expect(h.read(b, [16], 1024n).bytes).toEqual(pattern(1024, 16));
      expect([dev.reads.length, other.reads.length]).toEqual([1, 0]);
    });

    it('a SimDevice attached through share(), completed by its I/O side on this thread', async () => {
      const g = new Guest();
      const h = new Guest(g.memory, PAGE / 2);
      const sim = SimDevice.fromSpec('sim:hang');
      const a = g.shim.fds.openDevice(sim);
      const b = h.shim.fds.openDevice(SimDevice.fromShared(sim.share()));
      expect(g.write(a, sgRequest({ cdb: TUR, packId: 7 })).errno).toBe(SUCCESS);
      expect(g.read(a, [64]).errno).toBe(AGAIN);
      await completed(sim, () => sim.release());
      const r = h.read(b, [64]);
      expect(r.errno).toBe(SUCCESS);
      expect(sgReply(r.bytes)).toEqual({ packLen: HDR, replyLen: HDR, packId: 7, result: 0, word: 0, sense: new Uint8Array(16), data: new Uint8Array(0) });
      expect(g.read(a, [64]).errno).toBe(AGAIN);
    });
  });
});

/** The host's I/O side, as the pool runs it on the main thread: claim the command, start it, `answer` it, await done. */
async function completed(device: Device, answer: () => void): Promise<void> {
  expect(device.io.claim()).toBe(true);
  const done = new Promise<void>((resolve) => device.start(resolve));
  answer();
  await done;
}
