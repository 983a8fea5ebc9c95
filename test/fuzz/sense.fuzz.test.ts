import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SENSE_FORMATS, senseBytes } from '../../host/backends/sense-bytes.js';
import { DRIVER_SENSE } from '../../host/shim/sg-header.js';
import { loadSdkHarness, type HarnessFn } from '../helpers/sdk-harness.js';
import { runFuzz, testTimeout, type FuzzOptions } from './fuzz-params.js';

/**
 * Sense decoding in the plugin SDK (assembly/sdk/sense.ts), compiled as the checkers are and run in the
 * SDK harness (test/helpers/sdk-harness.ts), issue 11 "Fuzzing": for any bytes, length and driver status
 * the decoder agrees with SPC-4's layout (written out again here), never reads past the length it is
 * given, and the accessors take the value apart; sense the sim writes decodes to what it was written from.
 */

const DECODE: FuzzOptions = { slice: 2000, share: 0.7, budgetMs: 180_000 };
const ROUND_TRIP: FuzzOptions = { slice: 500, share: 0.3, budgetMs: 120_000 };

const SB = 0x4000;
const AREA = 64;
let memory: WebAssembly.Memory;
let h: Record<string, HarnessFn>;

beforeAll(async () => {
  const refuse = (): number => {
    throw new Error('sense decoding called WASI');
  };
  ({ memory, h } = await loadSdkHarness({ fd_write: refuse, fd_read: refuse }));
});

/** SPC-4 4.5: response code 0x70/0x71 fixed, 0x72/0x73 descriptor; fields past `len` read as 0. */
function reference(b: Uint8Array, len: number): number {
  if (len < 1) return -1;
  const code = b[0]! & 0x7f;
  if (code < 0x70 || code > 0x73) return -1;
  const at = (i: number) => (i < len ? b[i]! : 0);
  if (code >= 0x72) return ((at(1) & 0x0f) << 16) | (at(2) << 8) | at(3);
  return ((at(2) & 0x0f) << 16) | (len >= 14 ? (b[12]! << 8) | b[13]! : 0);
}

/** Decode `bytes` (AREA bytes at SB) with `len`; then again with every byte outside [SB, SB+len) flipped. */
function decodeTwice(bytes: Uint8Array, len: number, driverStatus: number): { first: number[]; second: number[] } {
  const mem = new Uint8Array(memory.buffer);
  const run = () => [h.h_sense_decode!(SB, len), h.h_sense_from_reply!(SB, len, driverStatus), h.h_sense_response_code!(SB, len)];
  mem.fill(0x00, SB - 16, SB);
  mem.set(bytes, SB);
  const first = run();
  const keep = Math.max(0, Math.min(len, AREA));
  for (let i = SB - 16; i < SB + AREA + 16; i++) if (i < SB || i >= SB + keep) mem[i] = ~mem[i]! & 0xff;
  return { first, second: run() };
}

describe('fuzz: SDK sense decoding (assembly/sdk/sense.ts)', () => {
  it(
    'any bytes, length, driver status: the SPC-4 layout, nothing read past the length, accessors consistent',
    async () => {
      const codes = fc.oneof(fc.constantFrom(0x70, 0x71, 0x72, 0x73, 0xf0, 0xf1, 0xf2, 0xf3, 0x74, 0x6f, 0x00), fc.integer({ min: 0, max: 255 }));
      const property = fc.property(
        fc.uint8Array({ minLength: AREA, maxLength: AREA }),
        codes,
        fc.oneof(fc.integer({ min: -3, max: 20 }), fc.integer({ min: -3, max: AREA }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1)),
        fc.oneof(fc.constantFrom(0, DRIVER_SENSE), fc.integer({ min: 0, max: 255 })),
        (bytes, code, len, driverStatus) => {
          bytes[0] = code;
          const { first, second } = decodeTwice(bytes, len, driverStatus);
          expect(second, 'a byte past len changed the answer').toEqual(first);
          const [decoded, fromReply, responseCode] = first as [number, number, number];
          const want = reference(bytes, len);
          expect(decoded).toBe(want);
          expect(responseCode).toBe(want < 0 ? -1 : bytes[0]! & 0x7f);
          expect(fromReply).toBe((driverStatus & DRIVER_SENSE) === 0 && want < 0 ? -1 : want);
          expect(h.h_sense_valid!(decoded)).toBe(want >= 0 ? 1 : 0);
          expect([h.h_sense_key!(decoded), h.h_sense_asc!(decoded), h.h_sense_ascq!(decoded), h.h_sense_asc_ascq!(decoded)]).toEqual(
            want < 0 ? [0, 0, 0, 0] : [(want >> 16) & 0x0f, (want >> 8) & 0xff, want & 0xff, want & 0xffff],
          );
        },
      );
      await runFuzz('sense decode', property, DECODE);
    },
    testTimeout(DECODE),
  );

  it(
    'sense the sim writes (both formats) decodes to the key, ASC and ASCQ it was written from',
    async () => {
      const property = fc.property(
        fc.constantFrom(...SENSE_FORMATS),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        (format, key, asc, ascq) => {
          const bytes = new Uint8Array(AREA);
          const sense = senseBytes(format, { key, asc, ascq });
          bytes.set(sense);
          const { first } = decodeTwice(bytes, sense.length, 0);
          expect(first).toEqual([(key << 16) | (asc << 8) | ascq, (key << 16) | (asc << 8) | ascq, sense[0]]);
        },
      );
      await runFuzz('sense round trip', property, ROUND_TRIP);
    },
    testTimeout(ROUND_TRIP),
  );
});
