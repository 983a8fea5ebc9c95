import type { CommandKind } from './command-kind.js';

/**
 * What a simulated disk answers a GOOD command with when its scenario gives no data: capacity from its
 * geometry, its blocks' contents, and nothing else (the caller adds standard INQUIRY data, and refuses a
 * VPD or mode page it has none of).
 */
export const SIM_BLOCK_SIZE = 512;

/** ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21/00): a READ past the end. */
export const LBA_OUT_OF_RANGE = { key: 0x5, asc: 0x21, ascq: 0x00 } as const;

/** What a simulated block holds: each byte is the low byte of its own offset. */
export function blockPattern(offset: number, length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (offset + i) & 0xff;
  return data;
}

/** READ CAPACITY(10) (8 bytes) or (16) (32 bytes) data of a disk of `blocks` blocks. */
export function capacityData(blocks: number, sixteen: boolean): Uint8Array {
  const data = new Uint8Array(sixteen ? 32 : 8);
  const v = new DataView(data.buffer);
  if (sixteen) {
    v.setBigUint64(0, BigInt(blocks - 1));
    v.setUint32(8, SIM_BLOCK_SIZE);
  } else {
    // SBC-4 5.20.2: a last LBA over 32 bits reads 0xffffffff, asking for READ CAPACITY(16).
    v.setUint32(0, Math.min(blocks - 1, 0xffffffff));
    v.setUint32(4, SIM_BLOCK_SIZE);
  }
  return data;
}

/** The blocks a READ(10)/(16) CDB names: first LBA and count. */
export function readRange(kind: CommandKind, byte: (i: number) => number): { lba: number; count: number } {
  let lba = 0;
  if (kind.name === 'READ(10)') {
    for (let i = 2; i < 6; i++) lba = lba * 256 + byte(i);
    return { lba, count: byte(7) * 256 + byte(8) };
  }
  for (let i = 2; i < 10; i++) lba = lba * 256 + byte(i);
  let count = 0;
  for (let i = 10; i < 14; i++) count = count * 256 + byte(i);
  return { lba, count };
}

