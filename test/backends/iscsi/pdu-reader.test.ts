import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTargetPdu } from '../../../host/backends/iscsi/pdu-decode.js';
import { PduError } from '../../../host/backends/iscsi/pdu-error.js';
import { MAX_AHS_BYTES, PduReader } from '../../../host/backends/iscsi/pdu-reader.js';
import type { TargetPdu } from '../../../host/backends/iscsi/target-pdu.js';
import { expectPduError, thrown } from './expect-pdu-error.js';
import { concat, patched } from './hex-bytes.js';
import { runs } from './property-runs.js';
import { GOLDEN, split } from './target-pdu-bytes.js';
import { tgtdFixture } from './tgtd-fixtures.js';

const LIMIT = 8192;

/** Bytes a PDU starting at `at` takes in the stream, from its BHS: 48 + AHS + data + padding. */
function pduLength(stream: Uint8Array, at: number): number {
  const dsl = (stream[at + 5]! << 16) | (stream[at + 6]! << 8) | stream[at + 7]!;
  return 48 + stream[at + 4]! * 4 + ((dsl + 3) & ~3);
}

/** A Data-In carrying `data` (any length: every padding 0-3 occurs). */
function dataIn(data: Uint8Array): Uint8Array {
  const bhs = patched(GOLDEN.dataInStatus.subarray(0, 48), { 5: data.length >> 16, 6: (data.length >> 8) & 0xff, 7: data.length & 0xff });
  return concat(bhs, data, new Uint8Array(((data.length + 3) & ~3) - data.length));
}

const ALL_GOLDEN = Object.values(GOLDEN);
const STREAM = concat(...ALL_GOLDEN, dataIn(new Uint8Array(5)), dataIn(new Uint8Array(6)), dataIn(new Uint8Array(7)), tgtdFixture('inquiry').fromTarget, tgtdFixture('scripted').fromTarget);
/** What each PDU of STREAM decodes to on its own. */
function expected(stream: Uint8Array): TargetPdu[] {
  const pdus: TargetPdu[] = [];
  for (let at = 0; at < stream.length; at += pduLength(stream, at)) pdus.push(decodeTargetPdu(...split(stream.subarray(at, at + pduLength(stream, at)))));
  return pdus;
}

/** Pushes `stream` cut at `cuts`; checks after every push that only the PDU being read is held. */
function pushCut(reader: PduReader, stream: Uint8Array, cuts: readonly number[]): TargetPdu[] {
  const out: TargetPdu[] = [];
  let boundary = 0;
  const points = [...new Set(cuts)].filter((c) => c > 0 && c < stream.length).sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, stream.length]) {
    const got = reader.push(stream.subarray(from, to));
    for (let i = 0; i < got.length; i++) boundary += pduLength(stream, boundary);
    out.push(...got);
    expect(reader.buffered).toBe(to - boundary);
    if (reader.buffered >= 48) expect(reader.buffered).toBeLessThan(pduLength(stream, boundary));
    from = to;
  }
  return out;
}

describe('PduReader: any chunking gives the same PDUs', () => {
  const want = expected(STREAM);

  it('one push of the whole stream: every golden PDU, paddings 1-3, and two real tgtd sessions', () => {
    expect(want.length).toBe(ALL_GOLDEN.length + 3 + 6 + 9);
    const reader = new PduReader({ maxRecvDataSegmentLength: 262144 });
    expect(reader.push(STREAM)).toEqual(want);
    expect(reader.buffered).toBe(0);
  });

  it('1-byte chunks: each PDU comes out with its last byte (padding included), not before', () => {
    const reader = new PduReader({ maxRecvDataSegmentLength: 262144 });
    const got: TargetPdu[] = [];
    let nextEnd = pduLength(STREAM, 0);
    for (let i = 0; i < STREAM.length; i++) {
      const out = reader.push(STREAM.subarray(i, i + 1));
      expect(out.length).toBe(i + 1 === nextEnd ? 1 : 0);
      if (out.length === 1 && nextEnd < STREAM.length) nextEnd += pduLength(STREAM, nextEnd);
      got.push(...out);
    }
    expect(got).toEqual(want);
  });

  it('empty pushes change nothing', () => {
    const reader = new PduReader();
    expect(reader.push(new Uint8Array(0))).toEqual([]);
    expect(reader.push(GOLDEN.nopIn.subarray(0, 10))).toEqual([]);
    expect(reader.push(new Uint8Array(0))).toEqual([]);
    expect(reader.buffered).toBe(10);
    expect(reader.push(GOLDEN.nopIn.subarray(10))).toHaveLength(1);
  });

  it('random split points (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 60 }), (cuts) => {
        expect(pushCut(new PduReader({ maxRecvDataSegmentLength: 262144 }), STREAM, cuts)).toEqual(want);
      }),
      runs(300),
    );
  });

  it('random streams of PDUs with random Data-In lengths, randomly split (fast-check)', () => {
    const pdu = fc.oneof(fc.constantFrom(...ALL_GOLDEN), fc.uint8Array({ maxLength: LIMIT }).map(dataIn));
    fc.assert(
      fc.property(fc.array(pdu, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (pdus, cuts) => {
        const stream = concat(...pdus);
        const got = pushCut(new PduReader({ maxRecvDataSegmentLength: LIMIT }), stream, cuts.map((c) => c % (stream.length + 1)));
        expect(got).toEqual(expected(stream));
      }),
      runs(200),
    );
  });
});

describe('PduReader: limits, and dead after the first error', () => {
  it('a DataSegmentLength over the negotiated MaxRecvDataSegmentLength, refused from the BHS alone', () => {
    const reader = new PduReader({ maxRecvDataSegmentLength: 262144 });
    const header = patched(GOLDEN.scsiResponseSense.subarray(0, 48), { 5: 0xff, 6: 0xff, 7: 0xff });
    expect(reader.push(header.subarray(0, 47))).toEqual([]);
    expectPduError(() => reader.push(header.subarray(47)), 'SCSI Response: DataSegmentLength 16777215 over the 262144 negotiated');
  });

  it('the default limit is 8192 (RFC 7143 13.12) and setMaxRecvDataSegmentLength changes it for the next BHS', () => {
    const big = dataIn(new Uint8Array(8193));
    expectPduError(() => new PduReader().push(big), 'SCSI Data-In: DataSegmentLength 8193 over the 8192 negotiated');
    const reader = new PduReader();
    reader.setMaxRecvDataSegmentLength(16384);
    expect(reader.push(big)).toHaveLength(1);
    reader.setMaxRecvDataSegmentLength(512);
    expectPduError(() => reader.push(dataIn(new Uint8Array(513))), 'SCSI Data-In: DataSegmentLength 513 over the 512 negotiated');
  });

  it('refuses a MaxRecvDataSegmentLength outside RFC 7143 13.12 (512 to 2^24 - 1)', () => {
    expect(() => new PduReader({ maxRecvDataSegmentLength: 511 })).toThrow(new RangeError('MaxRecvDataSegmentLength 511 is not an integer in 512..16777215'));
    expect(() => new PduReader().setMaxRecvDataSegmentLength(2 ** 24)).toThrow('MaxRecvDataSegmentLength 16777216 is not an integer in 512..16777215');
  });

  it(`skips an AHS of up to ${MAX_AHS_BYTES / 4} words; more is refused`, () => {
    const bhs = GOLDEN.dataInStatus.subarray(0, 48);
    const withAhs = (words: number) => concat(patched(bhs, { 4: words }), new Uint8Array(words * 4).fill(0xaa), GOLDEN.dataInStatus.subarray(48));
    const [pdu] = new PduReader().push(withAhs(MAX_AHS_BYTES / 4));
    expect(pdu).toEqual(decodeTargetPdu(...split(GOLDEN.dataInStatus)));
    expectPduError(() => new PduReader().push(withAhs(MAX_AHS_BYTES / 4 + 1)), 'SCSI Data-In: TotalAHSLength 17 words over the 16 allowed');
  });

  it('after an error every push throws that same error, whatever it is given', () => {
    const reader = new PduReader();
    const error = expectPduError(() => reader.push(patched(GOLDEN.nopIn, { 0: 0x3a })), 'unknown opcode 0x3a');
    expect(thrown(() => reader.push(GOLDEN.nopIn))).toBe(error);
    expect(thrown(() => reader.push(new Uint8Array(0)))).toBe(error);
    const inBody = new PduReader();
    const late = expectPduError(() => inBody.push(patched(GOLDEN.scsiResponseSense, { 49: 0x13 })), 'SCSI Response: SenseLength 19 over the 18 bytes of sense and response data after it');
    expect(thrown(() => inBody.push(GOLDEN.nopIn))).toBe(late);
  });
});

describe('PduReader: random bytes (fast-check, 2,000 runs)', () => {
  it('yield well-formed PDUs or one PduError, never another exception, never more than the PDU being read', () => {
    const limit = 512;
    const valid = concat(GOLDEN.loginResponse, GOLDEN.scsiResponseSense, GOLDEN.dataInStatus, GOLDEN.textResponse, GOLDEN.reject);
    const mutated = fc
      .array(fc.record({ at: fc.nat({ max: valid.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 })
      .map((flips) => patched(valid, Object.fromEntries(flips.map((f) => [f.at, f.value]))));
    const input = fc.oneof(fc.uint8Array({ maxLength: 2000 }), mutated);
    let errors = 0;
    let clean = 0;
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 20 }), (stream, cuts) => {
        const reader = new PduReader({ maxRecvDataSegmentLength: limit });
        try {
          pushCut(reader, stream, cuts.map((c) => c % (stream.length + 1)));
          clean++;
        } catch (e) {
          if (!(e instanceof PduError)) throw e;
          expect(e.message).not.toMatch(/[\r\n]/);
          expect(reader.buffered).toBeLessThanOrEqual(48 + MAX_AHS_BYTES + limit);
          expect(thrown(() => reader.push(stream))).toBe(e);
          errors++;
        }
      }),
      runs(2000),
    );
    // Both outcomes occur: the property is not passing on one kind of input only.
    expect(errors).toBeGreaterThan(100);
    expect(clean).toBeGreaterThan(100);
  });
});
