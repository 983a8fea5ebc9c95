import { describe, expect, it } from 'vitest';
import type { ScsiOutcome } from '../../../host/backends/device.js';
import { blockRead, capacityStale, decodeCapacity } from '../../../host/backends/iscsi/block-read.js';
import { senseBytes } from '../../../host/backends/sense-bytes.js';

function be(bytes: number, value: bigint): number[] {
  return Array.from({ length: bytes }, (_, i) => Number((value >> BigInt(8 * (bytes - 1 - i))) & 0xffn));
}

const outcome = (status: number, sense: Uint8Array, hostStatus = 0): ScsiOutcome => ({ status, hostStatus, driverStatus: 0, sense, dataIn: new Uint8Array(0) });

describe('READ CAPACITY data', () => {
  it('(10): last LBA and block length; 0xffffffff asks for (16); (16): a 64-bit last LBA', () => {
    expect(decodeCapacity(Uint8Array.from([...be(4, 16383n), ...be(4, 512n)]), false)).toEqual({ blockSize: 512, blockCount: 16384n });
    expect(decodeCapacity(Uint8Array.from([...be(4, 0xffffffffn), ...be(4, 512n)]), false)).toBe('ask-16');
    const big = Uint8Array.from([...be(8, 0x1_0000_07ffn), ...be(4, 4096n), ...new Array(20).fill(0)]);
    expect(decodeCapacity(big, true)).toEqual({ blockSize: 4096, blockCount: 0x1_0000_0800n });
    // (16) never asks again, whatever its LBA.
    expect(decodeCapacity(Uint8Array.from([...be(8, 0xffffffffn), ...be(4, 512n)]), true)).toEqual({ blockSize: 512, blockCount: 0x1_0000_0000n });
  });

  it('short data, a block length under 512 or over 64 KiB is not believed', () => {
    expect(decodeCapacity(Uint8Array.from(be(4, 100n)), false)).toBeNull();
    expect(decodeCapacity(Uint8Array.from([...be(8, 100n), 0, 0, 2]), true)).toBeNull();
    for (const size of [0n, 1n, 511n, 65537n, 0xffffffffn]) expect(decodeCapacity(Uint8Array.from([...be(4, 100n), ...be(4, size)]), false), String(size)).toBeNull();
    expect(decodeCapacity(Uint8Array.from([...be(4, 100n), ...be(4, 65536n)]), false)).toEqual({ blockSize: 65536, blockCount: 101n });
    // A capacity whose byte size a read's offset cannot name (2^53 bytes and up), down to a last LBA of 2^64 - 1.
    for (const lastLba of [0xffffffffffffffffn, 1n << 63n, (1n << 44n) - 1n]) {
      expect(decodeCapacity(Uint8Array.from([...be(8, lastLba), ...be(4, 512n)]), true), String(lastLba)).toBeNull();
    }
    expect(decodeCapacity(Uint8Array.from([...be(8, (1n << 44n) - 2n), ...be(4, 512n)]), true)).toEqual({ blockSize: 512, blockCount: (1n << 44n) - 1n });
  });
});

describe('blockRead: the READ covering a byte range', () => {
  it('aligned: READ(10) of whole blocks, nothing skipped', () => {
    const r = blockRead(4096, 1024, 512);
    expect([...r.cdb]).toEqual([0x28, 0, ...be(4, 8n), 0, ...be(2, 2n), 0]);
    expect([r.bytes, r.skip]).toEqual([1024, 0]);
  });

  it('unaligned: the blocks around it, and where the range starts in them', () => {
    const r = blockRead(1000, 3000, 512);
    // bytes 1000..3999 are in blocks 1..7
    expect([...r.cdb]).toEqual([0x28, 0, ...be(4, 1n), 0, ...be(2, 7n), 0]);
    expect([r.bytes, r.skip]).toEqual([3584, 488]);
    expect(blockRead(4095, 1, 4096)).toMatchObject({ bytes: 4096, skip: 4095 });
  });

  it('READ(16) once an LBA of the range needs more than 32 bits', () => {
    const last32 = (2 ** 32 - 1) * 512;
    expect(blockRead(last32, 512, 512).cdb[0]).toBe(0x28);
    const r = blockRead(last32, 1024, 512);
    expect([...r.cdb]).toEqual([0x88, 0, ...be(8, 0xffffffffn), ...be(4, 2n), 0, 0]);
    expect(blockRead(2 ** 45, 65536, 4096).cdb).toEqual(Uint8Array.from([0x88, 0, ...be(8, 2n ** 33n), ...be(4, 16n), 0, 0]));
  });
});

describe('capacityStale', () => {
  it('UNIT ATTENTION capacity data has changed, or LBA out of range, in either sense format; nothing else', () => {
    for (const format of ['fixed', 'descriptor'] as const) {
      expect(capacityStale(outcome(2, senseBytes(format, { key: 0x6, asc: 0x2a, ascq: 0x09 })))).toBe(true);
      expect(capacityStale(outcome(2, senseBytes(format, { key: 0x5, asc: 0x21, ascq: 0x00 })))).toBe(true);
      expect(capacityStale(outcome(2, senseBytes(format, { key: 0x6, asc: 0x29, ascq: 0x00 })))).toBe(false);
      expect(capacityStale(outcome(2, senseBytes(format, { key: 0x5, asc: 0x24, ascq: 0x00 })))).toBe(false);
    }
    // Sense bytes without CHECK CONDITION are not the LUN's word.
    expect(capacityStale(outcome(0, senseBytes('fixed', { key: 0x6, asc: 0x2a, ascq: 0x09 })))).toBe(false);
    expect(capacityStale(outcome(2, new Uint8Array(0)))).toBe(false);
  });
});
