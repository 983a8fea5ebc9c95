/**
 * RFC 1982 serial number arithmetic with SERIAL_BITS = 32, as RFC 7143 4.2.2 uses for CmdSN, StatSN,
 * ExpCmdSN and MaxCmdSN. Two numbers exactly 2^31 apart compare as neither less nor greater (RFC 1982
 * 3.2 leaves that undefined); every comparison here then says false.
 */
const HALF = 2 ** 31;
const MAX_ADDEND = HALF - 1;

function check(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`serial number ${name} ${n} is not an integer in 0..4294967295`);
  return n;
}

/** s + n (mod 2^32), for 0 <= n <= 2^31 - 1 (RFC 1982 3.1). */
export function snAdd(s: number, n: number): number {
  check('s', s);
  if (!Number.isInteger(n) || n < 0 || n > MAX_ADDEND) throw new RangeError(`serial number addend ${n} is not an integer in 0..${MAX_ADDEND}`);
  return (s + n) >>> 0;
}

/** a < b in serial number arithmetic (RFC 1982 3.2). */
export function snLt(a: number, b: number): boolean {
  check('a', a);
  check('b', b);
  return (a < b && b - a < HALF) || (a > b && a - b > HALF);
}

export function snLe(a: number, b: number): boolean {
  return a === b ? (check('a', a), true) : snLt(a, b);
}

/**
 * Whether a non-immediate command numbered `cmdSN` may be sent (RFC 7143 4.2.2.1): only with
 * CmdSN <= MaxCmdSN. MaxCmdSN = ExpCmdSN - 1 is a window of zero, closed.
 */
export function cmdWindowOpen(cmdSN: number, maxCmdSN: number): boolean {
  return snLe(cmdSN, maxCmdSN);
}

/**
 * Whether a PDU's ExpCmdSN/MaxCmdSN pair may update the window: RFC 7143 4.2.2.1 says both MUST be
 * ignored when MaxCmdSN < ExpCmdSN - 1.
 */
export function cmdWindowValid(expCmdSN: number, maxCmdSN: number): boolean {
  return !snLt(maxCmdSN, (check('expCmdSN', expCmdSN) - 1) >>> 0);
}
