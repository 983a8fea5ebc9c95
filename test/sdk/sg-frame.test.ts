// Unit tests of the plugin SDK's sg v2 frame code (assembly/sdk/sg.ts, scsi.ts, message.ts), run
// against the real AssemblyScript compiled with the checkers' flags: test/fixtures/sdk-harness.ts
// exports thin wrappers, the test writes and reads frames in the shared memory, and stub WASI
// fd_write/fd_read record what sgSubmit sends and what sgCollect asks for, and hand back a canned
// reply (or EAGAIN, as a non-blocking device fd does before the device has answered).

import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cdbLength, packStatusWord } from '../../host/shim/sg-header.js';
import { loadSdkHarness, type HarnessFn } from '../helpers/sdk-harness.js';

// ---- stub WASI: records every fd_write/fd_read and answers with a canned reply -------------

interface Iovec {
  buf: number;
  len: number;
}

interface WasiCall {
  fn: 'fd_write' | 'fd_read';
  fd: number;
  iovs: number;
  iovsLen: number;
  out: number;
  /** The iovecs as they were when the call was made. */
  iovecs: Iovec[];
  /** fd_write: the bytes gathered from the iovecs. */
  bytes: Uint8Array;
}

const wasi = {
  calls: [] as WasiCall[],
  /** errno fd_write returns (nothing is stored when non-zero). */
  writeErrno: 0,
  /** bytes fd_write reports fewer than it was given. */
  writeShortBy: 0,
  /** false: fd_write succeeds without storing the byte count. */
  writeStoresCount: true,
  /** errno fd_read returns (nothing is stored when non-zero). */
  readErrno: 0,
  /** false: fd_read succeeds without storing the byte count. */
  readStoresCount: true,
  /** the frame fd_read scatters into the iovecs (truncated to their capacity, as in Linux). */
  reply: new Uint8Array(0) as Uint8Array,
  reset(): void {
    this.calls = [];
    this.writeErrno = 0;
    this.writeShortBy = 0;
    this.writeStoresCount = true;
    this.readErrno = 0;
    this.readStoresCount = true;
    this.reply = new Uint8Array(0);
  },
};

let memory: WebAssembly.Memory;
let h: Record<string, HarnessFn>;
let harnessWat: string;
let harnessImports: WebAssembly.ModuleImportDescriptor[];

const mem = (): Uint8Array => new Uint8Array(memory.buffer);
const view = (): DataView => new DataView(memory.buffer);

function readIovecs(iovs: number, n: number): Iovec[] {
  const v = view();
  const out: Iovec[] = [];
  for (let i = 0; i < n; i++) out.push({ buf: v.getUint32(iovs + 8 * i, true), len: v.getUint32(iovs + 8 * i + 4, true) });
  return out;
}

const wasiImports = {
  fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number): number {
    const iovecs = readIovecs(iovs, iovsLen);
    const total = iovecs.reduce((s, io) => s + io.len, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const io of iovecs) {
      bytes.set(mem().subarray(io.buf, io.buf + io.len), at);
      at += io.len;
    }
    wasi.calls.push({ fn: 'fd_write', fd, iovs, iovsLen, out: nwritten, iovecs, bytes });
    if (wasi.writeErrno !== 0) return wasi.writeErrno;
    if (wasi.writeStoresCount) view().setUint32(nwritten, total - wasi.writeShortBy, true);
    return 0;
  },
  fd_read(fd: number, iovs: number, iovsLen: number, nread: number): number {
    const iovecs = readIovecs(iovs, iovsLen);
    wasi.calls.push({ fn: 'fd_read', fd, iovs, iovsLen, out: nread, iovecs, bytes: new Uint8Array(0) });
    if (wasi.readErrno !== 0) return wasi.readErrno;
    let at = 0;
    for (const io of iovecs) {
      const n = Math.min(io.len, wasi.reply.length - at);
      if (n <= 0) break;
      mem().set(wasi.reply.subarray(at, at + n), io.buf);
      at += n;
    }
    if (wasi.readStoresCount) view().setUint32(nread, at, true);
    return 0;
  },
};

beforeAll(async () => {
  ({ memory, h, wat: harnessWat, imports: harnessImports } = await loadSdkHarness(wasiImports));
});

// Test buffers, well above the harness's (empty) static data.
const IO = 0x4000;
const REQ = 0x4100;
const REPLY = 0x4200;
const FILL = 0xaa;

beforeEach(() => {
  wasi.reset();
  mem().fill(FILL, IO, IO + 0x1000);
});

const u32 = (at: number): number => view().getUint32(at, true);
const i32 = (at: number): number => view().getInt32(at, true);
const bytesAt = (at: number, n: number): number[] => [...mem().subarray(at, at + n)];
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** A reply frame: header fields at the offsets of docs/ABI.md, the status word given raw. */
function replyFrame(f: { packId?: number; result?: number; word?: number; sense?: number[]; data?: number[] }): Uint8Array {
  const data = f.data ?? [];
  const b = new Uint8Array(36 + data.length);
  const v = new DataView(b.buffer);
  v.setInt32(0, 36 + data.length, true);
  v.setInt32(4, 36 + data.length, true);
  v.setInt32(8, f.packId ?? 0, true);
  v.setInt32(12, f.result ?? 0, true);
  v.setUint32(16, f.word ?? 0, true);
  b.set(f.sense ?? [], 20);
  b.set(data, 36);
  return b;
}

describe('the compiled harness', () => {
  it('is built like a checker: imports only env.memory (shared) and the two WASI calls sgSubmit and sgCollect make', () => {
    expect(harnessImports.map((i) => `${i.module}.${i.name}:${i.kind}`).sort()).toEqual([
      'env.memory:memory',
      'wasi_snapshot_preview1.fd_read:function',
      'wasi_snapshot_preview1.fd_write:function',
    ]);
    expect(harnessWat).toContain('(import "env" "memory" (memory $0 1 16384 shared))');
  });

  it('sees the SDK constants of docs/ABI.md', () => {
    expect(h.h_sg_header_size!()).toBe(36);
    expect(h.h_sg_sense_offset!()).toBe(20);
    expect(h.h_sg_sense_size!()).toBe(16);
    expect(h.h_sg_max_cdb_len!()).toBe(16);
    expect(h.h_iovec_size!()).toBe(8);
    // sgSubmit and sgCollect keep one iovec and a u32 byte count in io: 12 bytes must fit.
    expect(h.h_sg_io_scratch!()).toBe(16);
    expect(h.h_errno_again!()).toBe(6); // WASI EAGAIN
    expect(h.h_errno_io!()).toBe(29); // WASI EIO
    expect(h.h_first_msgid!()).toBe(100);
    expect(h.h_path_max_state!()).toBe(10);
  });
});

describe('sgRequest: the request header', () => {
  it('writes pack_len, reply_len, pack_id at offsets 0, 4, 8 and zeroes result, flags and sense', () => {
    const total = h.h_sg_request!(REQ, 10, 8, 36 + 512, 0x12345678, 0);
    expect(total).toBe(36 + 10 + 8);
    expect(u32(REQ + 0)).toBe(54); // pack_len: header + CDB + data-out
    expect(u32(REQ + 4)).toBe(548); // reply_len
    expect(u32(REQ + 8)).toBe(0x12345678); // pack_id
    expect(u32(REQ + 12)).toBe(0); // result
    expect(u32(REQ + 16)).toBe(0); // twelve_byte clear, status bits clear
    expect(bytesAt(REQ + 20, 16)).toEqual(new Array(16).fill(0)); // sense_buffer
    expect(bytesAt(REQ, 36)).toEqual([
      ...le32(54), ...le32(548), ...le32(0x12345678), ...le32(0), ...le32(0), ...new Array(16).fill(0),
    ]);
    // The CDB and anything after it are the caller's: untouched.
    expect(bytesAt(REQ + 36, 18)).toEqual(new Array(18).fill(FILL));
    expect(mem()[REQ - 1]).toBe(FILL);
  });

  it('sets only bit 0 of the flags word for twelve_byte', () => {
    const total = h.h_sg_request!(REQ, 12, 0, 36, 1, 1);
    expect(total).toBe(48);
    expect(u32(REQ + 16)).toBe(1);
    expect(bytesAt(REQ + 16, 4)).toEqual([1, 0, 0, 0]);
    expect(bytesAt(REQ + 12, 4)).toEqual([0, 0, 0, 0]);
  });

  it('stores a negative pack_id as its two\'s complement', () => {
    h.h_sg_request!(REQ, 6, 0, 36, -2, 0);
    expect(bytesAt(REQ + 8, 4)).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect(i32(REQ + 8)).toBe(-2);
  });

  it('sgCdb is the byte after the header; sgCdbInit zeroes exactly len bytes and sets the opcode', () => {
    expect(h.h_sg_cdb!(REQ)).toBe(REQ + 36);
    h.h_sg_cdb_init!(REQ, 0x12, 6);
    expect(bytesAt(REQ + 36, 7)).toEqual([0x12, 0, 0, 0, 0, 0, FILL]);
    expect(bytesAt(REQ, 36)).toEqual(new Array(36).fill(FILL)); // the header is not touched
    h.h_sg_cdb_init!(REQ, 0x88, 16);
    expect(bytesAt(REQ + 36, 17)).toEqual([0x88, ...new Array(15).fill(0), FILL]);
  });

  it('builds a TEST UNIT READY frame byte for byte', () => {
    const len = h.h_sg_request!(REQ, 6, 0, 36, 7, 0);
    h.h_sg_cdb_init!(REQ, 0x00, 6);
    expect(len).toBe(42);
    expect(bytesAt(REQ, 43)).toEqual([
      42, 0, 0, 0, // pack_len
      36, 0, 0, 0, // reply_len: the header alone
      7, 0, 0, 0, // pack_id
      0, 0, 0, 0, // result
      0, 0, 0, 0, // flags
      ...new Array(16).fill(0), // sense_buffer
      0, 0, 0, 0, 0, 0, // CDB: TEST UNIT READY
      FILL,
    ]);
  });
});

describe('sgCdbLen: CDB length as the Linux sg driver (sg_write) computes it', () => {
  // COMMAND_SIZE(opcode) = {6, 10, 10, 12, 16, 12, 10, 10}[opcode >> 5]; then 12 when
  // opcode >= 0xc0 and twelve_byte is set.
  const cases: Array<[group: number, opcodes: number[], plain: number, twelve: number]> = [
    [0, [0x00, 0x03, 0x12, 0x1a, 0x1f], 6, 6],
    [1, [0x20, 0x25, 0x28, 0x3f], 10, 10],
    [2, [0x40, 0x5a, 0x5f], 10, 10],
    [3, [0x60, 0x7e, 0x7f], 12, 12],
    [4, [0x80, 0x88, 0x9e, 0x9f], 16, 16],
    [5, [0xa0, 0xa3, 0xa8, 0xbf], 12, 12],
    [6, [0xc0, 0xc5, 0xdf], 10, 12],
    [7, [0xe0, 0xf0, 0xff], 10, 12],
  ];
  for (const [group, opcodes, plain, twelve] of cases) {
    it(`group ${group}: ${plain} bytes, ${twelve} with twelve_byte`, () => {
      for (const op of opcodes) {
        expect([op, h.h_sg_cdb_len!(op, 0)]).toEqual([op, plain]);
        expect([op, h.h_sg_cdb_len!(op, 1)]).toEqual([op, twelve]);
      }
    });
  }

  it('twelve_byte changes only opcodes 0xc0 and up', () => {
    for (let op = 0; op < 256; op++) {
      const changed = h.h_sg_cdb_len!(op, 1) !== h.h_sg_cdb_len!(op, 0);
      expect([op, changed]).toEqual([op, op >= 0xc0]);
    }
  });

  it('agrees with the host shim for every opcode, with and without twelve_byte', () => {
    const mismatches: string[] = [];
    for (let op = 0; op < 256; op++) {
      for (const tb of [false, true]) {
        const sdk = h.h_sg_cdb_len!(op, tb ? 1 : 0);
        const shim = cdbLength(op, tb);
        if (sdk !== shim) mismatches.push(`0x${op.toString(16)}/${tb}: sdk ${sdk}, shim ${shim}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('reply accessors: the status word at offset 16', () => {
  function decode(word: number): [target: number, host: number, driver: number] {
    view().setUint32(REPLY + 16, word >>> 0, true);
    return [h.h_sg_target_status!(REPLY), h.h_sg_host_status!(REPLY), h.h_sg_driver_status!(REPLY)];
  }

  it('GOOD: all zero', () => {
    expect(decode(0)).toEqual([0, 0, 0]);
  });

  it('CHECK CONDITION with DRIVER_SENSE: target 1, driver 0x08', () => {
    // target_status 1 in bits 1..5 (0x2), DRIVER_SENSE 0x08 in bits 14..21 (0x20000)
    expect(decode(0x0002_0002)).toEqual([1, 0, 0x08]);
  });

  it('RESERVATION CONFLICT (SAM 0x18): target 12', () => {
    expect(decode(12 << 1)).toEqual([12, 0, 0]);
    expect(decode(0x18)).toEqual([12, 0, 0]);
  });

  it('BUSY (SAM 0x08): target 4', () => {
    expect(decode(0x08)).toEqual([4, 0, 0]);
  });

  it('DID_NO_CONNECT: host 1 in bits 6..13', () => {
    expect(decode(0x40)).toEqual([0, 0x01, 0]);
  });

  it('DID_TRANSPORT_FAILFAST with DRIVER_TIMEOUT', () => {
    // host 0x0f << 6 = 0x3c0, driver 0x06 << 14 = 0x18000
    expect(decode(0x183c0)).toEqual([0, 0x0f, 0x06]);
  });

  it('CHECK CONDITION, DID_ERROR and DRIVER_SENSE together', () => {
    // 1 << 1 | 0x07 << 6 | 0x08 << 14
    expect(decode(0x2 | 0x1c0 | 0x20000)).toEqual([1, 0x07, 0x08]);
  });

  it('ignores twelve_byte (bit 0) and the unused bits 22..31', () => {
    expect(decode(0x1)).toEqual([0, 0, 0]);
    expect(decode(0xffc0_0000)).toEqual([0, 0, 0]);
    expect(decode(0x8000_0000)).toEqual([0, 0, 0]);
  });

  it('every field at its maximum (sign bit set in the word)', () => {
    expect(decode(0xffff_ffff)).toEqual([0x1f, 0xff, 0xff]);
    expect(decode(0x3f_ffff)).toEqual([0x1f, 0xff, 0xff]);
    expect(decode(0x20_0000)).toEqual([0, 0, 0x80]); // top bit of driver_status
    expect(decode(0x2000)).toEqual([0, 0x80, 0]); // top bit of host_status
    expect(decode(0x20)).toEqual([0x10, 0, 0]); // top bit of target_status
  });

  it('decodes what the host shim packs', () => {
    const combos: Array<[sam: number, host: number, driver: number]> = [
      [0x00, 0x00, 0x00],
      [0x02, 0x00, 0x08],
      [0x18, 0x00, 0x00],
      [0x08, 0x00, 0x00],
      [0x28, 0x00, 0x00],
      [0x00, 0x01, 0x00],
      [0x02, 0x0e, 0x08],
      [0x30, 0xff, 0xff],
    ];
    for (const [sam, host, driver] of combos) {
      expect([sam, host, driver, ...decode(packStatusWord(sam, host, driver))]).toEqual([
        sam, host, driver, h.h_masked_status!(sam), host, driver,
      ]);
    }
  });

  it('maskedStatus is SAM status >> 1 in 5 bits', () => {
    expect(h.h_masked_status!(0x00)).toBe(0); // GOOD
    expect(h.h_masked_status!(0x02)).toBe(1); // CHECK CONDITION
    expect(h.h_masked_status!(0x04)).toBe(2); // CONDITION MET
    expect(h.h_masked_status!(0x08)).toBe(4); // BUSY
    expect(h.h_masked_status!(0x18)).toBe(12); // RESERVATION CONFLICT
    expect(h.h_masked_status!(0x22)).toBe(17); // COMMAND TERMINATED
    expect(h.h_masked_status!(0x28)).toBe(20); // TASK SET FULL
    expect(h.h_masked_status!(0x30)).toBe(24); // ACA ACTIVE
    expect(h.h_masked_status!(0x40)).toBe(0); // TASK ABORTED does not fit the 5-bit field
  });
});

describe('reply accessors: pack_id, result, sense and data pointers', () => {
  it('reads pack_id at 8 and result at 12', () => {
    mem().set(replyFrame({ packId: 0x01020304, result: 5 }), REPLY);
    expect(h.h_sg_pack_id!(REPLY)).toBe(0x01020304);
    expect(h.h_sg_result!(REPLY)).toBe(5);
    mem().set(replyFrame({ packId: -7, result: 0 }), REPLY);
    expect(h.h_sg_pack_id!(REPLY)).toBe(-7);
    expect(h.h_sg_result!(REPLY)).toBe(0);
  });

  it('sense at reply + 20, data-in at reply + 36', () => {
    expect(h.h_sg_sense!(REPLY)).toBe(REPLY + 20);
    expect(h.h_sg_data!(REPLY)).toBe(REPLY + 36);
  });
});

describe('result encoding: state | msgid << 8', () => {
  it('packs state and message id', () => {
    expect(h.h_result!(3, 4)).toBe(0x0403); // up, "reports path is up"
    expect(h.h_result!(2, 100)).toBe(0x6402); // down, first checker message
    expect(h.h_result!(5, 6)).toBe(0x0605); // ghost
    expect(h.h_result!(6, 101)).toBe(0x6506); // pending, second checker message
    expect(h.h_result!(0, 0)).toBe(0);
    expect(h.h_result!(10, 255)).toBe(0xff0a);
  });

  it('keeps each field to 8 bits', () => {
    expect(h.h_result!(0x1ff, 0x1ff)).toBe(0xffff);
    expect(h.h_result!(-1, 0)).toBe(0xff);
    expect(h.h_result!(3, 0x104)).toBe(0x0403);
  });
});

describe('waitOn and PC_WAIT: what pc_check returns to wait for an fd', () => {
  it('PC_WAIT is bit 31 alone: 0x80000000 as a (negative) i32', () => {
    expect(h.h_pc_wait!()).toBe(0x80000000 | 0);
    expect(h.h_pc_wait!()).toBe(-2147483648);
  });

  it('waitOn(fd) is PC_WAIT | fd: negative, the fd in bits 0..15, bits 16..30 clear', () => {
    for (const fd of [0, 1, 3, 4, 5, 9, 100, 0x7fff, 0x8000, 0xffff]) {
      const raw = h.h_wait_on!(fd);
      expect([fd, raw]).toEqual([fd, (0x80000000 | fd) | 0]);
      expect(raw).toBeLessThan(0);
      expect(raw & 0xffff).toBe(fd);
      expect((raw >>> 16) & 0x7fff).toBe(0);
    }
    expect(h.h_wait_on!(5)).toBe(-2147483643);
    expect(le32(h.h_wait_on!(0x1234))).toEqual([0x34, 0x12, 0x00, 0x80]);
  });

  it('keeps only the low 16 bits of the fd: nothing can clear bit 31 or set bits 16..30', () => {
    expect(h.h_wait_on!(0x12345)).toBe((0x80000000 | 0x2345) | 0);
    expect(h.h_wait_on!(0x7fff_0007)).toBe((0x80000000 | 0x0007) | 0);
    expect(h.h_wait_on!(-1)).toBe((0x80000000 | 0xffff) | 0);
    expect(h.h_wait_on!(-2147483648)).toBe(0x80000000 | 0);
  });

  it('never collides with a result: every result() is 0..0xffff, every wait is negative', () => {
    for (const [state, msgid] of [[0, 0], [3, 4], [10, 255], [0xff, 0xff], [-1, -1]] as const) {
      const r = h.h_result!(state, msgid);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r & 0x80000000).toBe(0);
    }
    for (let fd = 0; fd < 64; fd++) expect(h.h_wait_on!(fd) & 0x80000000).not.toBe(0);
  });
});

describe('sgSubmit and sgCollect: one fd_write of the request, later one fd_read of the reply', () => {
  function buildTur(packId: number): number {
    const len = h.h_sg_request!(REQ, 6, 0, 36, packId, 0);
    h.h_sg_cdb_init!(REQ, 0x00, 6);
    return len;
  }

  const TUR_FRAME = (packId: number): number[] => [
    42, 0, 0, 0, 36, 0, 0, 0, ...le32(packId), 0, 0, 0, 0, 0, 0, 0, 0,
    ...new Array(16).fill(0),
    0, 0, 0, 0, 0, 0,
  ];

  it('TEST UNIT READY end to end: exact frame written, iovecs, byte counts, reply read back', () => {
    const len = buildTur(7);

    // Submit: exactly one fd_write of the whole frame, and no read.
    expect(h.h_sg_submit!(5, REQ, len, IO)).toBe(0);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write']);
    const w = wasi.calls[0]!;
    expect(w.fd).toBe(5);
    expect(w.iovs).toBe(IO);
    expect(w.iovsLen).toBe(1);
    expect(w.out).toBe(IO + 8);
    expect(w.iovecs).toEqual([{ buf: REQ, len: 42 }]);
    expect([...w.bytes]).toEqual(TUR_FRAME(7));
    // io: the request's iovec and the written count; nothing past SG_IO_SCRATCH.
    expect([u32(IO), u32(IO + 4), u32(IO + 8)]).toEqual([REQ, 42, 42]);
    expect(bytesAt(IO + 12, 5)).toEqual([FILL, FILL, FILL, FILL, FILL]);
    // The reply buffer is not touched by a submit.
    expect(bytesAt(REPLY, 37)).toEqual(new Array(37).fill(FILL));

    // Collect: exactly one fd_read into the reply buffer, and no write.
    const canned = replyFrame({ packId: 7, word: 0x0002_0002, sense: [0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00] });
    wasi.reply = canned;
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(0);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write', 'fd_read']);
    const r = wasi.calls[1]!;
    expect(r.fd).toBe(5);
    expect(r.iovs).toBe(IO);
    expect(r.iovsLen).toBe(1);
    expect(r.out).toBe(IO + 8);
    expect(r.iovecs).toEqual([{ buf: REPLY, len: 36 }]);

    // The reply landed where asked, and the accessors read it.
    expect(bytesAt(REPLY, 36)).toEqual([...canned]);
    expect(h.h_sg_reply_bytes!(IO)).toBe(36);
    expect(h.h_sg_pack_id!(REPLY)).toBe(7);
    expect(h.h_sg_result!(REPLY)).toBe(0);
    expect(h.h_sg_target_status!(REPLY)).toBe(1);
    expect(h.h_sg_host_status!(REPLY)).toBe(0);
    expect(h.h_sg_driver_status!(REPLY)).toBe(8);
    const s = h.h_sense_from_reply!(h.h_sg_sense!(REPLY), 16, h.h_sg_driver_status!(REPLY));
    expect([h.h_sense_key!(s), h.h_sense_asc!(s), h.h_sense_ascq!(s)]).toEqual([0x06, 0x29, 0x00]);

    // io now holds the reply's iovec and the byte count read, and nothing past SG_IO_SCRATCH.
    expect([u32(IO), u32(IO + 4), u32(IO + 8)]).toEqual([REPLY, 36, 36]);
    expect(bytesAt(IO + 12, 4)).toEqual([FILL, FILL, FILL, FILL]);
    expect(mem()[IO + 16]).toBe(FILL);
    // Beyond the reply capacity nothing is written; the request is left as it was.
    expect(mem()[REPLY + 36]).toBe(FILL);
    expect(bytesAt(REQ, 42)).toEqual(TUR_FRAME(7));
  });

  it('EAGAIN from fd_read is passed through untouched; a later collect gets the reply (a resumed check)', () => {
    const len = buildTur(9);
    expect(h.h_sg_submit!(5, REQ, len, IO)).toBe(0);

    // The device has not answered: fd_read says EAGAIN, and so does sgCollect, writing nothing.
    wasi.readErrno = 6;
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(6);
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(6);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write', 'fd_read', 'fd_read']);
    expect(bytesAt(REPLY, 37)).toEqual(new Array(37).fill(FILL));
    expect(u32(IO + 8)).toBe(0); // the count was reset, and fd_read stored none

    // Answered: the next collect (with a fresh io, as on another thread's scratch) reads it; no second write.
    const IO2 = IO + 0x40;
    wasi.readErrno = 0;
    wasi.reply = replyFrame({ packId: 9 });
    expect(h.h_sg_collect!(5, REPLY, 36, IO2)).toBe(0);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write', 'fd_read', 'fd_read', 'fd_read']);
    expect(wasi.calls[3]!.iovs).toBe(IO2);
    expect(wasi.calls[3]!.iovecs).toEqual([{ buf: REPLY, len: 36 }]);
    expect(h.h_sg_reply_bytes!(IO2)).toBe(36);
    expect(h.h_sg_pack_id!(REPLY)).toBe(9);
    expect(bytesAt(REPLY, 36)).toEqual([...replyFrame({ packId: 9 })]);
  });

  it('a command with data-in: INQUIRY, reply header plus data', () => {
    const len = h.h_sg_request!(REQ, 6, 0, 36 + 96, 0x55, 0);
    h.h_sg_cdb_init!(REQ, 0x12, 6);
    mem()[REQ + 36 + 4] = 96; // allocation length
    const data = Array.from({ length: 40 }, (_, i) => i + 1);
    wasi.reply = replyFrame({ packId: 0x55, data });

    expect(h.h_sg_submit!(9, REQ, len, IO)).toBe(0);
    expect(h.h_sg_collect!(9, REPLY, 36 + 96, IO)).toBe(0);
    const [w, r] = wasi.calls as [WasiCall, WasiCall];
    expect([w.fn, w.fd, r.fn, r.fd]).toEqual(['fd_write', 9, 'fd_read', 9]);
    expect(w.iovecs).toEqual([{ buf: REQ, len: 42 }]);
    expect([...w.bytes.subarray(0, 12)]).toEqual([42, 0, 0, 0, 132, 0, 0, 0, 0x55, 0, 0, 0]);
    expect([...w.bytes.subarray(36)]).toEqual([0x12, 0, 0, 0, 96, 0]);
    expect(r.iovecs).toEqual([{ buf: REPLY, len: 132 }]);
    expect(h.h_sg_reply_bytes!(IO)).toBe(76);
    expect(bytesAt(h.h_sg_data!(REPLY), 40)).toEqual(data);
    expect(mem()[REPLY + 76]).toBe(FILL);
    expect(h.h_sg_pack_id!(REPLY)).toBe(0x55);
  });

  it('a data-out command writes header, CDB and data in one iovec', () => {
    const len = h.h_sg_request!(REQ, 10, 4, 36, 3, 0);
    h.h_sg_cdb_init!(REQ, 0x2a, 10);
    mem().set([0xde, 0xad, 0xbe, 0xef], REQ + 46);
    expect(len).toBe(50);
    expect(h.h_sg_submit!(4, REQ, len, IO)).toBe(0);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write']);
    const w = wasi.calls[0]!;
    expect(w.iovecs).toEqual([{ buf: REQ, len: 50 }]);
    expect(u32(IO + 8)).toBe(50);
    expect([...w.bytes.subarray(0, 4)]).toEqual([50, 0, 0, 0]);
    expect([...w.bytes.subarray(36)]).toEqual([0x2a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
  });

  it('sgSubmit returns the fd_write errno (EBADF 8, EBUSY 10) and does not read', () => {
    const len = buildTur(1);
    wasi.writeErrno = 8;
    expect(h.h_sg_submit!(5, REQ, len, IO)).toBe(8);
    wasi.writeErrno = 10;
    expect(h.h_sg_submit!(5, REQ, len, IO)).toBe(10);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write', 'fd_write']);
  });

  it('a short write is ERRNO_IO (29) and does not read', () => {
    const len = buildTur(1);
    wasi.writeShortBy = 1;
    expect(h.h_sg_submit!(5, REQ, len, IO)).toBe(29);
    expect(u32(IO + 8)).toBe(41);
    wasi.writeShortBy = len;
    expect(h.h_sg_submit!(5, REQ, len, IO)).toBe(29);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write', 'fd_write']);
  });

  it('sgSubmit resets the byte count before the write (a stale count cannot pass for a full write)', () => {
    const len = buildTur(1);
    // fd_write succeeds without storing nwritten: the count must read 0, hence ERRNO_IO.
    view().setUint32(IO + 8, len, true);
    wasi.writeStoresCount = false;
    expect(h.h_sg_submit!(5, REQ, len, IO)).toBe(29);
    expect(u32(IO + 8)).toBe(0);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_write']);
  });

  it('sgCollect returns the fd_read errno (ETIMEDOUT 73, EIO 29, EBADF 8) and writes nothing', () => {
    for (const errno of [73, 29, 8]) {
      wasi.reset();
      wasi.readErrno = errno;
      expect([errno, h.h_sg_collect!(5, REPLY, 36, IO)]).toEqual([errno, errno]);
      expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_read']);
    }
    expect(bytesAt(REPLY, 37)).toEqual(new Array(37).fill(FILL));
  });

  it('a reply shorter than the 36-byte header is ERRNO_IO (29)', () => {
    wasi.reply = replyFrame({ packId: 1 }).subarray(0, 35);
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(29);
    expect(u32(IO + 8)).toBe(35);
    wasi.reset();
    wasi.reply = new Uint8Array(0);
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(29);
    expect(u32(IO + 8)).toBe(0);
    // Exactly the header is enough.
    wasi.reset();
    wasi.reply = replyFrame({ packId: 1 });
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(0);
  });

  it('sgCollect resets the byte count before the read (a stale count cannot pass for a reply)', () => {
    // fd_read succeeds without storing nread: the count must read 0, hence ERRNO_IO.
    view().setUint32(IO + 8, 36, true);
    wasi.reply = replyFrame({ packId: 1 });
    wasi.readStoresCount = false;
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(29);
    expect(u32(IO + 8)).toBe(0);
    expect(wasi.calls.map((c) => c.fn)).toEqual(['fd_read']);
  });

  it('a reply longer than the buffer is truncated to it, as the driver does', () => {
    wasi.reply = replyFrame({ packId: 2, data: [1, 2, 3, 4] });
    expect(h.h_sg_collect!(5, REPLY, 36, IO)).toBe(0);
    expect(wasi.calls[0]!.iovecs).toEqual([{ buf: REPLY, len: 36 }]);
    expect(h.h_sg_reply_bytes!(IO)).toBe(36);
    expect(mem()[REPLY + 36]).toBe(FILL);
  });
});
