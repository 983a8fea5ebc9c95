import type { ScsiOutcome } from '../device.js';
import { senseData } from '../sense-bytes.js';

// What a plain read (fd_pread) becomes on a SCSI transport (SBC-4): READ CAPACITY once, then READ(10) or
// READ(16) of the blocks that cover the byte range.

/** READ CAPACITY(10): 8 bytes of data-in, the last LBA and the block length. */
export const READ_CAPACITY_10 = Uint8Array.of(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
export const READ_CAPACITY_10_LENGTH = 8;
/** READ CAPACITY(16) (SERVICE ACTION IN(16), action 0x10), for a LUN whose last LBA does not fit 32 bits. */
export const READ_CAPACITY_16_LENGTH = 32;
export const READ_CAPACITY_16 = Uint8Array.of(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, READ_CAPACITY_16_LENGTH, 0, 0);

/** Block lengths taken from a target: SBC's logical blocks are 512 bytes and up; one must fit one plain read's buffer. */
const MIN_BLOCK_SIZE = 512;
const MAX_BLOCK_SIZE = 65536;

export interface Capacity {
  readonly blockSize: number;
  readonly blockCount: bigint;
}

/**
 * READ CAPACITY data: the capacity; 'ask-16' when READ CAPACITY(10) says the last LBA needs 64 bits
 * (0xffffffff, SBC-4 5.20.2); null when it is short or not believable (a block length under 512 bytes
 * or over 64 KiB, or a capacity of 2^53 bytes or more, past what a read's byte offset can name).
 */
export function decodeCapacity(data: Uint8Array, sixteen: boolean): Capacity | 'ask-16' | null {
  if (data.length < (sixteen ? 12 : READ_CAPACITY_10_LENGTH)) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const lastLba = sixteen ? view.getBigUint64(0) : BigInt(view.getUint32(0));
  if (!sixteen && lastLba === 0xffffffffn) return 'ask-16';
  const blockSize = view.getUint32(sixteen ? 8 : 4);
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) return null;
  if ((lastLba + 1n) * BigInt(blockSize) > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { blockSize, blockCount: lastLba + 1n };
}

/** The READ that covers `length` bytes at byte `offset`, how many bytes it transfers, and where the range starts in them. */
export interface BlockRead {
  readonly cdb: Uint8Array;
  readonly bytes: number;
  readonly skip: number;
}

export function blockRead(offset: number, length: number, blockSize: number): BlockRead {
  const first = Math.floor(offset / blockSize);
  const blocks = Math.ceil((offset + length) / blockSize) - first;
  const bytes = blocks * blockSize;
  const skip = offset - first * blockSize;
  // READ(10) while the LBA fits 32 bits (the block count always fits 16 bits: a read is at most 64 KiB).
  if (first + blocks <= 0x1_0000_0000) {
    const cdb = new Uint8Array(10);
    const v = new DataView(cdb.buffer);
    cdb[0] = 0x28;
    v.setUint32(2, first);
    v.setUint16(7, blocks);
    return { cdb, bytes, skip };
  }
  const cdb = new Uint8Array(16);
  const v = new DataView(cdb.buffer);
  cdb[0] = 0x88;
  v.setBigUint64(2, BigInt(first));
  v.setUint32(10, blocks);
  return { cdb, bytes, skip };
}

export function isGood(o: ScsiOutcome): boolean {
  return o.status === 0 && o.hostStatus === 0;
}

/**
 * UNIT ATTENTION (a new session's power-on/reset one, a capacity change): the block layer sends the
 * command again, and so do plain reads here, up to sd's 5 retries. An sg command is the checker's to retry.
 */
export const UNIT_ATTENTION_RETRIES = 5;

export function isUnitAttention(o: ScsiOutcome): boolean {
  return o.status === 0x02 && o.hostStatus === 0 && senseData(o.sense)?.key === 0x6;
}

/**
 * The target says the capacity it reported may be stale: UNIT ATTENTION "capacity data has changed"
 * (2A/09), or ILLEGAL REQUEST "LBA out of range" (21/00) for a read inside what it reported.
 */
export function capacityStale(o: ScsiOutcome): boolean {
  const s = o.status === 0x02 ? senseData(o.sense) : null;
  if (s === null) return false;
  return (s.key === 0x6 && s.asc === 0x2a && s.ascq === 0x09) || (s.key === 0x5 && s.asc === 0x21 && s.ascq === 0x00);
}
