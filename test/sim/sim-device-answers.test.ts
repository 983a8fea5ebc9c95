import { describe, expect, it } from 'vitest';
import { Deadline } from '../../host/backends/deadline.js';
import { inquiryData } from '../../host/backends/sim/inquiry-data.js';
import { SCENARIOS } from '../../host/backends/sim/scenario.js';
import { SimDevice } from '../../host/backends/sim/sim-device.js';
import { TUR, answer, descriptorSense, errnoOf, fixedSense, inquiry, outcome } from './helpers.js';

const GOOD = 0x00;
const CHECK_CONDITION = 0x02;
const NOT_READY = 0x2;
const HARDWARE_ERROR = 0x4;
const UNIT_ATTENTION = 0x6;
const ILLEGAL_REQUEST = 0x5;
const ENODEV = 43;
const ETIMEDOUT = 73;

/** The first TUR answer of each scenario: status, host byte and sense as [key, asc, ascq], or a WASI errno. */
const TUR_ANSWERS: Record<string, { status: number; host: number; sense?: [number, number, number] } | { errno: number }> = {
  ok: { status: GOOD, host: 0 },
  down: { status: CHECK_CONDITION, host: 0, sense: [HARDWARE_ERROR, 0x44, 0x00] },
  standby: { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x04, 0x0b] },
  transitioning: { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x04, 0x0a] },
  'not-ready': { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x04, 0x02] },
  'medium-not-present': { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x3a, 0x00] },
  'ua-then-ok': { status: CHECK_CONDITION, host: 0, sense: [UNIT_ATTENTION, 0x29, 0x00] },
  'unit-attention': { status: CHECK_CONDITION, host: 0, sense: [UNIT_ATTENTION, 0x29, 0x00] },
  'no-connect': { status: GOOD, host: 0x01 },
  busy: { status: 0x08, host: 0 },
  'reservation-conflict': { status: 0x18, host: 0 },
  slow: { status: GOOD, host: 0 },
  flap: { status: GOOD, host: 0 },
  hang: { errno: ETIMEDOUT },
  gone: { errno: ENODEV },
};

/** Short, to keep `hang` quick; `slow` runs with a 1 ms latency so it answers well within it. */
const deadline = () => Deadline.after(30);
function device(name: string, sense?: 'descriptor'): SimDevice {
  const params = [...(name === 'slow' ? ['latency=1'] : []), ...(sense ? [`sense=${sense}`] : [])];
  return SimDevice.fromSpec(`sim:${name}${params.length ? `?${params.join('&')}` : ''}`);
}

/** Blocks its thread by design, ignoring deadlines: tested on the worker pool (test/pool), which terminates it. */
const THREAD_BLOCKING = ['hang-hard'];

describe('TEST UNIT READY answers', () => {
  it('covers every scenario in the file', () => {
    expect([...Object.keys(TUR_ANSWERS), ...THREAD_BLOCKING].sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
  });

  for (const [name, expected] of Object.entries(TUR_ANSWERS)) {
    it(`${name}: fixed and descriptor sense`, () => {
      for (const [sense, format] of [[undefined, fixedSense], ['descriptor', descriptorSense]] as const) {
        const result = device(name, sense).scsi(TUR, deadline());
        if ('errno' in expected) {
          expect(errnoOf(result)).toBe(expected.errno);
          continue;
        }
        const o = outcome(result);
        expect(answer(o)).toEqual({ status: expected.status, host: expected.host, sense: expected.sense ? format(...expected.sense) : [] });
        expect(o.driverStatus).toBe(0);
        expect(o.dataIn.length).toBe(0);
      }
    });
  }

  it('answers any other opcode like a TUR', () => {
    const readCapacity = { cdb: Uint8Array.of(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), dataOut: new Uint8Array(0), dataInLength: 8 };
    expect(answer(device('standby').scsi(readCapacity, deadline()))).toEqual({ status: CHECK_CONDITION, host: 0, sense: fixedSense(NOT_READY, 0x04, 0x0b) });
    const good = outcome(device('ok').scsi(readCapacity, deadline()));
    expect(answer(good)).toEqual({ status: GOOD, host: 0, sense: [] });
    expect(good.dataIn.length).toBe(0);
  });
});

describe('INQUIRY', () => {
  const text = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

  it('returns 36 bytes of standard INQUIRY data naming the scenario', () => {
    const o = outcome(device('ok').scsi(inquiry(96), deadline()));
    expect(answer(o)).toEqual({ status: GOOD, host: 0, sense: [] });
    expect(o.dataIn.length).toBe(36);
    expect(o.dataIn[0]).toBe(0);
    expect(o.dataIn[4]).toBe(31);
    expect(text(o.dataIn, 8, 16)).toBe('PATHCHK ');
    expect(text(o.dataIn, 16, 32)).toBe('SIM ok          ');
    expect(text(o.dataIn, 32, 36)).toBe('0001');
  });

  it('truncates to the data-in length', () => {
    const o = outcome(device('flap').scsi(inquiry(20), deadline()));
    expect(o.dataIn.length).toBe(20);
    expect(text(o.dataIn, 16, 20)).toBe('SIM ');
  });

  it('cuts a long scenario name to the 16-byte product field', () => {
    expect(text(inquiryData('medium-not-present'), 16, 32)).toBe('SIM medium-not-p');
  });

  it('answers a failing scenario like a TUR, without data', () => {
    const o = outcome(device('down').scsi(inquiry(96), deadline()));
    expect(answer(o)).toEqual({ status: CHECK_CONDITION, host: 0, sense: fixedSense(HARDWARE_ERROR, 0x44, 0x00) });
    expect(o.dataIn.length).toBe(0);
  });

  it('refuses a VPD page request with ILLEGAL REQUEST, invalid field in CDB', () => {
    expect(answer(device('ok').scsi(inquiry(96, true), deadline()))).toEqual({
      status: CHECK_CONDITION,
      host: 0,
      sense: fixedSense(ILLEGAL_REQUEST, 0x24, 0x00),
    });
  });
});

describe('plain reads', () => {
  it('return the offset pattern on a GOOD scenario', () => {
    const data = device('ok').read(510, 4, deadline());
    expect([...(data as Uint8Array)]).toEqual([254, 255, 0, 1]);
    expect([...(device('slow').read(0, 3, deadline()) as Uint8Array)]).toEqual([0, 1, 2]);
  });

  it('fail with EIO on failing scenarios, ENXIO on no-connect, the errno of an errno scenario', () => {
    for (const name of ['down', 'standby', 'transitioning', 'not-ready', 'medium-not-present', 'busy', 'reservation-conflict']) {
      expect(errnoOf(device(name).read(0, 512, deadline())), name).toBe(29);
    }
    expect(errnoOf(device('no-connect').read(0, 512, deadline()))).toBe(60);
    expect(errnoOf(device('gone').read(0, 512, deadline()))).toBe(ENODEV);
    expect(errnoOf(device('hang').read(0, 512, deadline()))).toBe(ETIMEDOUT);
  });

  it('refuse with EINVAL, uncounted, anything not wholly inside the device', () => {
    const d = SimDevice.fromSpec('sim:ok?blocks=2');
    expect(d.blockSize).toBe(512);
    expect(d.blockCount).toBe(2);
    expect((d.read(0, 1024, deadline()) as Uint8Array).length).toBe(1024);
    expect((d.read(1024, 0, deadline()) as Uint8Array).length).toBe(0);
    for (const [offset, length] of [[1023, 2], [1024, 1], [-1, 1], [0, -1], [0.5, 1], [0, Number.NaN]]) {
      expect(errnoOf(d.read(offset!, length!, deadline()))).toBe(28);
    }
    expect(d.commandCount).toBe(2);
  });

  it('default geometry is 2048 blocks of 512 bytes', () => {
    expect(SimDevice.fromSpec('sim:ok').blockCount).toBe(2048);
  });
});
