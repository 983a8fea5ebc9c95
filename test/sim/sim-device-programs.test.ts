import { describe, expect, it } from 'vitest';
import { Deadline } from '../../host/backends/deadline.js';
import { SimDevice } from '../../host/backends/sim/sim-device.js';
import { SimSpecError } from '../../host/backends/sim/sim-spec-error.js';
import { TUR, descriptorSense, errnoOf, fixedSense, outcome } from './helpers.js';

const DOWN = fixedSense(0x4, 0x44, 0x00);
const STANDBY = fixedSense(0x2, 0x04, 0x0b);

/** Status of the next `n` TURs: 'G' GOOD, 'D' the down answer, '?' anything else. */
function turs(d: SimDevice, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const o = outcome(d.scsi(TUR, Deadline.NONE));
    s += o.status === 0 && o.sense.length === 0 ? 'G' : o.status === 2 && [...o.sense].join() === DOWN.join() ? 'D' : '?';
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
    expect([...outcome(d.scsi(TUR, Deadline.NONE)).sense]).toEqual(fixedSense(0x6, 0x29, 0x00));
    expect(turs(d, 5)).toBe('GGGGG');
  });

  it('counts reads and SCSI commands on one counter', () => {
    const d = SimDevice.fromSpec('sim:flap');
    expect(turs(d, 1)).toBe('G');
    expect(errnoOf(d.read(0, 512, Deadline.NONE))).toBe(29);
    expect(d.read(0, 512, Deadline.NONE)).toBeInstanceOf(Uint8Array);
    expect(turs(d, 1)).toBe('D');
    expect(d.commandCount).toBe(4);
  });

  it('a read in the UA phase fails, then reads return data', () => {
    const d = SimDevice.fromSpec('sim:ua-then-ok');
    expect(errnoOf(d.read(0, 1, Deadline.NONE))).toBe(29);
    expect([...(d.read(7, 1, Deadline.NONE) as Uint8Array)]).toEqual([7]);
  });
});

describe('setScenario at run time', () => {
  it('switches the answer, and the scenario starts from its first command', () => {
    const d = SimDevice.fromSpec('sim:ok?id=lun3');
    expect(turs(d, 3)).toBe('GGG');
    d.setScenario('standby');
    expect(d.scenarioName).toBe('standby');
    expect([...outcome(d.scsi(TUR, Deadline.NONE)).sense]).toEqual(STANDBY);
    d.setScenario('ua-then-ok');
    expect(outcome(d.scsi(TUR, Deadline.NONE)).status).toBe(2);
    expect(turs(d, 1)).toBe('G');
    d.setScenario('flap?every=2');
    expect(turs(d, 6)).toBe('GGDDGG');
    expect(d.commandCount).toBe(12);
    expect(d.spec).toBe('sim:ok?id=lun3');
  });

  it('keeps the sense format unless the change names one', () => {
    const d = SimDevice.fromSpec('sim:ok?sense=descriptor');
    d.setScenario('down');
    expect([...outcome(d.scsi(TUR, Deadline.NONE)).sense]).toEqual(descriptorSense(0x4, 0x44, 0x00));
    d.setScenario('down?sense=fixed');
    expect([...outcome(d.scsi(TUR, Deadline.NONE)).sense]).toEqual(DOWN);
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
  it('two SimDevice objects on one SharedArrayBuffer are one device', () => {
    const a = SimDevice.fromSpec('sim:flap?id=a');
    const b = SimDevice.fromShared('sim:flap?id=a', a.shared);
    expect(b.shared).toBe(a.shared);
    expect(turs(a, 1)).toBe('G');
    expect(turs(b, 1)).toBe('D');
    b.setScenario('standby');
    expect(a.scenarioName).toBe('standby');
    expect([...outcome(a.scsi(TUR, Deadline.NONE)).sense]).toEqual(STANDBY);
    expect(a.commandCount).toBe(3);
    expect(b.commandCount).toBe(3);
  });

  it('fromShared refuses a bad spec or a buffer of the wrong size', () => {
    const a = SimDevice.fromSpec('sim:ok');
    expect(() => SimDevice.fromShared('sim:nope', a.shared)).toThrow(SimSpecError);
    expect(() => SimDevice.fromShared('sim:ok', new SharedArrayBuffer(8))).toThrow(/sim device state must be \d+ bytes, got 8/);
  });

  it('devices made from the same spec are independent', () => {
    const a = SimDevice.fromSpec('sim:flap');
    const b = SimDevice.fromSpec('sim:flap');
    expect(turs(a, 1)).toBe('G');
    expect(turs(b, 1)).toBe('G');
  });
});
