import { describe, expect, it } from 'vitest';
import { SENSE_FORMATS, senseBytes, senseData } from '../../host/backends/sense-bytes.js';

describe('senseBytes', () => {
  it('builds 18-byte fixed format sense', () => {
    expect([...senseBytes('fixed', { key: 0x2, asc: 0x04, ascq: 0x0b })]).toEqual([
      0x70, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0b, 0x00, 0x00, 0x00, 0x00,
    ]);
  });

  it('builds 8-byte descriptor format sense', () => {
    expect([...senseBytes('descriptor', { key: 0x6, asc: 0x29, ascq: 0x00 })]).toEqual([0x72, 0x06, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00]);
  });

  it('keeps the sense key to its 4 bits', () => {
    expect(senseBytes('fixed', { key: 0xf4, asc: 0, ascq: 0 })[2]).toBe(0x04);
    expect(senseBytes('descriptor', { key: 0xf4, asc: 0, ascq: 0 })[1]).toBe(0x04);
  });
});

describe('senseData', () => {
  it('reads back what senseBytes wrote, in both formats', () => {
    for (const format of SENSE_FORMATS) {
      for (const s of [{ key: 0x6, asc: 0x2a, ascq: 0x09 }, { key: 0x5, asc: 0x21, ascq: 0x00 }, { key: 0xf, asc: 0xff, ascq: 0xff }]) {
        expect(senseData(senseBytes(format, s)), format).toEqual(s);
      }
    }
  });

  it('deferred errors (0x71, 0x73) decode too; a bad response code or too few bytes is null', () => {
    expect(senseData(Uint8Array.of(0x71, 0, 0x3, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0x01))).toEqual({ key: 0x3, asc: 0x11, ascq: 0x01 });
    expect(senseData(Uint8Array.of(0xf3, 0x4, 0x44, 0x00))).toEqual({ key: 0x4, asc: 0x44, ascq: 0x00 });
    expect(senseData(Uint8Array.of(0x70, 0, 0x6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a))).toBeNull();
    expect(senseData(Uint8Array.of(0x72, 0x6, 0x2a))).toBeNull();
    expect(senseData(Uint8Array.of(0x7f, 0x6, 0x2a, 0x09, 0, 0, 0, 0))).toBeNull();
    expect(senseData(new Uint8Array(0))).toBeNull();
  });
});
