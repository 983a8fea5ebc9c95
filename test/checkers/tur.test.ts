// The tur and none checkers (assembly/checkers) over the simulated devices, checked the way the CLI
// and the daemon check: through a CheckHost (2 worker threads), plugin ABI v2. A check whose device
// has not answered parks (no thread held) and resumes with pc_pending when the reply is readable.

import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDevice } from '../../host/backends/device-spec.js';
import type { SimDevice } from '../../host/backends/sim/sim-device.js';
import { CHECKERS_DIR } from '../../host/cli/package-paths.js';
import { CheckHost } from '../../host/registry/check-host.js';
import type { Checker } from '../../host/registry/checker.js';

const TUR = join(CHECKERS_DIR, 'tur.wasm');
const NONE = join(CHECKERS_DIR, 'none.wasm');

const UP = 'tur checker reports path is up';
const DOWN = 'tur checker reports path is down';

function sim(spec: string): SimDevice {
  return openDevice(spec) as SimDevice;
}

/** A CheckHost with 2 workers, both started, and tur and none loaded. */
async function startHost(): Promise<CheckHost> {
  const h = new CheckHost({ size: 2 });
  // Timing-sensitive tests must not count worker start-up against a check's timeout.
  if (!(await h.pool.ready())) {
    await h.close();
    throw new Error('pool workers did not start within 10 s');
  }
  await h.registry.load(TUR);
  await h.registry.load(NONE);
  return h;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `cond` holds or `ms` pass; returns whether it held. */
async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(2);
  }
  return cond();
}

/** One host for the tests that only look at results. */
let shared: CheckHost;

beforeAll(async () => {
  shared = await startHost();
});

afterAll(async () => {
  await shared?.close();
});

/** Hosts made by one test (whose pool statistics must be its own alone), closed after it. */
let own: CheckHost[] = [];

afterEach(async () => {
  await Promise.all(own.map((h) => h.close()));
  own = [];
});

async function ownHost(): Promise<CheckHost> {
  const h = await startHost();
  own.push(h);
  return h;
}

/** One check of a fresh binding on a fresh device. */
async function check(spec: string, checker = 'tur', timeoutMs = 5000) {
  const device = sim(spec);
  const bound = await shared.registry.bind(checker, device, 5000);
  try {
    return { ...(await shared.runner.check(bound, timeoutMs)), commands: device.commandCount };
  } finally {
    shared.registry.unbind(bound);
  }
}

/** Check one device `n` times with one binding: the states in order and the commands the device saw. */
async function run(spec: string, n: number, h: CheckHost = shared) {
  const device = sim(spec);
  const bound = await h.registry.bind('tur', device, 5000);
  const states: string[] = [];
  for (let i = 0; i < n; i++) states.push((await h.runner.check(bound, 5000)).state);
  h.registry.unbind(bound);
  return { states, commands: device.commandCount };
}

describe('tur over every sim scenario: the state multipathd would report', () => {
  const cases: [spec: string, state: string, message: string][] = [
    ['sim:ok', 'up', UP],
    ['sim:down', 'down', DOWN],
    ['sim:standby', 'ghost', 'tur checker reports path is ghost'],
    ['sim:standby?sense=descriptor', 'ghost', 'tur checker reports path is ghost'],
    ['sim:not-ready', 'down', DOWN],
    ['sim:medium-not-present', 'down', DOWN],
    ['sim:medium-not-present?sense=descriptor', 'down', DOWN],
    ['sim:ua-then-ok', 'up', UP],
    ['sim:unit-attention', 'down', DOWN],
    ['sim:no-connect', 'down', DOWN],
    ['sim:no-lun', 'disconnected', 'tur checker no access to this device'],
    ['sim:no-lun?sense=descriptor', 'disconnected', 'tur checker no access to this device'],
    ['sim:slow?latency=20', 'up', UP],
    ['sim:transitioning', 'pending', 'tur checker reports path is transitioning'],
    ['sim:reservation-conflict', 'up', UP],
    ['sim:busy', 'down', DOWN],
    ['sim:flap', 'up', UP],
    ['sim:gone', 'down', DOWN],
  ];
  it.each(cases)('%s -> %s', async (spec, state, message) => {
    const r = await check(spec);
    expect(r.state).toBe(state);
    expect(r.message).toBe(message);
  });

  it('a final answer takes one TUR: no retry for down, ghost, transitioning, busy, no-connect, no-lun', async () => {
    const specs = ['sim:ok', 'sim:down', 'sim:standby', 'sim:transitioning', 'sim:busy', 'sim:no-connect', 'sim:no-lun', 'sim:gone'];
    const commands = await Promise.all(specs.map(async (spec) => [spec, (await check(spec)).commands]));
    expect(commands).toEqual(specs.map((spec) => [spec, 1]));
  });

  it('ua-then-ok: the UNIT ATTENTION is retried, so the device saw two TURs', async () => {
    expect(await run('sim:ua-then-ok', 1)).toEqual({ states: ['up'], commands: 2 });
  });

  it('a UNIT ATTENTION that never clears is retried a bounded number of times (5 TURs in all), then down', async () => {
    expect(await run('sim:unit-attention', 1)).toEqual({ states: ['down'], commands: 5 });
    // The budget is per check, not per path: the next check gets 5 attempts again, no more.
    expect(await run('sim:unit-attention', 3)).toEqual({ states: ['down', 'down', 'down'], commands: 15 });
  });

  it('flap with every=1 alternates from one check to the next', async () => {
    expect(await run('sim:flap?every=1', 3)).toEqual({ states: ['up', 'down', 'up'], commands: 3 });
  });

  it('flap with every=2 follows the device across checks', async () => {
    expect((await run('sim:flap?every=2', 6)).states).toEqual(['up', 'up', 'down', 'down', 'up', 'up']);
  });

  it('slow past the timeout: timeout, with the timeout message, after one TUR', async () => {
    const r = await check('sim:slow?latency=2000', 'tur', 50);
    expect(r.state).toBe('timeout');
    expect(r.message).toBe('tur checker timed out');
    expect(r.ms).toBeGreaterThanOrEqual(45);
    expect(r.commands).toBe(1);
  });

  it('hang: timeout once the deadline passes', async () => {
    const r = await check('sim:hang', 'tur', 100);
    expect(r.state).toBe('timeout');
    expect(r.message).toBe('tur checker timed out');
    expect(r.commands).toBe(1);
  });
});

describe('pack ids and progress live in the context (assembly/checkers/tur.ts ctx layout)', () => {
  // ctx: +4 checks started, +8 TURs issued (= the last pack id), +12 last result, +16 phase,
  // +20 attempts left. scratch: request frame at +16, reply frame at +80 (pack_id at +8 of each).
  const REQ = 16;
  const REPLY = 80;

  it('every TUR carries a fresh pack id, the reply echoes the last one, and no id is reused across checks', async () => {
    const h = await ownHost();
    const cls = h.registry.current('tur')!;
    const device = sim('sim:unit-attention');
    const c: Checker = await h.registry.bind('tur', device, 5000);
    const mem = () => new DataView(cls.memory!.buffer);
    const ctx = cls.layout.ctx(c.handle.slot);
    // Worker scratch regions (region 0 is the main thread's, which runs no plugin code).
    const regions = Array.from({ length: 6 }, (_, i) => cls.layout.scratch(i + 1)).filter((at) => at + 128 <= cls.layout.ctxBase);
    const framesWith = (off: number, packId: number) => regions.filter((at) => mem().getInt32(at + off + 4, true) === 36 && mem().getInt32(at + off + 8, true) === packId);

    expect(await h.runner.check(c, 5000)).toMatchObject({ state: 'down', message: DOWN });
    expect(device.commandCount).toBe(5);
    expect([4, 8, 12, 16, 20].map((o) => mem().getInt32(ctx + o, true))).toEqual([1, 5, 2 | (5 << 8), 0, 1]);
    expect(framesWith(REQ, 5)).toHaveLength(1);
    expect(framesWith(REPLY, 5)).toHaveLength(1);

    expect(await h.runner.check(c, 5000)).toMatchObject({ state: 'down', message: DOWN });
    expect(device.commandCount).toBe(10);
    expect([4, 8, 12, 16, 20].map((o) => mem().getInt32(ctx + o, true))).toEqual([2, 10, 2 | (5 << 8), 0, 1]);
    expect(framesWith(REPLY, 10)).toHaveLength(1);
    h.registry.unbind(c);
  });
});

describe('non-blocking checks: a check waiting on its device parks, holding no thread', () => {
  it('sim:ok finishes in its first call: never parked, the device started nothing on the I/O side, one TUR', async () => {
    const h = await ownHost();
    const device = sim('sim:ok');
    const start = vi.spyOn(device, 'start');
    const c = await h.registry.bind('tur', device, 5000);
    let maxParked = 0;
    const sampler = setInterval(() => (maxParked = Math.max(maxParked, h.pool.stats().parked)), 1);
    const r = await h.runner.check(c, 5000);
    clearInterval(sampler);
    expect(r).toMatchObject({ state: 'up', message: UP });
    expect(device.commandCount).toBe(1);
    expect(start).not.toHaveBeenCalled();
    expect(maxParked).toBe(0);
    expect(h.pool.stats()).toMatchObject({ parked: 0, inFlight: 0 });
    h.registry.unbind(c);
  });

  it('sim:slow?latency=100 parks (parked 1, no worker busy) and resumes: up after >= ~100 ms, one TUR', async () => {
    const h = await ownHost();
    const device = sim('sim:slow?latency=100');
    const start = vi.spyOn(device, 'start');
    const c = await h.registry.bind('tur', device, 5000);
    const t0 = performance.now();
    const pending = h.runner.check(c, 5000);
    const sawParked = await until(() => h.pool.stats().parked === 1, 2000);
    const during = h.pool.stats();
    const r = await pending;
    const took = performance.now() - t0;

    expect(sawParked).toBe(true);
    expect(during).toMatchObject({ parked: 1, busy: 0, inFlight: 1 });
    expect(r).toMatchObject({ state: 'up', message: UP });
    expect(r.ms).toBeGreaterThanOrEqual(90);
    expect(took).toBeGreaterThanOrEqual(90);
    expect(device.commandCount).toBe(1);
    // The pool handed the outstanding command to the device's I/O side (the main-thread timer) once.
    expect(start).toHaveBeenCalledTimes(1);
    expect(h.pool.stats()).toMatchObject({ parked: 0, inFlight: 0 });
    // Resumed to the end: the context is idle again, with one TUR issued.
    const cls = h.registry.current('tur')!;
    const ctx = cls.layout.ctx(c.handle.slot);
    const mem = new DataView(cls.memory!.buffer);
    expect([mem.getInt32(ctx + 8, true), mem.getInt32(ctx + 16, true)]).toEqual([1, 0]);
    h.registry.unbind(c);
  });

  it('a retry across a resumption: UNIT ATTENTION after a wait, then GOOD after another, is up with two TURs and two parks', async () => {
    const h = await ownHost();
    const device = sim('sim:slow-ua-then-ok?latency=60');
    const start = vi.spyOn(device, 'start');
    const c = await h.registry.bind('tur', device, 5000);
    const r = await h.runner.check(c, 5000);
    expect(r).toMatchObject({ state: 'up', message: UP });
    expect(device.commandCount).toBe(2);
    // Each TUR parked once: the attempts left and the new pack id lived in the context in between.
    expect(start).toHaveBeenCalledTimes(2);
    const cls = h.registry.current('tur')!;
    const mem = new DataView(cls.memory!.buffer);
    const ctx = cls.layout.ctx(c.handle.slot);
    expect([mem.getInt32(ctx + 8, true), mem.getInt32(ctx + 20, true)]).toEqual([2, 4]);
    h.registry.unbind(c);
  });

  it('parked checks hold no thread: 4 hung paths parked on 2 workers, a healthy path is still checked', async () => {
    const h = await ownHost();
    const hung = Array.from({ length: 4 }, (_, i) => sim(`sim:hang?id=${i}`));
    const bound = await Promise.all(hung.map((d) => h.registry.bind('tur', d, 5000)));
    const waiting = bound.map((c) => h.runner.check(c, 10_000));
    expect(await until(() => h.pool.stats().parked === 4, 2000)).toBe(true);
    expect(h.pool.stats().busy).toBe(0);

    const ok = sim('sim:ok');
    const c = await h.registry.bind('tur', ok, 5000);
    expect(await h.runner.check(c, 2000)).toMatchObject({ state: 'up', message: UP });
    expect(h.pool.stats().parked).toBe(4);

    for (const d of hung) d.release();
    const results = await Promise.all(waiting);
    expect(results.map((r) => [r.state, r.message])).toEqual(hung.map(() => ['up', UP]));
    expect(hung.map((d) => d.commandCount)).toEqual([1, 1, 1, 1]);
    expect(h.pool.stats()).toMatchObject({ parked: 0, inFlight: 0 });
    h.registry.unbind(c);
    for (const b of bound) h.registry.unbind(b);
  });

  it('hung device: timeout, then pending with nothing sent; after release the late reply is discarded and the path checks again', async () => {
    const h = await ownHost();
    const device = sim('sim:hang');
    const c = await h.registry.bind('tur', device, 5000);

    const t0 = performance.now();
    const first = await h.runner.check(c, 100);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    expect(first).toMatchObject({ state: 'timeout', message: 'tur checker timed out' });
    expect(device.commandCount).toBe(1);
    // Abandoned, not parked: no job left, but the command is still outstanding on the device.
    expect(h.pool.stats()).toMatchObject({ parked: 0, inFlight: 0 });
    expect(device.io.busy).toBe(true);

    const second = await h.runner.check(c, 100);
    expect(second).toMatchObject({ state: 'pending', message: 'checker thread not responding' });
    expect(device.commandCount).toBe(1);
    expect(h.pool.stats()).toMatchObject({ parked: 0, inFlight: 0 });

    // The device answers the abandoned TUR: the host discards the reply, no plugin call reads it.
    device.release();
    expect(await until(() => !device.io.busy, 2000)).toBe(true);
    expect(h.pool.stats()).toMatchObject({ parked: 0, inFlight: 0 });
    expect(device.commandCount).toBe(1);

    // The next check is a fresh pc_check: exactly one more TUR. The scenario is still `hang`, so it
    // parks until released too, and then the path is up (a read of the stale reply would have been
    // EBUSY on the write, or a pack id mismatch: down).
    const third = h.runner.check(c, 5000);
    expect(await until(() => h.pool.stats().parked === 1, 2000)).toBe(true);
    expect(device.commandCount).toBe(2);
    device.release();
    expect(await third).toMatchObject({ state: 'up', message: UP });
    expect(device.commandCount).toBe(2);
    expect(h.pool.stats()).toMatchObject({ parked: 0, inFlight: 0 });

    // And the path stays checkable: a healthy device answers at once.
    device.setScenario('ok');
    expect(await h.runner.check(c, 5000)).toMatchObject({ state: 'up', message: UP });
    expect(device.commandCount).toBe(3);
    h.registry.unbind(c);
  });
});

describe('none', () => {
  it.each(['sim:ok', 'sim:down', 'sim:standby', 'sim:no-connect', 'sim:hang'])('%s -> up without touching the device', async (spec) => {
    const r = await check(spec, 'none', 100);
    expect(r.state).toBe('up');
    expect(r.message).toBe('none checker reports path is up');
    expect(r.commands).toBe(0);
  });
});
