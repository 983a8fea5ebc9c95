import { describe, expect, it } from 'vitest';
import { MAX_LUN, decodeLun, encodeLun } from '../../../host/backends/iscsi/scsi-lun.js';
import { expectPduError } from './expect-pdu-error.js';
import { bytes, hexOf } from './hex-bytes.js';

describe('SAM LUN field (8 bytes, single level)', () => {
  it('0-255: peripheral device addressing, byte 1 = LUN; 256-16383: flat space, 0x40 | LUN >> 8, LUN & 0xff', () => {
    expect([0, 1, 255, 256, 0x1234, MAX_LUN].map((n) => hexOf(encodeLun(n)))).toEqual([
      '0000000000000000',
      '0001000000000000',
      '00ff000000000000',
      '4100000000000000',
      '5234000000000000',
      '7fff000000000000',
    ]);
  });

  it('decodes both methods, flat space below 256 as well, and round-trips every LUN', () => {
    expect(decodeLun(bytes('40 05 00 00 00 00 00 00'))).toBe(5);
    for (let n = 0; n <= MAX_LUN; n++) if (decodeLun(encodeLun(n)) !== n) expect.fail(`LUN ${n} does not round-trip`);
  });

  it.each([
    ['LUN 16384 is not an integer in 0..16383', () => encodeLun(16384)],
    ['LUN -1 is not an integer in 0..16383', () => encodeLun(-1)],
    ['LUN 1.5 is not an integer in 0..16383', () => encodeLun(1.5)],
    ['LUN 80 00 00 00 00 00 00 00: logical unit addressing (method 2) not supported', () => decodeLun(bytes('80 00 00 00 00 00 00 00'))],
    ['LUN c1 00 00 00 00 00 00 00: extended logical unit addressing (method 3) not supported', () => decodeLun(bytes('c1 00 00 00 00 00 00 00'))],
    ['LUN 01 05 00 00 00 00 00 00: peripheral device addressing with bus 1 not supported', () => decodeLun(bytes('01 05 00 00 00 00 00 00'))],
    ['LUN 00 01 00 02 00 00 00 00: second-level addressing (bytes 2-7) not supported', () => decodeLun(bytes('00 01 00 02 00 00 00 00'))],
    ['LUN field of 4 bytes, must be 8', () => decodeLun(new Uint8Array(4))],
  ])('refuses: %s', (message, f) => {
    expectPduError(f, message);
  });
});
