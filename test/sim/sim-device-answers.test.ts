import { describe, expect, it } from 'vitest';
import { IoState } from '../../host/backends/io-slot.js';
import { inquiryData } from '../../host/backends/sim/inquiry-data.js';
import { SCENARIOS } from '../../host/backends/sim/scenario.js';
import { SimDevice } from '../../host/backends/sim/sim-device.js';
import { TUR, descriptorSense, fixedSense, inquiry, read, scsi, scsiReply, started, submit, submitRead, take, type Reply } from './helpers.js';

const GOOD = 0x00;
const CHECK_CONDITION = 0x02;
const NOT_READY = 0x2;
const HARDWARE_ERROR = 0x4;
const UNIT_ATTENTION = 0x6;
const ILLEGAL_REQUEST = 0x5;
const EIO = 29;
const ENODEV = 43;
const ENXIO = 60;

/** The first TUR answer of each scenario: status, host byte and sense as [key, asc, ascq], or a WASI errno. */
const TUR_ANSWERS: Record<string, { status: number; host: number; sense?: [number, number, number] } | { errno: number }> = {
  ok: { status: GOOD, host: 0 },
  down: { status: CHECK_CONDITION, host: 0, sense: [HARDWARE_ERROR, 0x44, 0x00] },
  standby: { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x04, 0x0b] },
  transitioning: { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x04, 0x0a] },
  'not-ready': { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x04, 0x02] },
  'medium-not-present': { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x3a, 0x00] },
  'no-lun': { status: CHECK_CONDITION, host: 0, sense: [ILLEGAL_REQUEST, 0x25, 0x00] },
  'ua-then-ok': { status: CHECK_CONDITION, host: 0, sense: [UNIT_ATTENTION, 0x29, 0x00] },
  'unit-attention': { status: CHECK_CONDITION, host: 0, sense: [UNIT_ATTENTION, 0x29, 0x00] },
  'no-connect': { status: GOOD, host: 0x01 },
  busy: { status: 0x08, host: 0 },
  'reservation-conflict': { status: 0x18, host: 0 },
  slow: { status: GOOD, host: 0 },
  'slow-ua-then-ok': { status: CHECK_CONDITION, host: 0, sense: [UNIT_ATTENTION, 0x29, 0x00] },
  flap: { status: GOOD, host: 0 },
  /** Once released: a hung command answers like ok. */
  hang: { status: GOOD, host: 0 },
  gone: { errno: ENODEV },
  // Array device models: their TUR answer is a healthy disk's (the standby HP controller's excepted);
  // what they model is in their per-command programs (sim-device-commands.test.ts, the checkers' tests).
  'hp-active': { status: GOOD, host: 0 },
  'rdac-owner': { status: GOOD, host: 0 },
  'rdac-passive': { status: GOOD, host: 0 },
  'rdac-ioship': { status: GOOD, host: 0 },
  'rdac-quiesced': { status: GOOD, host: 0 },
  'rdac-startup': { status: GOOD, host: 0 },
  'rdac-unavailable': { status: GOOD, host: 0 },
  'rdac-not-connected': { status: GOOD, host: 0 },
  'clariion-active': { status: GOOD, host: 0 },
  'clariion-passive': { status: GOOD, host: 0 },
  'clariion-unbound': { status: GOOD, host: 0 },
  'clariion-not-available': { status: GOOD, host: 0 },
  'clariion-misconfigured': { status: GOOD, host: 0 },
  'clariion-wwn-change': { status: GOOD, host: 0 },
  'clariion-read-error': { status: GOOD, host: 0 },
  'clariion-inactive-snapshot': { status: GOOD, host: 0 },
  'clariion-bad-page': { status: GOOD, host: 0 },
  'hp-standby': { status: CHECK_CONDITION, host: 0, sense: [NOT_READY, 0x04, 0x02] },
};

/** The slow scenarios run with a 1 ms latency, to keep the table quick. */
function device(name: string, sense?: 'descriptor'): SimDevice {
  const params = [...(name.startsWith('slow') ? ['latency=1'] : []), ...(sense ? [`sense=${sense}`] : [])];
  return SimDevice.fromSpec(`sim:${name}${params.length ? `?${params.join('&')}` : ''}`);
}

/**
 * Submit through `send`, then finish the command whichever way the scenario does: at once, through the
 * I/O side after a latency, or (hang) through the I/O side once released.
 */
async function answered(d: SimDevice, send: (d: SimDevice) => void): Promise<Reply> {
  send(d);
  if (d.io.state !== IoState.COMPLETE) {
    const done = started(d);
    d.release();
    await done;
  }
  return take(d.io);
}

/** Blocks its thread by design: tested in sim-device-timing with a releasing worker. */
const THREAD_BLOCKING = ['hang-hard'];

describe('TEST UNIT READY answers', () => {
  it('covers every scenario in the file', () => {
    expect([...Object.keys(TUR_ANSWERS), ...THREAD_BLOCKING].sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
  });

  for (const [name, expected] of Object.entries(TUR_ANSWERS)) {
    it(`${name}: fixed and descriptor sense`, async () => {
      for (const [sense, format] of [[undefined, fixedSense], ['descriptor', descriptorSense]] as const) {
        const reply = await answered(device(name, sense), (d) => submit(d, TUR));
        expect(reply).toEqual('errno' in expected ? expected : scsiReply(expected.status, expected.host, expected.sense ? format(...expected.sense) : []));
      }
    });
  }

  it('answers at once (readable right after the submit) unless the scenario waits', () => {
    for (const name of Object.keys(TUR_ANSWERS)) {
      expect(submit(device(name), TUR).state, name).toBe(name.startsWith('slow') || name === 'hang' ? IoState.SUBMITTED : IoState.COMPLETE);
    }
  });

  it('answers any other opcode like a TUR, with no data (SYNCHRONIZE CACHE, REQUEST SENSE)', () => {
    for (const cdb of [Uint8Array.of(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of(0x03, 0, 0, 0, 18, 0)]) {
      const command = { cdb, dataOut: new Uint8Array(0), dataInLength: 18 };
      expect(scsi(device('standby'), command)).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(NOT_READY, 0x04, 0x0b)));
      expect(scsi(device('ok'), command)).toEqual(scsiReply(GOOD));
    }
  });
});

describe('INQUIRY', () => {
  const text = (bytes: number[], from: number, to: number) => String.fromCharCode(...bytes.slice(from, to));
  const dataOf = (r: Reply) => ('data' in r ? r.data : []);

  it('returns 36 bytes of standard INQUIRY data naming the scenario', () => {
    const r = scsi(device('ok'), inquiry(96));
    const data = dataOf(r);
    expect(r).toEqual(scsiReply(GOOD, 0, [], data));
    expect(data.length).toBe(36);
    expect(data[0]).toBe(0);
    expect(data[4]).toBe(31);
    expect(text(data, 8, 16)).toBe('PATHCHK ');
    expect(text(data, 16, 32)).toBe('SIM ok          ');
    expect(text(data, 32, 36)).toBe('0001');
  });

  it('truncates to the data-in length', () => {
    const data = dataOf(scsi(device('flap'), inquiry(20)));
    expect(data.length).toBe(20);
    expect(text(data, 16, 20)).toBe('SIM ');
  });

  it('cuts a long scenario name to the 16-byte product field', () => {
    expect(String.fromCharCode(...inquiryData('medium-not-present').subarray(16, 32))).toBe('SIM medium-not-p');
  });

  it('answers a failing scenario like a TUR, without data', () => {
    expect(scsi(device('down'), inquiry(96))).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(HARDWARE_ERROR, 0x44, 0x00)));
  });

  it('has VPD pages 0x00 (supported pages) and 0x80 (unit serial number: the id, SIM without one)', () => {
    expect(scsi(device('ok'), inquiry(96, 0x00))).toEqual({ ...scsiReply(GOOD), data: [0, 0, 0, 2, 0x00, 0x80] });
    const serial = (r: Reply) => String.fromCharCode(...('data' in r ? r.data : []).slice(4));
    expect(serial(scsi(device('ok'), inquiry(96, 0x80)))).toBe('SIM');
    expect(serial(scsi(SimDevice.fromSpec('sim:ok?id=lun-7'), inquiry(96, 0x80)))).toBe('lun-7');
    // Cut to the allocation length, as a target does.
    expect(scsi(SimDevice.fromSpec('sim:ok?id=lun-7'), inquiry(6, 0x80))).toEqual({ ...scsiReply(GOOD), data: [0, 0x80, 0, 5, 0x6c, 0x75] });
  });

  it('refuses any other VPD page with ILLEGAL REQUEST, invalid field in CDB', () => {
    expect(scsi(device('ok'), inquiry(96, 0xc9))).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(ILLEGAL_REQUEST, 0x24, 0x00)));
    expect(scsi(device('ok', 'descriptor'), inquiry(96, 0x83))).toEqual(scsiReply(CHECK_CONDITION, 0, descriptorSense(ILLEGAL_REQUEST, 0x24, 0x00)));
  });
});

describe('plain reads', () => {
  it('return the offset pattern on a GOOD scenario, a slow or a released one', async () => {
    expect(read(device('ok'), 510, 4)).toEqual({ data: [254, 255, 0, 1] });
    expect(await answered(device('slow'), (d) => submitRead(d, 0, 3))).toEqual({ data: [0, 1, 2] });
    expect(await answered(device('hang'), (d) => submitRead(d, 300, 2))).toEqual({ data: [44, 45] });
  });

  it('fail with EIO on failing scenarios, ENXIO on no-connect, the errno of an errno scenario', () => {
    for (const name of ['down', 'standby', 'transitioning', 'not-ready', 'medium-not-present', 'no-lun', 'unit-attention', 'busy', 'reservation-conflict']) {
      expect(read(device(name), 0, 512), name).toEqual({ errno: EIO });
    }
    expect(read(device('no-connect'), 0, 512)).toEqual({ errno: ENXIO });
    expect(read(device('gone'), 0, 512)).toEqual({ errno: ENODEV });
  });

  it('read the whole of a small device (the shim refuses anything outside it)', () => {
    const d = SimDevice.fromSpec('sim:ok?blocks=2');
    expect(d.blockSize).toBe(512);
    expect(d.blockCount).toBe(2);
    const all = read(d, 0, 1024);
    expect('data' in all && all.data).toEqual(Array.from({ length: 1024 }, (_, i) => i & 0xff));
    expect(read(d, 1024, 0)).toEqual({ data: [] });
    expect(d.commandCount).toBe(2);
  });

  it('default geometry is 2048 blocks of 512 bytes', () => {
    const d = SimDevice.fromSpec('sim:ok');
    expect([d.blockCount, d.blockSize]).toEqual([2048, 512]);
  });
});
