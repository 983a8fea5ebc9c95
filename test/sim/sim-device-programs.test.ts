import { describe, expect, it } from 'vitest';
import { IoState } from '../../host/backends/io-slot.js';
import { SimDevice } from '../../host/backends/sim/sim-device.js';
import { SimSpecError } from '../../host/backends/sim/sim-spec-error.js';
import { descriptorSense, fixedSense, read, scsi, submit, take, type Reply } from './helpers.js';

const DOWN = fixedSense(0x4, 0x44, 0x00);
const STANDBY = fixedSense(0x2, 0x04, 0x0b);
const EIO = 29;

const senseOf = (r: Reply) => ('sense' in r ? r.sense : null);

/** Status of the next `n` TURs: 'G' GOOD, 'D' the down answer, '?' anything else. */
function turs(d: SimDevice, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = scsi(d);
    s += 'status' in r && r.status === 0 && r.sense.length === 0 ? 'G' : 'status' in r && r.status === 2 && r.sense.join() === DOWN.join() ? 'D' : '?';
  }
  return s;
}

describe('programs', () => {
  it('flap alternates every command, GOOD first', () => {
    expect(turs(SimDevice.fromSpec('sim:flap'), 6)).toBe('GDGDGD');
    expect(turs(SimDevice.fromSpec('sim:flap?every=1'), 4)).toBe('GDGD');
  });

  it('flap?every=3 alternates every three commands', () => {
    expect(turs(SimDevice.fromSpec('sim:flap?every=3'), 14)).toBe('GGGDDDGGGDDDGG');
  });

  it('ua-then-ok reports one unit attention, then GOOD forever', () => {
    const d = SimDevice.fromSpec('sim:ua-then-ok');
    expect(senseOf(scsi(d))).toEqual(fixedSense(0x6, 0x29, 0x00));
    expect(turs(d, 5)).toBe('GGGGG');
  });

  it('counts reads and SCSI commands on one counter', () => {
    const d = SimDevice.fromSpec('sim:flap');
    expect(turs(d, 1)).toBe('G');
    expect(read(d, 0, 512)).toEqual({ errno: EIO });
    expect(read(d, 0, 2)).toEqual({ data: [0, 1] });
    expect(turs(d, 1)).toBe('D');
    expect(d.commandCount).toBe(4);
  });

  it('a read in the UA phase fails, then reads return data', () => {
    const d = SimDevice.fromSpec('sim:ua-then-ok');
    expect(read(d, 0, 1)).toEqual({ errno: EIO });
    expect(read(d, 7, 1)).toEqual({ data: [7] });
  });
});

describe('setScenario at run time', () => {
  it('switches the answer, and the scenario starts from its first command', () => {
    const d = SimDevice.fromSpec('sim:ok?id=lun3');
    expect(turs(d, 3)).toBe('GGG');
    d.setScenario('standby');
    expect(d.scenarioName).toBe('standby');
    expect(senseOf(scsi(d))).toEqual(STANDBY);
    d.setScenario('ua-then-ok');
    expect(scsi(d)).toMatchObject({ status: 2 });
    expect(turs(d, 1)).toBe('G');
    d.setScenario('flap?every=2');
    expect(turs(d, 6)).toBe('GGDDGG');
    expect(d.commandCount).toBe(12);
    expect(d.spec).toBe('sim:ok?id=lun3');
  });

  it('keeps the sense format unless the change names one', () => {
    const d = SimDevice.fromSpec('sim:ok?sense=descriptor');
    d.setScenario('down');
    expect(senseOf(scsi(d))).toEqual(descriptorSense(0x4, 0x44, 0x00));
    d.setScenario('down?sense=fixed');
    expect(senseOf(scsi(d))).toEqual(DOWN);
  });

  it('gives new parameters their defaults', () => {
    const d = SimDevice.fromSpec('sim:flap?every=3');
    d.setScenario('flap');
    expect(turs(d, 2)).toBe('GD');
  });

  it('refuses a bad change and leaves the scenario alone', () => {
    const d = SimDevice.fromSpec('sim:standby');
    expect(() => d.setScenario('stanby')).toThrow(SimSpecError);
    expect(() => d.setScenario('ok?id=other')).toThrow("sim scenario 'ok': parameter 'id' cannot change on a running device");
    expect(() => d.setScenario('flap?every=0')).toThrow("sim scenario 'flap': parameter 'every' must be a positive integer, got '0'");
    expect(d.scenarioName).toBe('standby');
  });
});

describe('shared state', () => {
  it('two SimDevice objects attached through share() are one device', () => {
    const a = SimDevice.fromSpec('sim:flap?id=a');
    const b = SimDevice.fromShared(a.share());
    expect(b.shared).toBe(a.shared);
    expect(b.spec).toBe('sim:flap?id=a');
    expect(turs(a, 1)).toBe('G');
    expect(turs(b, 1)).toBe('D');
    b.setScenario('standby');
    expect(a.scenarioName).toBe('standby');
    expect(senseOf(scsi(a))).toEqual(STANDBY);
    expect(a.commandCount).toBe(3);
    expect(b.commandCount).toBe(3);
  });

  // What lets a check resume on another worker: the reply lives in the device's slot, not the submitter's object.
  it('share one command slot: a command submitted through one is outstanding and answered through the other', () => {
    const a = SimDevice.fromSpec('sim:standby?id=s');
    const b = SimDevice.fromShared(a.share());
    submit(a);
    expect(b.io.state).toBe(IoState.COMPLETE);
    expect(senseOf(take(b.io))).toEqual(STANDBY);
    expect(a.io.state).toBe(IoState.IDLE);
  });

  it('fromShared refuses a bad spec, a state buffer of the wrong size, or a slot that cannot grow', () => {
    const share = SimDevice.fromSpec('sim:ok').share();
    expect(() => SimDevice.fromShared({ ...share, spec: 'sim:nope' })).toThrow(SimSpecError);
    expect(() => SimDevice.fromShared({ ...share, shared: new SharedArrayBuffer(8) })).toThrow(/sim device state must be \d+ bytes, got 8/);
    expect(() => SimDevice.fromShared({ ...share, io: { ...share.io, data: new SharedArrayBuffer(share.io.data.byteLength) } })).toThrow('io slot data buffer must be a growable SharedArrayBuffer');
    expect(() => SimDevice.fromShared({ ...share, io: { ...share.io, control: new SharedArrayBuffer(8) } })).toThrow(/io slot control buffer must be \d+ bytes/);
  });

  it('devices made from the same spec are independent, command slots too', () => {
    const a = SimDevice.fromSpec('sim:flap');
    const b = SimDevice.fromSpec('sim:flap');
    expect(turs(a, 1)).toBe('G');
    expect(turs(b, 1)).toBe('G');
    a.setScenario('hang');
    submit(a);
    expect(b.io.state).toBe(IoState.IDLE);
    expect(turs(b, 1)).toBe('D');
  });
});
