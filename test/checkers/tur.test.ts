import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../host/backends/device-spec.js';
import type { SimDevice } from '../../host/backends/sim/sim-device.js';
import { checkInThread } from '../../host/registry/check-in-thread.js';
import { Registry } from '../../host/registry/registry.js';
import { CHECKERS_DIR } from '../../host/cli/package-paths.js';

let registry: Registry;

beforeAll(async () => {
  registry = new Registry({ scratchRegions: 1 });
  await registry.load(join(CHECKERS_DIR, 'tur.wasm'));
  await registry.load(join(CHECKERS_DIR, 'none.wasm'));
});

function check(spec: string, checker = 'tur', timeoutMs = 5000) {
  const bound = registry.bind(checker, openDevice(spec));
  try {
    return checkInThread(registry, bound, timeoutMs);
  } finally {
    registry.unbind(bound);
  }
}

describe('tur over every sim scenario: the state multipathd would report', () => {
  const cases: [spec: string, state: string, message: string][] = [
    ['sim:ok', 'up', 'tur checker reports path is up'],
    ['sim:down', 'down', 'tur checker reports path is down'],
    ['sim:standby', 'ghost', 'tur checker reports path is ghost'],
    ['sim:standby?sense=descriptor', 'ghost', 'tur checker reports path is ghost'],
    ['sim:not-ready', 'down', 'tur checker reports path is down'],
    ['sim:medium-not-present', 'down', 'tur checker reports path is down'],
    ['sim:medium-not-present?sense=descriptor', 'down', 'tur checker reports path is down'],
    ['sim:ua-then-ok', 'up', 'tur checker reports path is up'],
    ['sim:no-connect', 'down', 'tur checker reports path is down'],
    ['sim:slow?latency=20', 'up', 'tur checker reports path is up'],
    ['sim:transitioning', 'pending', 'tur checker reports path is transitioning'],
    ['sim:reservation-conflict', 'up', 'tur checker reports path is up'],
    ['sim:busy', 'down', 'tur checker reports path is down'],
  ];
  it.each(cases)('%s -> %s', (spec, state, message) => {
    const r = check(spec);
    expect(r.state).toBe(state);
    expect(r.message).toBe(message);
  });

  /** Check one device `n` times with one binding: the states in order and the commands the device saw. */
  function run(spec: string, n: number) {
    const device = openDevice(spec) as SimDevice;
    const bound = registry.bind('tur', device);
    const states = Array.from({ length: n }, () => checkInThread(registry, bound, 5000).state);
    registry.unbind(bound);
    return { states, commands: device.commandCount };
  }

  it('ua-then-ok: the UNIT ATTENTION is retried, so the device saw two TURs', () => {
    expect(run('sim:ua-then-ok', 1)).toEqual({ states: ['up'], commands: 2 });
  });

  it('a UNIT ATTENTION that never clears is retried a bounded number of times (3 TURs), then down', () => {
    expect(run('sim:unit-attention', 1)).toEqual({ states: ['down'], commands: 3 });
  });

  it('flap with every=1 alternates from one check to the next', () => {
    expect(run('sim:flap?every=1', 3)).toEqual({ states: ['up', 'down', 'up'], commands: 3 });
  });

  it('flap with every=2 follows the device across checks', () => {
    expect(run('sim:flap?every=2', 6).states).toEqual(['up', 'up', 'down', 'down', 'up', 'up']);
  });

  it('slow past the timeout: timeout, with the timeout message', () => {
    const r = check('sim:slow?latency=2000', 'tur', 50);
    expect(r.state).toBe('timeout');
    expect(r.message).toBe('tur checker timed out');
    expect(r.ms).toBeGreaterThanOrEqual(45);
  });

  it('hang: timeout once the deadline passes', () => {
    const r = check('sim:hang', 'tur', 100);
    expect(r.state).toBe('timeout');
    expect(r.message).toBe('tur checker timed out');
  });
});

describe('none', () => {
  it.each(['sim:ok', 'sim:down', 'sim:standby', 'sim:no-connect', 'sim:hang'])('%s -> up without touching the device', (spec) => {
    const device = openDevice(spec) as SimDevice;
    const bound = registry.bind('none', device);
    const r = checkInThread(registry, bound, 100);
    registry.unbind(bound);
    expect(r.state).toBe('up');
    expect(r.message).toBe('none checker reports path is up');
    expect(device.commandCount).toBe(0);
  });
});
