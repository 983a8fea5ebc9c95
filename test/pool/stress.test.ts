import { describe, expect, it } from 'vitest';
import type { SimDevice } from '../../host/backends/sim/sim-device.js';
import type { CheckerClass } from '../../host/registry/checker-class.js';
import type { Checker } from '../../host/registry/checker.js';
import { host, sim, sleep, TUR, until } from './pool-helpers.js';
import { prng } from '../helpers/prng.js';

const CYCLES = 1500;
const TIME_LIMIT_MS = 60_000;
const SPECS = ['sim:ok', 'sim:hang', 'sim:hang', 'sim:flap', 'sim:standby', 'sim:slow?latency=5'];


describe('stress: binds, checks, hangs, releases, unbinds and hot reloads at random', () => {
  it(`${CYCLES} bounded cycles leave every refcount at zero and every unloaded class's memory gone`, async () => {
    const seed = 20261123;
    const random = prng(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const { h, registry, runner, events } = await host({ size: 2, stuckAfterMs: 200 });
    const classes: CheckerClass[] = [await registry.load(TUR)];
    const memories: WeakRef<WebAssembly.Memory>[] = [];
    const bound: { checker: Checker; device: SimDevice }[] = [];
    const devices: SimDevice[] = [];
    const running = new Set<Checker>();
    const checks: Promise<unknown>[] = [];
    const counts = { bind: 0, check: 0, release: 0, unbind: 0, reload: 0 };
    let maxParked = 0;
    const start = performance.now();

    for (let cycle = 0; cycle < CYCLES && performance.now() - start < TIME_LIMIT_MS; cycle++) {
      const r = random();
      if (r < 0.25 && bound.length < 24) {
        const device = sim(pick(SPECS));
        const checker = await registry.bind('tur', device);
        // No slot is ever handed out while a job of the same class still holds it (its job has not ended).
        for (const other of running) expect(other.running && other.cls === checker.cls && other.handle.slot === checker.handle.slot).toBe(false);
        bound.push({ checker, device });
        devices.push(device);
        counts.bind++;
      } else if (r < 0.6 && bound.length > 0) {
        const { checker } = pick(bound);
        running.add(checker);
        checks.push(runner.check(checker, 30));
        counts.check++;
      } else if (r < 0.75 && devices.length > 0) {
        pick(devices).release();
        counts.release++;
      } else if (r < 0.92 && bound.length > 0) {
        const [{ checker }] = bound.splice(Math.floor(random() * bound.length), 1);
        registry.unbind(checker!);
        counts.unbind++;
      } else {
        memories.push(new WeakRef(registry.current('tur')!.memory!));
        classes.push(await registry.load(TUR));
        counts.reload++;
      }
      maxParked = Math.max(maxParked, h.pool.stats().parked);
      if (cycle % 25 === 0) await sleep(1);
    }

    for (const d of devices) d.release();
    await Promise.all(checks);
    expect(await until(() => classes.every((c) => c.jobs === 0), 20_000)).toBe(true);
    for (const { checker } of bound) registry.unbind(checker);
    registry.unload('tur');
    // pc_free of the last contexts runs on the workers.
    expect(await until(() => classes.every((c) => c.state === 'unloaded'), 20_000)).toBe(true);
    // Checks parked on hung devices were part of the mix.
    expect(maxParked).toBeGreaterThan(0);

    expect(counts.bind).toBeGreaterThan(100);
    expect(counts.check).toBeGreaterThan(200);
    expect(counts.reload).toBeGreaterThan(10);
    for (const c of classes) {
      expect(c.refs.count).toBe(0);
      expect(c.state).toBe('unloaded');
      expect(c.memory).toBeNull();
    }
    expect(registry.classes()).toEqual([]);
    expect(events.filter((e) => e.type === 'refcount-error')).toEqual([]);
    expect(events.filter((e) => e.type === 'unloaded')).toHaveLength(classes.length);
    await h.close();

    classes.length = 0;
    running.clear();
    checks.length = 0;
    bound.length = 0;
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc (vitest.config.ts)').toBeTypeOf('function');
    // gc() before any deref() in each turn: a WeakRef deref'd in a turn keeps its target alive until the turn ends.
    let alive: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(20);
      gc!();
      alive = memories.map((m, j) => (m.deref() === undefined ? -1 : j)).filter((j) => j >= 0);
      if (alive.length === 0) break;
    }
    expect(alive, `of ${memories.length} unloaded class memories`).toEqual([]);
  }, 120_000);
});
