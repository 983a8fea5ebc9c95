import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../host/backends/device-spec.js';
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

  it('ua-then-ok: the UNIT ATTENTION is retried, so the device saw two TURs', () => {
    const device = openDevice('sim:ua-then-ok') as ReturnType<typeof openDevice> & { commandCount: number };
    const bound = registry.bind('tur', device);
    expect(checkInThread(registry, bound, 5000).state).toBe('up');
    expect(device.commandCount).toBe(2);
    registry.unbind(bound);
  });

  it('a UNIT ATTENTION that never clears is retried a bounded number of times (3 TURs), then down', () => {
    const device = openDevice('sim:unit-attention') as ReturnType<typeof openDevice> & { commandCount: number };
    const bound = registry.bind('tur', device);
    expect(checkInThread(registry, bound, 5000).state).toBe('down');
    expect(device.commandCount).toBe(3);
    registry.unbind(bound);
  });

  it('flap with every=1 alternates from one check to the next', () => {
    const device = openDevice('sim:flap?every=1') as ReturnType<typeof openDevice> & { commandCount: number };
    const bound = registry.bind('tur', device);
    expect(checkInThread(registry, bound, 5000).state).toBe('up');
    expect(checkInThread(registry, bound, 5000).state).toBe('down');
    expect(checkInThread(registry, bound, 5000).state).toBe('up');
    expect(device.commandCount).toBe(3);
    registry.unbind(bound);
  });

  it('flap with every=2 follows the device across checks', () => {
    const bound = registry.bind('tur', openDevice('sim:flap?every=2'));
    const states = Array.from({ length: 6 }, () => checkInThread(registry, bound, 5000).state);
    registry.unbind(bound);
    expect(states).toEqual(['up', 'up', 'down', 'down', 'up', 'up']);
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
    const device = openDevice(spec) as ReturnType<typeof openDevice> & { commandCount: number };
    const bound = registry.bind('none', device);
    const r = checkInThread(registry, bound, 100);
    registry.unbind(bound);
    expect(r.state).toBe('up');
    expect(r.message).toBe('none checker reports path is up');
    expect(device.commandCount).toBe(0);
  });
});
