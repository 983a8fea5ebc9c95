import { describe, expect, it } from 'vitest';
import { senseBytes } from '../../host/backends/sim/sense-bytes.js';

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
