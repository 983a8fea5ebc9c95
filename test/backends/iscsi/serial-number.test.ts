import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cmdWindowOpen, cmdWindowValid, snAdd, snLe, snLt } from '../../../host/backends/iscsi/serial-number.js';
import { runs } from './property-runs.js';

const MAX = 0xffffffff;
const HALF = 2 ** 31;

describe('serial number arithmetic (RFC 1982, SERIAL_BITS 32)', () => {
  it('snAdd wraps at 2^32 and takes addends 0..2^31 - 1 only (3.1)', () => {
    expect([snAdd(MAX, 1), snAdd(5, HALF - 1), snAdd(0, 0)]).toEqual([0, 5 + HALF - 1, 0]);
    expect(() => snAdd(5, HALF)).toThrow(new RangeError('serial number addend 2147483648 is not an integer in 0..2147483647'));
    expect(() => snAdd(-1, 1)).toThrow('serial number s -1 is not an integer in 0..4294967295');
    expect(() => snAdd(1, 0.5)).toThrow('serial number addend 0.5 is not an integer in 0..2147483647');
  });

  it('snLt across the wrap, and undefined (neither) at exactly 2^31 apart (3.2)', () => {
    expect([snLt(1, 2), snLt(MAX, 0), snLt(0, MAX), snLt(0, HALF - 1), snLt(HALF - 1, 0)]).toEqual([true, true, false, true, false]);
    expect([snLt(0, HALF), snLt(HALF, 0), snLe(0, HALF), snLe(HALF, 0)]).toEqual([false, false, false, false]);
    expect([snLt(7, 7), snLe(7, 7), snLe(MAX, 0), snLe(0, MAX)]).toEqual([false, true, true, false]);
    expect(() => snLt(2 ** 32, 0)).toThrow('serial number a 4294967296 is not an integer in 0..4294967295');
    expect(() => snLe(0, NaN)).toThrow('serial number b NaN is not an integer in 0..4294967295');
  });

  it('any s and 0 < n < 2^31: s < s + n and not s + n < s (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 1, max: HALF - 1 }), (s, n) => {
        const t = snAdd(s, n);
        expect([snLt(s, t), snLt(t, s), snLe(s, t), snLe(t, s)]).toEqual([true, false, true, false]);
      }),
      runs(1000),
    );
  });

  it('cmdWindowOpen (RFC 7143 4.2.2.1): CmdSN <= MaxCmdSN; MaxCmdSN = ExpCmdSN - 1 is closed, across the wrap too', () => {
    expect([cmdWindowOpen(10, 10), cmdWindowOpen(10, 74), cmdWindowOpen(10, 9)]).toEqual([true, true, false]);
    expect([cmdWindowOpen(0, MAX), cmdWindowOpen(MAX, 0), cmdWindowOpen(MAX, MAX - 1)]).toEqual([false, true, false]);
  });

  it('cmdWindowValid (RFC 7143 4.2.2.1): MaxCmdSN < ExpCmdSN - 1 means ignore both', () => {
    expect([cmdWindowValid(10, 9), cmdWindowValid(10, 8), cmdWindowValid(10, 200)]).toEqual([true, false, true]);
    expect([cmdWindowValid(0, MAX), cmdWindowValid(0, MAX - 1), cmdWindowValid(MAX, 5)]).toEqual([true, false, true]);
  });
});
