import { afterEach, describe, expect, it } from 'vitest';
import { JobKind } from '../../host/pool/worker-pool.js';
import type { CheckHost } from '../../host/registry/check-host.js';
import { fakePlugin } from '../helpers/wat.js';
import { host, sim, sleep, TUR, until } from './pool-helpers.js';

let open: CheckHost[] = [];
async function start(opts = {}) {
  const r = await host(opts);
  open.push(r.h);
  return r;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

describe('class lifetime with checks on worker threads', () => {
  it('a checker unbound and its class unloaded while its check runs in a thread: nothing is freed until the job ends', async () => {
    const { registry, runner, events, pool } = await start();
    const cls = await registry.load(TUR);
    // hang-hard blocks the worker inside the device call: the job is running, not parked.
    const device = sim('sim:hang-hard');
    const checker = await registry.bind('tur', device);
    const pending = runner.check(checker, 20_000);
    expect(await until(() => device.commandCount === 1)).toBe(true);
    registry.unbind(checker);
    registry.unload('tur');
    // The job still holds its context and a class reference.
    expect(cls.refs.count).toBe(1);
    expect(cls.contexts.holders(checker.handle.slot)).toBe(1);
    expect(cls.state).toBe('draining');
    expect(events.some((e) => e.type === 'unloaded')).toBe(false);
    expect(registry.describe()).toEqual([
      expect.objectContaining({ name: 'tur', version: 1, abiVersion: 2, sha256: cls.sha256, state: 'draining', refcount: 1, checkers: 0, contexts: 1, inFlight: 1 }),
    ]);
    expect(pool.stats()).toMatchObject({ workers: 2, busy: 1, stuck: 0, replaced: 0, inFlight: 1, parked: 0 });
    device.release();
    const r = await pending;
    expect(r.state).toBe('up');
    expect(await until(() => cls.state === 'unloaded')).toBe(true);
    expect(cls.refs.count).toBe(0);
    expect(cls.memory).toBeNull();
    expect(events.filter((e) => e.type === 'unloaded')).toHaveLength(1);
  });

  it('at most one check in flight per path: past the timeout it is timeout, then pending until the job ends', async () => {
    const loop = fakePlugin({ name: 'spin', check: '(loop $l (br $l)) (i32.const 3)' });
    const { registry, runner, pool } = await start({ stuckAfterMs: 1500 });
    const cls = await registry.load(loop, { origin: 'spin.wasm' });
    const checker = await registry.bind('spin', sim('sim:ok'));
    const first = await runner.check(checker, 150);
    expect(first).toMatchObject({ state: 'timeout', message: 'spin checker timed out' });
    const second = await runner.check(checker, 150);
    expect(second).toMatchObject({ state: 'pending', message: 'checker thread not responding' });
    expect(cls.jobs).toBe(1);
    // The worker spinning in the plugin is terminated and replaced; the job's references come back.
    expect(await until(() => pool.stats().replaced === 1 && !checker.running)).toBe(true);
    expect(cls.jobs).toBe(0);
    expect(cls.refs.count).toBe(2);
    expect(pool.stats().workers).toBe(2);
  });

  it('a plugin that traps: the path is down with the reason, the worker survives, references are released', async () => {
    const trap = fakePlugin({ name: 'trapper', check: '(unreachable)' });
    const { registry, runner, pool } = await start();
    const cls = await registry.load(trap, { origin: 'trapper.wasm' });
    const checker = await registry.bind('trapper', sim('sim:ok'));
    for (let i = 0; i < 5; i++) {
      const r = await runner.check(checker, 5000);
      expect(r.state).toBe('down');
      expect(r.message).toBe('trapper checker trapped: unreachable');
    }
    expect(pool.stats()).toMatchObject({ workers: 2, replaced: 0, inFlight: 0 });
    expect(cls.refs.count).toBe(2);
    expect(cls.jobs).toBe(0);
  });

  it('a hard-stuck worker is replaced while healthy paths on the other worker keep being checked', async () => {
    const { registry, runner, pool, events } = await start({ stuckAfterMs: 300 });
    const cls = await registry.load(TUR);
    const stuck = await registry.bind('tur', sim('sim:hang-hard'));
    const healthy = await registry.bind('tur', sim('sim:ok'));
    const hung = runner.check(stuck, 200);
    const t0 = performance.now();
    let healthyChecks = 0;
    let slowest = 0;
    while (performance.now() - t0 < 800) {
      const t = performance.now();
      const r = await runner.check(healthy, 5000);
      slowest = Math.max(slowest, performance.now() - t);
      expect(r.state).toBe('up');
      healthyChecks++;
    }
    expect((await hung).state).toBe('timeout');
    expect(healthyChecks).toBeGreaterThan(100);
    // Waiting behind the stuck worker would take until it is terminated (200 ms deadline + 300 ms).
    expect(slowest).toBeLessThan(400);
    expect(await until(() => pool.stats().replaced === 1 && !stuck.running)).toBe(true);
    expect(events.some((e) => e.type === 'worker-replaced')).toBe(true);
    expect(cls.refs.count).toBe(3);
    expect(pool.stats().workers).toBe(2);
  });

  it('the cap on stuck workers: no replacement beyond it, said in an event, replaced once the stuck one exits', async () => {
    const { registry, runner, pool, events } = await start({ size: 2, maxStuck: 0, stuckAfterMs: 100 });
    await registry.load(TUR);
    const stuck = await registry.bind('tur', sim('sim:hang-hard'));
    await runner.check(stuck, 100);
    expect(await until(() => events.some((e) => e.type === 'stuck-cap'))).toBe(true);
    const cap = events.find((e) => e.type === 'stuck-cap');
    expect(cap).toMatchObject({ message: 'pool: 1 stuck workers still exiting (cap 0); not replacing until one exits' });
    expect(await until(() => pool.stats().replaced === 1)).toBe(true);
    expect(pool.stats()).toMatchObject({ workers: 2, stuck: 0 });
  });

  it('a job whose context went stale before a worker took it is refused by the worker', async () => {
    const { registry, pool } = await start();
    const cls = await registry.load(TUR);
    const checker = await registry.bind('tur', sim('sim:ok'));
    const ended = await new Promise((resolve) => {
      pool.submit(JobKind.CHECK, cls.id, checker.handle.slot, checker.handle.gen + 1, checker.job.deviceId, 5000, { late: () => {}, ended: resolve });
    });
    expect(ended).toMatchObject({ kind: 'stale' });
  });

  it('a check the pool will not take is pending, and its references go back at once', async () => {
    const { h, registry, runner } = await start();
    const cls = await registry.load(TUR);
    const checker = await registry.bind('tur', sim('sim:ok'));
    await h.close();
    const r = await runner.check(checker, 1000);
    expect(r).toMatchObject({ state: 'pending', message: 'tur checker not started: the pool is closed' });
    expect(checker.running).toBe(false);
    expect(cls.jobs).toBe(0);
    expect(cls.refs.count).toBe(2);
  });

  it('unload and hot reload with checks parked on devices that never answer drain within the deadline', async () => {
    const { registry, runner, pool } = await start();
    const v1 = await registry.load(TUR);
    const checkers = await Promise.all(Array.from({ length: 10 }, () => registry.bind('tur', sim('sim:hang'))));
    const checks = checkers.map((c) => runner.check(c, 300));
    expect(await until(() => pool.stats().parked === 10)).toBe(true);
    const v2 = await registry.load(TUR);
    for (const c of checkers) registry.unbind(c);
    expect(v1.state).toBe('draining');
    expect(v1.refs.count).toBe(10);
    for (const r of await Promise.all(checks)) expect(r.state).toBe('timeout');
    expect(await until(() => v1.state === 'unloaded', 5000)).toBe(true);
    expect(v1.contexts.inUse).toBe(0);
    expect(v2).toMatchObject({ state: 'current' });
    expect(v2.refs.count).toBe(1);
  });

  it('shutdown with hung checks, in threads and parked, is bounded and reports what it abandoned', async () => {
    const { h, registry, runner, pool } = await start({ stuckAfterMs: 60_000 });
    const cls = await registry.load(TUR);
    // One worker blocked in a device call, the other free to start the checks that park.
    const hard = [await registry.bind('tur', sim('sim:hang-hard'))];
    const parked = await Promise.all(Array.from({ length: 20 }, () => registry.bind('tur', sim('sim:hang'))));
    const results = [...hard, ...parked].map((c) => runner.check(c, 60_000));
    expect(await until(() => pool.stats().parked === 20 && pool.stats().busy === 1)).toBe(true);
    const t = performance.now();
    const { abandoned } = await h.close();
    expect(abandoned).toBe(21);
    expect(performance.now() - t).toBeLessThan(5000);
    // No news about the paths: pending, not down.
    for (const r of await Promise.all(results)) expect(r).toMatchObject({ state: 'pending', message: 'tur checker not finished: the pool is closed' });
    // Every check let go of its context and class reference: only the checkers' own are left.
    expect(cls.jobs).toBe(0);
    expect(cls.refs.count).toBe(1 + 21);
  });

  it('a check parked on a hung device holds its references like a running one: unbind and unload wait for it', async () => {
    const { registry, runner, pool, events } = await start();
    const cls = await registry.load(TUR);
    const device = sim('sim:hang');
    const checker = await registry.bind('tur', device);
    const pending = runner.check(checker, 20_000);
    expect(await until(() => pool.stats().parked === 1)).toBe(true);
    // Parked: no thread is held, but the class reference and the context hold are.
    expect(pool.stats()).toMatchObject({ busy: 0, inFlight: 1, parked: 1 });
    expect(cls.refs.count).toBe(3);
    expect(cls.contexts.holders(checker.handle.slot)).toBe(2);
    registry.unbind(checker);
    registry.unload('tur');
    await sleep(100);
    expect(cls.state).toBe('draining');
    expect(cls.refs.count).toBe(1);
    expect(cls.contexts.holders(checker.handle.slot)).toBe(1);
    expect(events.some((e) => e.type === 'unloaded')).toBe(false);
    // The device answers: the check is resumed on the draining class, ends, and only then it unloads.
    device.release();
    expect(await pending).toMatchObject({ state: 'up' });
    expect(await until(() => cls.state === 'unloaded')).toBe(true);
    expect(cls.refs.count).toBe(0);
    expect(events.filter((e) => e.type === 'unloaded')).toHaveLength(1);
    expect(device.commandCount).toBe(1);
  });

  it('past its deadline a parked check is timeout, its references go back, and nothing else is sent to the device until it answers', async () => {
    const { registry, runner, pool } = await start();
    const cls = await registry.load(TUR);
    const device = sim('sim:hang');
    const checker = await registry.bind('tur', device);
    const check = runner.check(checker, 150);
    expect(await until(() => pool.stats().parked === 1)).toBe(true);
    expect(await check).toMatchObject({ state: 'timeout', message: 'tur checker timed out' });
    expect(pool.stats()).toMatchObject({ inFlight: 0, parked: 0 });
    expect(cls.jobs).toBe(0);
    expect(cls.contexts.holders(checker.handle.slot)).toBe(1);
    for (let i = 0; i < 3; i++) expect(await runner.check(checker, 150)).toMatchObject({ state: 'pending', message: 'checker thread not responding' });
    expect(device.commandCount).toBe(1);
    device.release();
    expect(await until(() => !device.io.busy)).toBe(true);
    device.setScenario('ok');
    expect(await runner.check(checker, 1000)).toMatchObject({ state: 'up' });
    expect(device.commandCount).toBe(2);
  });
});
