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


/** VPD pages a simulated disk has (SPC-4 7.8): the supported-pages list and the unit serial number. */
const VPD_SUPPORTED = 0x00;
const VPD_SERIAL = 0x80;

/** VPD page `page` of a disk whose serial number is `serial` (printable ASCII), or null when it has no such page. */
export function vpdPage(page: number, serial: string): Uint8Array | null {
  if (page === VPD_SUPPORTED) return Uint8Array.of(0, VPD_SUPPORTED, 0, 2, VPD_SUPPORTED, VPD_SERIAL);
  if (page !== VPD_SERIAL) return null;
  const data = new Uint8Array(4 + serial.length);
  data[1] = VPD_SERIAL;
  data[3] = serial.length;
  for (let i = 0; i < serial.length; i++) data[4 + i] = serial.charCodeAt(i);
  return data;
}

/** The serial number of a sim disk: its `id`, printable ASCII only (others become '?'), at most 32 characters; `SIM` without one. */
export function serialOf(id: string): string {
  return id === '' ? 'SIM' : id.slice(0, 32).replace(/[^\x20-\x7e]/g, '?');
}
