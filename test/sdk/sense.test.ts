// Unit tests of the plugin SDK's sense decoding (assembly/sdk/sense.ts), run against the real
// AssemblyScript compiled with the checkers' flags: test/fixtures/sdk-harness.ts exports thin
// wrappers, the test writes sense bytes into the shared memory and decodes them in the module.
//
// Decoded value: key << 16 | asc << 8 | ascq, or SENSE_NONE (-1). Fixed format (0x70/0x71):
// key = b[2] & 0x0f (len > 2), asc = b[12], ascq = b[13] (len >= 14). Descriptor format
// (0x72/0x73): key = b[1] & 0x0f (len > 1), asc = b[2] (len > 2), ascq = b[3] (len > 3).

import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { senseBytes } from '../../host/backends/sense-bytes.js';
import { loadSdkHarness, type HarnessFn } from '../helpers/sdk-harness.js';

let memory: WebAssembly.Memory;
let h: Record<string, HarnessFn>;
const wasiCalls: string[] = [];

beforeAll(async () => {
  // Sense decoding does no I/O: these stubs only record that they were (wrongly) called.
  const refuse = (name: string) => (): number => {
    wasiCalls.push(name);
    return 52; // ENOSYS
  };
  ({ memory, h } = await loadSdkHarness({ fd_write: refuse('fd_write'), fd_read: refuse('fd_read') }));
});

const SB = 0x4000;
const REPLY = 0x4100;
/** Filler around and after the sense bytes: decoding must never read past `len`. */
const JUNK = 0xee;

const mem = (): Uint8Array => new Uint8Array(memory.buffer);

beforeEach(() => {
  mem().fill(JUNK, SB - 16, SB + 0x200);
});

interface Decoded {
  raw: number;
  valid: number;
  key: number;
  asc: number;
  ascq: number;
}

/** Writes `bytes` at SB (junk after them) and decodes `len` of them (default: all). */
function decode(bytes: number[] | Uint8Array, len: number = bytes.length): Decoded {
  mem().set(bytes, SB);
  const raw = h.h_sense_decode!(SB, len);
  return { raw, valid: h.h_sense_valid!(raw), key: h.h_sense_key!(raw), asc: h.h_sense_asc!(raw), ascq: h.h_sense_ascq!(raw) };
}

const NONE: Decoded = { raw: -1, valid: 0, key: 0, asc: 0, ascq: 0 };
const sense = (key: number, asc: number, ascq: number): Decoded => ({
  raw: (key << 16) | (asc << 8) | ascq,
  valid: 1,
  key,
  asc,
  ascq,
});

/** Fixed-format sense, 18 bytes: code, key byte (flags in the high nibble), asc, ascq. */
function fixed(code: number, keyByte: number, asc: number, ascq: number): number[] {
  const b = new Array<number>(18).fill(0);
  b[0] = code;
  b[2] = keyByte;
  b[7] = 10; // additional sense length
  b[12] = asc;
  b[13] = ascq;
  return b;
}

/** Descriptor-format sense, 8-byte header: code, key byte, asc, ascq. */
function descriptor(code: number, keyByte: number, asc: number, ascq: number): number[] {
  return [code, keyByte, asc, ascq, 0, 0, 0, 0];
}

it('SENSE_NONE is -1 and the accessors read it as NO SENSE 00/00', () => {
  expect(h.h_sense_none!()).toBe(-1);
  expect([h.h_sense_valid!(-1), h.h_sense_key!(-1), h.h_sense_asc!(-1), h.h_sense_ascq!(-1), h.h_sense_asc_ascq!(-1)]).toEqual([
    0, 0, 0, 0, 0,
  ]);
});

describe('fixed format (0x70, 0x71)', () => {
  it('0x70 current: NOT READY, ALUA standby 04/0B', () => {
    expect(decode(fixed(0x70, 0x02, 0x04, 0x0b))).toEqual(sense(0x2, 0x04, 0x0b));
    expect(h.h_sense_asc_ascq!(0x02040b)).toBe(0x040b);
  });

  it('0x71 deferred: UNIT ATTENTION, power on or reset 29/00', () => {
    expect(decode(fixed(0x71, 0x06, 0x29, 0x00))).toEqual(sense(0x6, 0x29, 0x00));
  });

  it('0xF0 (VALID bit set): MEDIUM ERROR, unrecovered read error 11/00', () => {
    expect(decode(fixed(0xf0, 0x03, 0x11, 0x00))).toEqual(sense(0x3, 0x11, 0x00));
  });

  it('0xF1 (VALID bit set): ABORTED COMMAND 47/03', () => {
    expect(decode(fixed(0xf1, 0x0b, 0x47, 0x03))).toEqual(sense(0xb, 0x47, 0x03));
  });

  it('masks FILEMARK/EOM/ILI and the reserved bit out of the key byte', () => {
    expect(decode(fixed(0x70, 0xf5, 0x24, 0x00))).toEqual(sense(0x5, 0x24, 0x00));
    expect(decode(fixed(0x70, 0xe2, 0x04, 0x0a))).toEqual(sense(0x2, 0x04, 0x0a));
  });

  it('asc/ascq 0xff and key 0x0f survive intact', () => {
    expect(decode(fixed(0x70, 0x0f, 0xff, 0xff))).toEqual(sense(0xf, 0xff, 0xff));
    expect(decode(fixed(0x70, 0x0f, 0xff, 0xff)).raw).toBe(0x0fffff);
  });

  it('exactly 14 bytes is enough for asc/ascq', () => {
    expect(decode(fixed(0x70, 0x02, 0x04, 0x0c), 14)).toEqual(sense(0x2, 0x04, 0x0c));
  });

  it('the 16 bytes of an sg sense_buffer decode fully', () => {
    expect(decode(fixed(0x70, 0x02, 0x04, 0x0b).slice(0, 16))).toEqual(sense(0x2, 0x04, 0x0b));
  });

  it('does not read descriptor-format positions (bytes 1 and 3)', () => {
    const b = fixed(0x70, 0x06, 0x2a, 0x06);
    b[1] = 0x05;
    b[3] = 0x99;
    expect(decode(b)).toEqual(sense(0x6, 0x2a, 0x06));
  });
});

describe('fixed format, short buffers', () => {
  const full = fixed(0x70, 0x02, 0x04, 0x0b);

  it('13 bytes: the key, but asc/ascq need 14', () => {
    expect(decode(full, 13)).toEqual(sense(0x2, 0, 0));
  });

  it('between 3 and 13 bytes: key only', () => {
    for (const len of [3, 4, 7, 8, 12]) {
      expect([len, decode(full, len)]).toEqual([len, sense(0x2, 0, 0)]);
    }
  });

  it('with the VALID bit and 3 bytes: key only', () => {
    expect(decode(fixed(0xf1, 0x06, 0x29, 0x00), 3)).toEqual(sense(0x6, 0, 0));
  });

  it('1 or 2 bytes: a valid response code with no key yet decodes as NO SENSE 00/00 (not SENSE_NONE)', () => {
    expect(decode(full, 2)).toEqual(sense(0, 0, 0));
    expect(decode(full, 1)).toEqual(sense(0, 0, 0));
    expect(decode(full, 2).raw).toBe(0);
  });

  it('0 or a negative length: SENSE_NONE', () => {
    expect(decode(full, 0)).toEqual(NONE);
    expect(decode(full, -1)).toEqual(NONE);
  });
});

describe('descriptor format (0x72, 0x73)', () => {
  it('0x72 current: ILLEGAL REQUEST, invalid field in CDB 24/00', () => {
    expect(decode(descriptor(0x72, 0x05, 0x24, 0x00))).toEqual(sense(0x5, 0x24, 0x00));
  });

  it('0x73 deferred: UNIT ATTENTION, asymmetric access state changed 2A/06', () => {
    expect(decode(descriptor(0x73, 0x06, 0x2a, 0x06))).toEqual(sense(0x6, 0x2a, 0x06));
  });

  it('0xF2 / 0xF3 (bit 7 set) decode as descriptor format too', () => {
    expect(decode(descriptor(0xf2, 0x02, 0x04, 0x0a))).toEqual(sense(0x2, 0x04, 0x0a));
    expect(decode(descriptor(0xf3, 0x04, 0x44, 0x00))).toEqual(sense(0x4, 0x44, 0x00));
  });

  it('masks the reserved high nibble of byte 1', () => {
    expect(decode(descriptor(0x72, 0xf2, 0x04, 0x0b))).toEqual(sense(0x2, 0x04, 0x0b));
  });

  it('does not read fixed-format positions (bytes 12 and 13)', () => {
    const b = [...descriptor(0x72, 0x02, 0x04, 0x01), 0, 0, 0, 0, 0x29, 0x00, 0, 0];
    expect(decode(b)).toEqual(sense(0x2, 0x04, 0x01));
  });

  it('short buffers: 4 bytes full, 3 no ascq, 2 key only, 1 nothing but valid, 0 none', () => {
    const d = descriptor(0x72, 0x02, 0x04, 0x0a);
    expect(decode(d, 4)).toEqual(sense(0x2, 0x04, 0x0a));
    expect(decode(d, 3)).toEqual(sense(0x2, 0x04, 0));
    expect(decode(d, 2)).toEqual(sense(0x2, 0, 0));
    expect(decode(d, 1)).toEqual(sense(0, 0, 0));
    expect(decode(d, 0)).toEqual(NONE);
  });
});

describe('unknown response codes: no sense', () => {
  for (const code of [0x00, 0x01, 0x6f, 0x74, 0x7e, 0x7f, 0x80, 0xef, 0xf4, 0xff]) {
    it(`0x${code.toString(16).padStart(2, '0')}`, () => {
      // Plausible fields in both layouts: none may leak through.
      const b = fixed(code, 0x02, 0x04, 0x0b);
      b[1] = 0x06;
      b[3] = 0x29;
      expect(decode(b)).toEqual(NONE);
      expect(h.h_sense_response_code!(SB, 18)).toBe(-1);
    });
  }
});

describe('senseResponseCode', () => {
  it('returns byte 0 without bit 7 for 0x70..0x73', () => {
    const codes: Array<[byte: number, code: number]> = [
      [0x70, 0x70], [0x71, 0x71], [0x72, 0x72], [0x73, 0x73],
      [0xf0, 0x70], [0xf1, 0x71], [0xf2, 0x72], [0xf3, 0x73],
    ];
    for (const [byte, code] of codes) {
      mem()[SB] = byte;
      expect([byte, h.h_sense_response_code!(SB, 1)]).toEqual([byte, code]);
    }
  });

  it('is -1 for an empty buffer even when byte 0 is valid', () => {
    mem()[SB] = 0x70;
    expect(h.h_sense_response_code!(SB, 0)).toBe(-1);
    expect(h.h_sense_response_code!(SB, -5)).toBe(-1);
  });
});

describe('senseFromReply: the sense_buffer of an sg reply', () => {
  const DRIVER_SENSE = 0x08;

  /** A 36-byte reply whose sense_buffer (offset 20) holds `sense`; returns the decoded value. */
  function fromReply(senseBuf: number[], driver: number): Decoded {
    mem().fill(0, REPLY, REPLY + 36);
    mem().set(senseBuf.slice(0, 16), REPLY + 20);
    const sb = h.h_sg_sense!(REPLY);
    expect(sb).toBe(REPLY + 20);
    const raw = h.h_sense_from_reply!(sb, 16, driver);
    return { raw, valid: h.h_sense_valid!(raw), key: h.h_sense_key!(raw), asc: h.h_sense_asc!(raw), ascq: h.h_sense_ascq!(raw) };
  }

  it('DRIVER_SENSE with fixed-format sense', () => {
    expect(fromReply(fixed(0x70, 0x02, 0x04, 0x0b), DRIVER_SENSE)).toEqual(sense(0x2, 0x04, 0x0b));
  });

  it('DRIVER_SENSE with descriptor-format sense', () => {
    expect(fromReply(descriptor(0x72, 0x02, 0x04, 0x0a), DRIVER_SENSE)).toEqual(sense(0x2, 0x04, 0x0a));
  });

  it('a valid response code is enough without DRIVER_SENSE', () => {
    expect(fromReply(fixed(0x70, 0x06, 0x29, 0x00), 0)).toEqual(sense(0x6, 0x29, 0x00));
    expect(fromReply(fixed(0x70, 0x06, 0x29, 0x00), 0x04)).toEqual(sense(0x6, 0x29, 0x00));
  });

  it('DRIVER_SENSE among other driver bits', () => {
    expect(fromReply(fixed(0x70, 0x0b, 0x47, 0x00), DRIVER_SENSE | 0x04)).toEqual(sense(0xb, 0x47, 0x00));
  });

  it('no sense: zero buffer, with or without DRIVER_SENSE; garbage response code with DRIVER_SENSE', () => {
    expect(fromReply(new Array(16).fill(0), 0)).toEqual(NONE);
    expect(fromReply(new Array(16).fill(0), DRIVER_SENSE)).toEqual(NONE);
    expect(fromReply(fixed(0x7f, 0x02, 0x04, 0x0b), DRIVER_SENSE)).toEqual(NONE);
  });

  it('decodes what the simulated device sends (host/backends/sim/sense-bytes.ts), in both formats', () => {
    const cases: Array<[key: number, asc: number, ascq: number]> = [
      [0x2, 0x04, 0x0b],
      [0x2, 0x04, 0x0a],
      [0x6, 0x29, 0x00],
      [0x5, 0x25, 0x00],
      [0xf, 0xff, 0xff],
    ];
    for (const format of ['fixed', 'descriptor'] as const) {
      for (const [key, ascCode, ascq] of cases) {
        const bytes = [...senseBytes(format, { key, asc: ascCode, ascq })];
        expect([format, fromReply(bytes, DRIVER_SENSE)]).toEqual([format, sense(key, ascCode, ascq)]);
      }
    }
  });
});

describe('accessors of a decoded value', () => {
  it('split key, asc, ascq and the asc/ascq pair', () => {
    const s = 0x02040b;
    expect([h.h_sense_valid!(s), h.h_sense_key!(s), h.h_sense_asc!(s), h.h_sense_ascq!(s), h.h_sense_asc_ascq!(s)]).toEqual([
      1, 0x2, 0x04, 0x0b, 0x040b,
    ]);
    expect([h.h_sense_valid!(0), h.h_sense_key!(0), h.h_sense_asc!(0), h.h_sense_ascq!(0)]).toEqual([1, 0, 0, 0]);
  });

  it('any negative value is invalid and reads as zeros', () => {
    for (const s of [-1, -2, -0x10000, 0x80000000 | 0]) {
      expect([s, h.h_sense_valid!(s), h.h_sense_key!(s), h.h_sense_asc!(s), h.h_sense_ascq!(s), h.h_sense_asc_ascq!(s)]).toEqual([
        s, 0, 0, 0, 0, 0,
      ]);
    }
  });
});

it('did no I/O', () => {
  expect(wasiCalls).toEqual([]);
});
