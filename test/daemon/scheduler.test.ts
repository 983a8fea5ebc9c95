import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PathState, stateName, type PathStateName, type PathStateValue } from '../../host/abi/path-state.js';
import type { CheckResult } from '../../host/registry/check-result.js';
import { nextInterval } from '../../host/daemon/scheduler/path-schedule.js';
import { Scheduler, type CheckFn, type ScheduledPath, type SchedulerOptions } from '../../host/daemon/scheduler/scheduler.js';

const T0 = Date.UTC(2030, 0, 1);

const CODES = new Map<PathStateName, PathStateValue>(
  (Object.values(PathState) as PathStateValue[]).map((code) => [stateName(code), code]),
);

function res(state: PathStateName, message = `fake checker reports ${state}`, ms = 0): CheckResult {
  return { state, code: CODES.get(state)!, message, ms };
}

function opts(pollingInterval: number, maxPollingInterval: number, checkerTimeout = 5): SchedulerOptions {
  return { pollingInterval, maxPollingInterval, checkerTimeout };
}

/** What a scripted check answers: a state at once, a state after `afterMs`, a promise, or a throw. */
type Answer = PathStateName | { state: PathStateName; afterMs: number } | Promise<CheckResult> | { throws: unknown } | { rejects: unknown };

interface Call {
  readonly key: string;
  readonly at: number;
  readonly timeoutMs: number;
}

/** A scripted fake check function: `script(key, n)` answers the n-th (0-based) check of `key`. */
function scripted(script: (key: string, n: number, timeoutMs: number) => Answer) {
  const calls: Call[] = [];
  const perKey = new Map<string, number>();
  const check: CheckFn = (key, timeoutMs) => {
    const n = perKey.get(key) ?? 0;
    perKey.set(key, n + 1);
    calls.push({ key, at: Date.now() - T0, timeoutMs });
    const a = script(key, n, timeoutMs);
    if (typeof a === 'string') return Promise.resolve(res(a));
    if (a instanceof Promise) return a;
    if ('throws' in a) throw a.throws;
    if ('rejects' in a) return Promise.reject(a.rejects);
    return new Promise((resolve) => setTimeout(() => resolve(res(a.state)), a.afterMs));
  };
  const times = (key: string): number[] => calls.filter((c) => c.key === key).map((c) => c.at);
  return { check, calls, times };
}

interface Reported {
  readonly key: string;
  readonly at: number;
  readonly state: PathStateName;
  readonly previous: PathStateName;
  readonly message: string;
  readonly interval: number;
  readonly nextCheck: number;
}

function recorder() {
  const reports: Reported[] = [];
  const onResult = (path: ScheduledPath, r: CheckResult, previous: PathStateName): void => {
    reports.push({ key: path.key, at: Date.now() - T0, state: r.state, previous, message: r.message, interval: path.interval, nextCheck: path.nextCheck - T0 });
  };
  return { reports, onResult };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Advance fake time to `ms` after T0. */
async function advanceTo(ms: number): Promise<void> {
  const delta = T0 + ms - Date.now();
  if (delta < 0) throw new Error(`already past ${ms}`);
  await vi.advanceTimersByTimeAsync(delta);
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('nextInterval (multipathd check_path)', () => {
  it('a steady usable path doubles up to the cap: checkint < max/2 ? checkint*2 : max', () => {
    const seq = (state: PathStateName, max: number, n: number): number[] => {
      const out: number[] = [];
      let i = 1;
      for (let k = 0; k < n; k++) out.push((i = nextInterval(state, state, i, 1, max)));
      return out;
    };
    expect(seq('up', 4, 4)).toEqual([2, 4, 4, 4]);
    expect(seq('ghost', 16, 6)).toEqual([2, 4, 8, 16, 16, 16]);
    expect(seq('up', 5, 5)).toEqual([2, 4, 5, 5, 5]);
    expect(seq('up', 1, 2)).toEqual([1, 1]);
  });

  it('a change, or any state that is not usable, goes back to polling_interval', () => {
    expect(nextInterval('unchecked', 'up', 1, 1, 4)).toBe(1);
    expect(nextInterval('up', 'down', 4, 1, 4)).toBe(1);
    expect(nextInterval('up', 'ghost', 4, 1, 4)).toBe(1);
    expect(nextInterval('down', 'up', 1, 2, 8)).toBe(2);
    for (const s of ['down', 'timeout', 'pending', 'shaky', 'wild', 'unchecked', 'delayed', 'disconnected'] as const) {
      expect(nextInterval(s, s, 4, 1, 8)).toBe(1);
    }
  });

  it('a cap lowered below the current interval takes the cap', () => {
    expect(nextInterval('up', 'up', 16, 1, 4)).toBe(4);
  });
});

describe('Scheduler: intervals', () => {
  it('a steady up path: intervals 1, 2, 4, 4 (max 4), each check `interval` after the one before', async () => {
    const f = scripted(() => 'up');
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    const p = s.add('a');
    expect(p).toMatchObject({ key: 'a', state: 'unchecked', code: PathState.UNCHECKED, interval: 1, lastCheck: null, nextCheck: T0, checks: 0, inFlight: false });
    await advanceTo(100);
    expect(f.calls).toHaveLength(0); // not before start()
    s.start();
    await advanceTo(15_000);
    expect(f.times('a')).toEqual([100, 1100, 3100, 7100, 11_100, 15_100].filter((t) => t <= 15_000));
    expect(rec.reports.map((r) => r.interval)).toEqual([1, 2, 4, 4, 4]);
    expect(rec.reports.map((r) => r.previous)).toEqual(['unchecked', 'up', 'up', 'up', 'up']);
    expect(p).toMatchObject({ state: 'up', message: 'fake checker reports up', interval: 4, checks: 5, changes: 1, lastCheck: T0 + 11_100, nextCheck: T0 + 15_100 });
    s.stop();
  });

  it('a state change resets the interval to polling_interval; down stays there; ghost doubles', async () => {
    const script: PathStateName[] = ['up', 'up', 'up', 'down', 'down', 'down', 'up', 'up', 'ghost', 'ghost', 'ghost', 'ghost'];
    const f = scripted((_, n) => script[n] ?? 'ghost');
    const rec = recorder();
    const s = new Scheduler(opts(1, 8), f.check, rec.onResult);
    s.add('a');
    s.start();
    await advanceTo(40_000);
    const got = rec.reports.slice(0, script.length);
    expect(got.map((r) => r.state)).toEqual(script);
    expect(got.map((r) => r.interval)).toEqual([1, 2, 4, 1, 1, 1, 1, 2, 1, 2, 4, 8]);
    // every next check is `interval` after the check before started
    const t = f.times('a');
    for (let i = 0; i < got.length; i++) expect(t[i + 1]! - t[i]!).toBe(got[i]!.interval * 1000);
    expect(s.get('a')!.changes).toBe(4); // unchecked->up, up->down, down->up, up->ghost
  });

  it('the next check is `interval` after the previous one started, not after it ended', async () => {
    const f = scripted(() => ({ state: 'down', afterMs: 300 }));
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    s.add('a');
    s.start();
    await advanceTo(3500);
    expect(f.times('a')).toEqual([0, 1000, 2000, 3000]);
    expect(rec.reports.map((r) => r.at)).toEqual([300, 1300, 2300, 3300]);
    expect(rec.reports.map((r) => r.nextCheck)).toEqual([1000, 2000, 3000, 4000]);
  });
});

describe('Scheduler: one check in flight per path', () => {
  it('a hung check resolves `timeout` at checker_timeout; no second check is dispatched before', async () => {
    const f = scripted((_, n, timeoutMs) => (n === 0 ? { state: 'timeout', afterMs: timeoutMs } : 'up'));
    const rec = recorder();
    const s = new Scheduler(opts(1, 4, 5), f.check, rec.onResult);
    const p = s.add('a');
    s.start();
    await advanceTo(0);
    expect(f.calls).toEqual([{ key: 'a', at: 0, timeoutMs: 5000 }]);
    expect(p.inFlight).toBe(true);
    expect(p.lastCheck).toBe(T0);
    // polling_interval (1 s) passes four times over; the scheduler arms nothing while the only
    // path is in flight: the one timer left is the fake check's own.
    await advanceTo(4999);
    expect(f.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(1);
    expect(rec.reports).toHaveLength(0);
    await advanceTo(5000);
    expect(rec.reports[0]).toMatchObject({ state: 'timeout', previous: 'unchecked', interval: 1, nextCheck: 5000 });
    // its interval (1 s from the start) is long past: the next check goes at once, on the next
    // timer tick (a zero-delay timer set inside a timer callback runs 1 ms later, as in Node)
    await advanceTo(5001);
    expect(f.times('a')).toEqual([0, 5001]);
    await advanceTo(6001);
    expect(f.times('a')).toEqual([0, 5001, 6001]);
    expect(rec.reports.map((r) => r.state)).toEqual(['timeout', 'up', 'up']);
    expect(p.inFlight).toBe(false);
    s.stop();
  });

  it('checker_timeout reaches the check function in ms, and follows reconfigure', async () => {
    const f = scripted(() => 'down');
    const s = new Scheduler(opts(1, 4, 30), f.check, () => {});
    s.add('a');
    s.start();
    await advanceTo(0);
    s.reconfigure(opts(1, 4, 2.5));
    await advanceTo(1000);
    expect(f.calls.map((c) => c.timeoutMs)).toEqual([30_000, 2500]);
  });
});

describe('Scheduler: many paths, one timer', () => {
  it('1000 paths added at staggered times: each checked exactly on its own schedule, one timer throughout', async () => {
    const kinds: PathStateName[] = ['up', 'down', 'ghost'];
    const kindOf = (key: string): PathStateName => kinds[Number(key.slice(1)) % 3]!;
    const f = scripted((key) => kindOf(key));
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    s.start();
    const added = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 0) await advanceTo(i);
      const key = `p${i}`;
      s.add(key);
      added.set(key, Date.now() - T0);
    }
    expect(s.size).toBe(1000);
    expect(vi.getTimerCount()).toBe(1);
    const END = 20_000;
    for (let t = 1000; t <= END; t += 250) {
      await advanceTo(t);
      expect(vi.getTimerCount()).toBe(1);
    }
    const gaps = { up: [1, 2, 4, 4, 4, 4, 4, 4], ghost: [1, 2, 4, 4, 4, 4, 4, 4], down: Array<number>(30).fill(1) } as Record<PathStateName, number[]>;
    for (const [key, at] of added) {
      const expected: number[] = [];
      const g = gaps[kindOf(key)]!;
      for (let t = at, k = 0; t <= END; t += g[k++]! * 1000) expected.push(t);
      expect(f.times(key)).toEqual(expected);
      expect(s.get(key)!.checks).toBe(expected.length);
    }
    expect(rec.reports).toHaveLength(f.calls.length);
    expect(s.paths().map((p) => p.key)).toEqual([...added.keys()]);
    s.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('16,384 paths: every path checked once per interval with one timer', async () => {
    const N = 16_384;
    const f = scripted(() => 'up');
    let results = 0;
    const s = new Scheduler(opts(1, 4), f.check, () => results++);
    for (let i = 0; i < N; i++) s.add(`p${i}`);
    s.start();
    const expectedChecks = new Map([
      [0, 1],
      [999, 1],
      [1000, 2],
      [2999, 2],
      [3000, 3],
      [7000, 4],
      [11_000, 5],
    ]);
    for (const [t, n] of expectedChecks) {
      await advanceTo(t);
      expect(vi.getTimerCount()).toBe(1);
      expect(results).toBe(n * N);
    }
    expect(s.paths().every((p) => p.checks === 5 && p.interval === 4 && p.nextCheck === T0 + 15_000)).toBe(true);
    s.stop();
  });

  it('paths due a few ms apart are checked in shared ticks, never late and at most 10 ms early', async () => {
    const f = scripted(() => 'down');
    const s = new Scheduler(opts(1, 1), f.check, () => {});
    s.start();
    for (let i = 0; i < 50; i++) {
      await advanceTo(i * 3);
      s.add(`p${i}`);
    }
    await advanceTo(5000);
    const ticks = (t0: number, t1: number) => new Set([...Array(50).keys()].flatMap((i) => f.times(`p${i}`).filter((t) => t >= t0 && t < t1)));
    // Added one by one over 150 ms, the 50 paths are checked in ticks that each take the paths due in
    // the next 10 ms: at most one tick per 10 ms of spread (16, with the edges), not one per path.
    expect(ticks(4000, 5000).size).toBeLessThanOrEqual(16);
    expect(ticks(4000, 5000).size).toBeGreaterThan(1);
    for (let i = 0; i < 50; i++) {
      const times = f.times(`p${i}`);
      for (let k = 1; k < times.length; k++) {
        expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(990);
        expect(times[k]! - times[k - 1]!).toBeLessThanOrEqual(1000);
      }
    }
    s.stop();
  });

  it('removing waiting paths (earliest included) keeps the others on schedule', async () => {
    const f = scripted(() => 'down');
    // No batching: this test times each path to the ms.
    const s = new Scheduler({ ...opts(1, 4), batchMs: 0 }, f.check, () => {});
    s.start();
    for (let i = 0; i < 100; i++) {
      await advanceTo(i * 10);
      s.add(`p${i}`);
    }
    await advanceTo(1000);
    // p0 is due at 1000 and was just checked; p1 (due 1010) is now the earliest waiting path
    for (let i = 1; i < 100; i += 2) expect(s.remove(`p${i}`)).toBe(true);
    expect(s.remove('p1')).toBe(false);
    expect(s.size).toBe(50);
    await advanceTo(3000);
    expect(vi.getTimerCount()).toBe(1);
    for (let i = 0; i < 100; i++) {
      // added (and first checked) at i*10 ms, then every second; odd ones removed at 1000 ms
      const end = i % 2 === 1 ? 1000 : 3000;
      const expected: number[] = [];
      for (let t = i * 10; t <= end; t += 1000) expected.push(t);
      expect(f.times(`p${i}`)).toEqual(expected);
    }
    for (let i = 1; i < 100; i += 2) s.remove(`p${i - 1}`);
    expect(s.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Scheduler: remove, stop, reconfigure, failures', () => {
  it('remove during an in-flight check: the result is ignored and the path never checked again', async () => {
    const d = deferred<CheckResult>();
    const f = scripted((key, n) => (key === 'a' && n === 0 ? d.promise : 'up'));
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    const a = s.add('a');
    s.add('b');
    s.start();
    await advanceTo(0);
    expect(a.inFlight).toBe(true);
    expect(s.remove('a')).toBe(true);
    expect(s.get('a')).toBeUndefined();
    expect(s.remove('a')).toBe(false);
    expect(s.paths().map((p) => p.key)).toEqual(['b']);
    d.resolve(res('down'));
    await advanceTo(5000);
    expect(rec.reports.filter((r) => r.key === 'a')).toHaveLength(0);
    expect(a).toMatchObject({ state: 'unchecked', checks: 0, inFlight: false });
    expect(f.times('a')).toEqual([0]);
    expect(f.times('b')).toEqual([0, 1000, 3000]);
    // the key can come back as a new path
    const a2 = s.add('a');
    expect(a2).not.toBe(a);
    await advanceTo(5000);
    expect(a2.state).toBe('up');
    s.stop();
  });

  it('duplicate add throws; paths() in insertion order; size', () => {
    const s = new Scheduler(opts(1, 4), scripted(() => 'up').check, () => {});
    for (const k of ['c', 'a', 'b']) s.add(k);
    expect(() => s.add('a')).toThrow(/already/);
    expect(s.paths().map((p) => p.key)).toEqual(['c', 'a', 'b']);
    expect(s.size).toBe(3);
    expect(s.get('zz')).toBeUndefined();
  });

  it('stop clears the timer; a check in flight finishes but reports nothing; start resumes at once', async () => {
    const d = deferred<CheckResult>();
    const f = scripted((key, n) => (key === 'a' && n === 0 ? d.promise : 'up'));
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    const a = s.add('a');
    const b = s.add('b');
    s.start();
    await advanceTo(0);
    expect(vi.getTimerCount()).toBe(1);
    s.stop();
    expect(vi.getTimerCount()).toBe(0);
    d.resolve(res('down'));
    await advanceTo(10_000);
    expect(f.calls).toHaveLength(2);
    expect(rec.reports.map((r) => r.key)).toEqual(['b']);
    expect(a).toMatchObject({ state: 'unchecked', checks: 0, inFlight: false });
    expect(vi.getTimerCount()).toBe(0);
    s.start();
    s.start(); // idempotent
    expect(vi.getTimerCount()).toBe(1);
    await advanceTo(10_000);
    // both overdue: checked at once on start, in the order they became due
    expect(f.times('a')).toEqual([0, 10_000]);
    expect(f.times('b')).toEqual([0, 10_000]);
    expect(a.state).toBe('up');
    expect(b.checks).toBe(2);
    s.stop();
  });

  it('stop and start while a check is in flight: that result is still void, and the path is checked again once it ends', async () => {
    const d = deferred<CheckResult>();
    const f = scripted((_, n) => (n === 0 ? d.promise : 'up'));
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    s.add('a');
    s.start();
    await advanceTo(0);
    s.stop();
    s.start();
    await advanceTo(2000);
    expect(f.calls).toHaveLength(1); // still in flight: not dispatched again
    d.resolve(res('down'));
    await advanceTo(2000);
    expect(f.times('a')).toEqual([0, 2000]);
    expect(rec.reports.map((r) => [r.state, r.previous])).toEqual([['up', 'unchecked']]);
    s.stop();
  });

  it('reconfigure: intervals reset to the new polling_interval; a long wait is pulled in, a short one not pushed out', async () => {
    const f = scripted((key) => (key === 'down' ? 'down' : 'up'));
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    const up = s.add('up');
    s.start();
    await advanceTo(8000);
    expect(f.times('up')).toEqual([0, 1000, 3000, 7000]);
    expect(up).toMatchObject({ interval: 4, nextCheck: T0 + 11_000 });
    s.reconfigure(opts(2, 8));
    expect(s.options()).toEqual(opts(2, 8));
    // due 2 s after the last check (7000), no longer 4 s
    expect(up).toMatchObject({ interval: 2, nextCheck: T0 + 9000 });
    expect(vi.getTimerCount()).toBe(1);
    await advanceTo(30_000);
    expect(f.times('up')).toEqual([0, 1000, 3000, 7000, 9000, 13_000, 21_000, 29_000]);
    expect(rec.reports.slice(4).map((r) => r.interval)).toEqual([4, 8, 8, 8]);

    const down = s.add('down');
    await advanceTo(30_500);
    expect(down.nextCheck).toBe(T0 + 32_000); // polling 2
    s.reconfigure(opts(10, 40));
    expect(down).toMatchObject({ interval: 10, nextCheck: T0 + 32_000 }); // not pushed out
    expect(up.interval).toBe(10);
    await advanceTo(60_000);
    expect(f.times('down')).toEqual([30_000, 32_000, 42_000, 52_000]);
    expect(f.times('up').slice(8)).toEqual([37_000, 57_000]); // 29,000 + 8 s as scheduled, then 10 doubled
    s.stop();
  });

  it('bad settings are refused and leave the old ones in force', () => {
    const check = scripted(() => 'up').check;
    expect(() => new Scheduler(opts(0, 4), check, () => {})).toThrow(RangeError);
    expect(() => new Scheduler(opts(5, 4), check, () => {})).toThrow(/max_polling_interval/);
    const s = new Scheduler(opts(1, 4), check, () => {});
    expect(() => s.reconfigure(opts(1, 4, Number.NaN))).toThrow(/checker_timeout/);
    expect(s.options()).toEqual(opts(1, 4));
  });

  it('a check function that throws or rejects is a `down` result with its message; scheduling goes on', async () => {
    const answers: Answer[] = [{ throws: new Error('boom') }, { rejects: new Error('device vanished') }, { rejects: 'plain string' }, 'up', 'up'];
    const f = scripted((_, n) => answers[n] ?? 'up');
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), f.check, rec.onResult);
    const p = s.add('a');
    s.start();
    await advanceTo(5000);
    expect(rec.reports.map((r) => [r.state, r.message, r.interval])).toEqual([
      ['down', 'boom', 1],
      ['down', 'device vanished', 1],
      ['down', 'plain string', 1],
      ['up', 'fake checker reports up', 1],
      ['up', 'fake checker reports up', 2],
    ]);
    expect(f.times('a')).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(p).toMatchObject({ state: 'up', code: PathState.UP, checks: 5, changes: 2, inFlight: false });
    s.stop();
  });

  it('a check function that resolves with no result is `down` too', async () => {
    const rec = recorder();
    const s = new Scheduler(opts(1, 4), (() => Promise.resolve(undefined)) as unknown as CheckFn, rec.onResult);
    s.add('a');
    s.start();
    await advanceTo(1000);
    expect(rec.reports.map((r) => r.state)).toEqual(['down', 'down']);
    s.stop();
  });

  it('onResult may remove the path it is told about, or add others', async () => {
    const f = scripted(() => 'down');
    const s = new Scheduler(opts(1, 4), f.check, (path) => {
      if (path.key === 'a' && path.checks === 2) {
        s.remove('a');
        s.add('b');
      }
    });
    s.add('a');
    s.start();
    await advanceTo(5000);
    expect(f.times('a')).toEqual([0, 1000]);
    // added inside a timer callback: due at once, the next timer tick (1 ms on)
    expect(f.times('b')).toEqual([1001, 2001, 3001, 4001]);
    s.stop();
  });

  it('a custom clock is used for the records', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const s = new Scheduler(opts(1, 4), scripted(() => 'up').check, () => {}, clock);
    const p = s.add('a');
    expect(p.nextCheck).toBe(1_000_000);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.lastCheck).toBe(1_000_000);
    expect(p.nextCheck).toBe(1_001_000);
    now += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(p.checks).toBe(2);
    s.stop();
  });
});
