import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlRequestError } from '../../host/control/control-client.js';
import {
  BUILT_CHECKERS,
  DaemonProcess,
  confText,
  runPathcheck,
  sleep,
  stopAllDaemons,
  waitUntil,
  type CheckerRow,
  type DaemonEvent,
  type PathRow,
} from '../helpers/daemon-process.js';

// Black-box tests of pathcheckd through its real control socket: the built daemon runs as a child
// process (npm test builds dist/ first). Timing bounds are loose on purpose: a noisy 2-core machine.

const TUR_WASM = join(BUILT_CHECKERS, 'tur.wasm');
const NONE_WASM = join(BUILT_CHECKERS, 'none.wasm');
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

afterEach(async () => {
  await stopAllDaemons();
});

/** Round-trip time of one request, in ms, with its outcome. */
async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
  const t0 = performance.now();
  try {
    const value = await f();
    return { ms: performance.now() - t0, value };
  } catch (e) {
    return { ms: performance.now() - t0, error: e as Error };
  }
}

const byDevice = (rows: PathRow[], device: string): PathRow => {
  const row = rows.find((p) => p.device === device);
  if (row === undefined) throw new Error(`no row for ${device} in ${JSON.stringify(rows.map((r) => r.device))}`);
  return row;
};

/** Every event's seq is greater than the one before it. */
function expectSeqIncreasing(events: readonly DaemonEvent[]): void {
  for (let i = 1; i < events.length; i++) expect(events[i]!.seq, `event ${i}: ${JSON.stringify(events[i])}`).toBeGreaterThan(events[i - 1]!.seq);
}

describe('show commands', () => {
  it('show paths / checkers / stats / metrics describe the running daemon', async () => {
    const d = await DaemonProcess.start({
      config: {
        pollingInterval: 1,
        maxPollingInterval: 2,
        checkerTimeout: 5,
        paths: ['sim:ok?id=a', 'sim:standby?id=b', 'sim:down?id=c', { device: 'sim:down?id=n', checker: 'none' }],
      },
    });
    // Every path checked at least once.
    const rows = await waitUntil('every path checked', async () => {
      const r = await d.paths();
      return r.every((p) => p.checks >= 1) && r;
    });
    expect(rows.map((p) => p.device)).toEqual(['sim:ok?id=a', 'sim:standby?id=b', 'sim:down?id=c', 'sim:down?id=n']);
    expect(rows.map((p) => [p.checker, p.state])).toEqual([
      ['tur', 'up'],
      ['tur', 'ghost'],
      ['tur', 'down'],
      ['none', 'up'],
    ]);
    for (const p of rows) {
      expect(typeof p.message).toBe('string');
      expect(p.interval).toBeGreaterThanOrEqual(1);
      expect(p.interval).toBeLessThanOrEqual(2);
      expect(Number.isNaN(Date.parse(p.lastCheck!))).toBe(false);
      expect(Number.isNaN(Date.parse(p.nextCheck))).toBe(false);
    }
    expect(byDevice(rows, 'sim:ok?id=a').message).toBe('tur checker reports path is up');

    const checkers = await d.checkers();
    const tur = checkers.find((c) => c.name === 'tur')!;
    const none = checkers.find((c) => c.name === 'none')!;
    expect(checkers).toHaveLength(2);
    expect(tur).toMatchObject({ version: 1, abiVersion: 2, state: 'current', checkers: 3, contexts: 3, sha256: sha256(TUR_WASM), origin: TUR_WASM });
    expect(none).toMatchObject({ version: 1, state: 'current', checkers: 1, sha256: sha256(NONE_WASM), origin: NONE_WASM });
    // The registry's reference, one per bound path, one per check in flight.
    expect(tur.refcount).toBeGreaterThanOrEqual(1 + 3);
    expect(tur.refcount).toBe(1 + tur.checkers + tur.inFlight);

    const stats = await d.stats();
    expect(stats.paths).toBe(4);
    expect(stats.classes).toBe(2);
    expect(stats.checks).toBeGreaterThanOrEqual(4);
    expect(Object.values(stats.pathsByState).reduce((a, b) => a + b, 0)).toBe(4);
    expect(stats.pathsByState).toMatchObject({ up: 2, ghost: 1, down: 1 });
    expect(Object.values(stats.checksByState).reduce((a, b) => a + b, 0)).toBe(stats.checks);
    expect(stats.stateChanges).toBeGreaterThanOrEqual(4); // unchecked -> something, each path
    expect(stats.pool.workers).toBeGreaterThanOrEqual(1);
    expect(stats.memory.rss).toBeGreaterThan(0);

    const text = await d.request<string>('show metrics');
    expect(typeof text).toBe('string');
    const lines = text.trimEnd().split('\n');
    const samples = new Map<string, number>();
    for (const l of lines) {
      if (l.startsWith('#')) {
        expect(l).toMatch(/^# (HELP|TYPE) pathcheck_[a-z_]+ .+$/);
        continue;
      }
      const m = /^(pathcheck_[a-z_]+(?:\{[a-z]+="[^"]*"\})?) ([0-9.e+-]+)$/.exec(l);
      expect(m, `metric line: ${l}`).not.toBeNull();
      samples.set(m![1]!, Number(m![2]));
    }
    expect(lines).toContain('# TYPE pathcheck_checks_total counter');
    expect(lines).toContain('# TYPE pathcheck_check_duration_seconds histogram');
    expect(lines).toContain('# TYPE pathcheck_pool_workers gauge');
    expect(samples.get('pathcheck_checks_total{state="up"}')).toBeGreaterThanOrEqual(2);
    expect(samples.get('pathcheck_checks_total{state="ghost"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('pathcheck_paths')).toBe(4);
    expect(samples.get('pathcheck_classes_loaded')).toBe(2);
    expect(samples.get('pathcheck_pool_workers')).toBe(stats.pool.workers);
    for (const name of ['pathcheck_pool_workers_busy', 'pathcheck_pool_workers_stuck', 'pathcheck_pool_workers_replaced_total', 'pathcheck_state_changes_total']) {
      expect(samples.has(name), name).toBe(true);
    }
    // The histogram: cumulative buckets ending in +Inf = _count.
    const buckets = [...samples].filter(([k]) => k.startsWith('pathcheck_check_duration_seconds_bucket{'));
    expect(buckets.length).toBeGreaterThanOrEqual(2);
    expect(buckets.at(-1)![0]).toBe('pathcheck_check_duration_seconds_bucket{le="+Inf"}');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
    expect(buckets.at(-1)![1]).toBe(samples.get('pathcheck_check_duration_seconds_count'));
    expect(samples.get('pathcheck_check_duration_seconds_count')).toBeGreaterThanOrEqual(stats.checks);
    expect(samples.has('pathcheck_check_duration_seconds_sum')).toBe(true);
  });

  it('the pathcheck client renders show paths and show stats --json from the daemon', async () => {
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, paths: ['sim:ok?id=a', 'sim:standby?id=b'] } });
    await waitUntil('both paths checked', async () => (await d.paths()).every((p) => p.checks >= 1));
    const table = await runPathcheck(['--socket', d.socket, 'show', 'paths']);
    expect(table.status, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DEVICE\s+CHECKER\s+STATE\s+MESSAGE\s+INTERVAL\s+LAST CHECK\s+NEXT CHECK$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['sim:ok?id=a', 'tur', 'up'],
      ['sim:standby?id=b', 'tur', 'ghost'],
    ]);
    const stats = await runPathcheck(['--socket', d.socket, 'show', 'stats', '--json']);
    expect(stats.status, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ paths: 2, classes: 1 });
  });

  it('the control socket is a mode 0600 Unix socket', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok'] } });
    const st = statSync(d.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });
});

describe('no command waits behind a hung device', () => {
  it('show/add/del/fault/reconfigure answer promptly while sim:hang-hard hangs; other paths keep being checked', async () => {
    const others = ['sim:ok?id=a', 'sim:ok?id=b', 'sim:standby?id=c'];
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 1, paths: others } });
    const log = await d.events();
    await waitUntil('the other paths checked', async () => (await d.paths()).every((p) => p.checks >= 1));

    const HUNG = 'sim:hang-hard?id=h';
    const add = await timed(() => d.request('add path', { spec: HUNG }));
    expect(add.error).toBeUndefined();
    expect(add.value).toEqual({ added: HUNG });
    expect(add.ms).toBeLessThan(1000);

    // timeout (checker_timeout 1 s), then pending while the stuck job has not ended.
    const toTimeout = await log.waitFor('hung path -> timeout', (e) => e.type === 'state' && e.path === HUNG, 15_000);
    expect(toTimeout).toMatchObject({ from: 'unchecked', to: 'timeout', checker: 'tur', message: 'tur checker timed out' });
    const toPending = await log.waitFor('hung path -> pending', (e) => e.type === 'state' && e.path === HUNG && e.seq > toTimeout.seq, 15_000);
    expect(toPending).toMatchObject({ from: 'timeout', to: 'pending', message: 'checker thread not responding' });
    // The check after the timeout is due at once (it outlasted its interval) and answers pending
    // without being dispatched: no second wait of checker_timeout in between.
    expect(log.arrivals[log.events.indexOf(toPending)]! - log.arrivals[log.events.indexOf(toTimeout)]!).toBeLessThan(900);

    const before = await d.paths();
    const rounds: Record<string, number[]> = {};
    const note = (name: string, ms: number) => (rounds[name] ??= []).push(ms);
    let sawBusy = false;
    const hungStates = new Set<string>();
    // Three rounds of every command, over several seconds of hanging (each round is bounded).
    for (let round = 0; round < 3; round++) {
      const show = await timed(() => d.paths());
      expect(show.error).toBeUndefined();
      note('show paths', show.ms);
      hungStates.add(byDevice(show.value!, HUNG).state);

      const extra = `sim:ok?id=extra${round}`;
      const a = await timed(() => d.request('add path', { spec: extra }));
      expect(a.error).toBeUndefined();
      note('add path', a.ms);
      const del = await timed(() => d.request('del path', { spec: extra }));
      expect(del.error).toBeUndefined();
      expect(del.value).toEqual({ removed: extra });
      note('del path', del.ms);

      const f = await timed(() => d.request('fault', { spec: 'sim:ok?id=a', scenario: 'ok' }));
      expect(f.error).toBeUndefined();
      note('fault', f.ms);

      const r = await timed(() => d.request('reconfigure'));
      expect(r.error).toBeUndefined();
      expect(r.value).toMatchObject({ type: 'reconfigured', added: 0, removed: 0, reloaded: [] });
      note('reconfigure', r.ms);

      const s = await timed(() => d.stats());
      expect(s.error).toBeUndefined();
      note('show stats', s.ms);
      if (s.value!.pool.busy >= 1) sawBusy = true;
      await sleep(700);
    }
    for (const [name, ms] of Object.entries(rounds)) {
      for (const t of ms) expect(t, `${name} round trip (${ms.map((x) => x.toFixed(1)).join(', ')} ms)`).toBeLessThan(1000);
    }
    expect(sawBusy, 'a worker was busy with the hung check during the rounds').toBe(true);
    for (const s of hungStates) expect(['timeout', 'pending']).toContain(s);

    // The hung path stayed where `add path` put it (reconfigure keeps paths added by hand).
    const after = await d.paths();
    expect(after.map((p) => p.device)).toEqual([...others, HUNG]);
    // Other paths keep being checked while it hangs.
    await waitUntil(
      'each other path checked twice more',
      async () => {
        const now = await d.paths();
        return others.every((dev) => byDevice(now, dev).checks >= byDevice(before, dev).checks + 2);
      },
      20_000,
      200,
    );
    const now = await d.paths();
    for (const dev of others) expect(['up', 'ghost']).toContain(byDevice(now, dev).state);
    expect(byDevice(now, 'sim:ok?id=a').state).toBe('up');
  }, 90_000);
});

describe('fault injection and events', () => {
  it('fault sim:ok?id=x standby makes the path ghost within a few polling intervals; events come in seq order', async () => {
    const X = 'sim:ok?id=x';
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 2, checkerTimeout: 5, paths: [X, 'sim:ok?id=y'] } });
    const log = await d.events();
    await waitUntil('x up', async () => (await d.path(X))?.state === 'up');

    const answer = await d.request('fault', { spec: X, scenario: 'standby' });
    expect(answer).toEqual({ path: X, scenario: 'standby' });
    const t0 = performance.now();
    const fault = await log.waitFor('fault event', (e) => e.type === 'fault' && e.path === X, 5000);
    expect(fault).toMatchObject({ scenario: 'standby' });
    const change = await log.waitFor('x up -> ghost', (e) => e.type === 'state' && e.path === X && e.to === 'ghost', 3 * 2 * 1000 + 5000);
    const waited = performance.now() - t0;
    expect(waited).toBeLessThan(3 * 2 * 1000 + 5000);
    expect(change).toMatchObject({ from: 'up', to: 'ghost', checker: 'tur' });
    expect(change.message).toMatch(/ghost|standby/i);
    expect(change.seq).toBeGreaterThan(fault.seq);
    // A state change resets the interval to polling_interval.
    const row = (await d.path(X))!;
    expect(row.state).toBe('ghost');
    expect(row.interval).toBeLessThanOrEqual(2);
    expect((await d.path('sim:ok?id=y'))!.state).toBe('up');

    // And back.
    await d.request('fault', { spec: X, scenario: 'ok' });
    const back = await log.waitFor('x ghost -> up', (e) => e.type === 'state' && e.path === X && e.to === 'up' && e.seq > change.seq, 12_000);
    expect(back.from).toBe('ghost');

    expectSeqIncreasing(log.events);
    expect(log.events.every((e) => typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)))).toBe(true);
    // y never changed after its first check.
    expect(log.events.filter((e) => e.type === 'state' && e.path === 'sim:ok?id=y' && e.from !== 'unchecked')).toEqual([]);
  }, 60_000);

  it('fault refusals: unknown path, unknown scenario, missing argument', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok?id=x'] } });
    await expect(d.request('fault', { spec: 'sim:ok?id=nosuch', scenario: 'down' })).rejects.toThrow(new ControlRequestError('no path sim:ok?id=nosuch'));
    await expect(d.request('fault', { spec: 'sim:ok?id=x', scenario: 'nosuch-scenario' })).rejects.toThrow(/nosuch-scenario/);
    await expect(d.request('fault', { spec: 'sim:ok?id=x' })).rejects.toThrow(new ControlRequestError("fault: 'scenario' must be a non-empty string"));
    await expect(d.request('add path', { spec: 'sim:ok?id=x' })).rejects.toThrow(new ControlRequestError('path sim:ok?id=x already exists'));
    await expect(d.request('del path', { spec: 'sim:nope' })).rejects.toThrow(new ControlRequestError('no path sim:nope'));
    await expect(d.request('add path', { spec: 'nosuchscheme:x' })).rejects.toThrow(ControlRequestError);
    // Still answering, and the path unchanged.
    expect((await d.paths()).map((p) => p.device)).toEqual(['sim:ok?id=x']);
  });
});

describe('hot reload', () => {
  it('reload checker tur: class-loaded v2, then class-unloaded v1 only after the in-flight check ends', async () => {
    const SLOW = 'sim:slow?latency=2000&id=s';
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 10, paths: [SLOW, 'sim:ok?id=o'] } });
    const log = await d.events();
    const first = await waitUntil('slow path checked once', async () => {
      const r = await d.path(SLOW);
      return r !== undefined && r.checks >= 1 && r;
    }, 15_000);
    // Reload right after a check of the slow path has started: it has ~2 s left to run on v1.
    await waitUntil('a new check of the slow path starts', async () => (await d.path(SLOW))!.lastCheck !== first.lastCheck, 10_000, 20);
    const checksAtReload = (await d.path(SLOW))!.checks;
    const reload = await d.request('reload checker', { name: 'tur' });
    const reloadedAt = performance.now();
    expect(reload).toEqual({ checker: 'tur', version: 2 });

    const during = await d.checkers();
    const v1 = during.find((c) => c.name === 'tur' && c.version === 1);
    const v2 = during.find((c) => c.name === 'tur' && c.version === 2);
    expect(v2).toMatchObject({ state: 'current', checkers: 2, sha256: sha256(TUR_WASM) });
    expect(v1, 'v1 still alive, draining the slow check').toMatchObject({ state: 'draining', checkers: 0, inFlight: 1 });
    expect(log.events.some((e) => e.type === 'class-unloaded')).toBe(false);

    const loaded = await log.waitFor('class-loaded tur v2', (e) => e.type === 'class-loaded' && e.checker === 'tur' && e.version === 2, 5000);
    expect(loaded.sha256).toBe(sha256(TUR_WASM));
    const unloaded = await log.waitFor('class-unloaded tur v1', (e) => e.type === 'class-unloaded' && e.checker === 'tur' && e.version === 1, 15_000);
    const unloadedAt = log.arrivals[log.events.indexOf(unloaded)]!;
    expect(unloaded.seq).toBeGreaterThan(loaded.seq);
    // The slow check had most of its 2 s still to run when the reload was answered.
    expect(unloadedAt - reloadedAt).toBeGreaterThan(800);
    // v1 went only once that check had ended (and been counted).
    expect((await d.path(SLOW))!.checks).toBeGreaterThanOrEqual(checksAtReload + 1);

    const after = await d.checkers();
    expect(after.map((c: CheckerRow) => [c.name, c.version, c.state])).toEqual([['tur', 2, 'current']]);
    // Both paths are on v2 and keep being checked.
    const rows = await d.paths();
    await waitUntil('checks on v2', async () => (await d.path('sim:ok?id=o'))!.checks > byDevice(rows, 'sim:ok?id=o').checks, 10_000);
    expect((await d.paths()).map((p) => p.state)).toEqual(['up', 'up']);
    expectSeqIncreasing(log.events);
    expect(log.ofType('refcount-error')).toEqual([]);
  }, 60_000);

  // Regression (fixed in 0e68638): a hot reload gave the path a new Checker binding, and the runner
  // tracks "a job of this path is still running" per binding, so once the hung check timed out the
  // next check of the same hung device was dispatched on v2 instead of answering `pending`: a second
  // worker blocked on the same device (pool busy 2 of 2) and timeout -> pending took a second
  // checker_timeout. At most one check per path in flight, across a reload too.
  it('reload checker while a check hangs: the hung path answers pending, not a second dispatch on v2', async () => {
    const HUNG = 'sim:hang-hard?id=h';
    // Healthy paths on `none`, so that tur's in-flight count is the hung path's alone.
    const healthy = ['sim:ok?id=a', 'sim:ok?id=b'];
    const d = await DaemonProcess.start({
      config: { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 1, workers: 2, paths: healthy.map((device) => ({ device, checker: 'none' })) },
    });
    const log = await d.events();
    await waitUntil('healthy paths checked', async () => (await d.paths()).every((p) => p.checks >= 1));
    await d.request('add path', { spec: HUNG, checker: 'tur' });
    await waitUntil('the hung check in flight', async () => (await d.stats()).pool.busy >= 1, 5000, 10);
    expect(await d.request('reload checker', { name: 'tur' })).toEqual({ checker: 'tur', version: 2 });

    // Sample until after the timeout and before the stuck watchdog (deadline + 2 s) ends the job:
    // the hung check stays on v1; a second dispatch would show as a check in flight on v2.
    const turInFlight = { v1: 0, v2: 0 };
    const t0 = performance.now();
    for (let i = 0; i < 40 && performance.now() - t0 < 2300; i++) {
      const rows = (await d.request('show checkers')) as { name: string; version: number; inFlight: number }[];
      for (const r of rows) if (r.name === 'tur') turInFlight[r.version === 1 ? 'v1' : 'v2'] = Math.max(turInFlight[r.version === 1 ? 'v1' : 'v2'], r.inFlight);
      await sleep(50);
    }
    const toTimeout = await log.waitFor('hung -> timeout', (e) => e.type === 'state' && e.path === HUNG && e.to === 'timeout', 10_000);
    const toPending = await log.waitFor('hung -> pending', (e) => e.type === 'state' && e.path === HUNG && e.to === 'pending', 10_000);
    const gap = log.arrivals[log.events.indexOf(toPending)]! - log.arrivals[log.events.indexOf(toTimeout)]!;
    // A second dispatch would wait a whole checker_timeout (1 s) before the path could say pending.
    expect(gap, 'pending without a second checker_timeout wait').toBeLessThan(900);
    expect(turInFlight, 'the hung check stays on v1; nothing dispatched on v2').toEqual({ v1: 1, v2: 0 });
    expect(log.events.filter((e) => e.type === 'state' && healthy.includes(e.path as string) && e.to !== 'up')).toEqual([]);
  }, 60_000);

  it('reload checker of a checker that is not loaded is refused', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok'] } });
    await expect(d.request('reload checker', { name: 'none' })).rejects.toThrow(new ControlRequestError("checker 'none' is not loaded"));
    await expect(d.request('reload checker', {})).rejects.toThrow(new ControlRequestError("reload checker: 'name' must be a non-empty string"));
  });
});

describe('reconfigure', () => {
  it('applies a rewritten config: a path added, one removed, polling_interval changed', async () => {
    const KEEP = 'sim:ok?id=keep';
    const DROP = 'sim:ok?id=drop';
    const NEW = 'sim:standby?id=new';
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, paths: [KEEP, DROP] } });
    const log = await d.events();
    await waitUntil('both checked', async () => (await d.paths()).every((p) => p.checks >= 1));
    expect((await d.paths()).map((p) => p.interval)).toEqual([1, 1]);

    d.writeConfig({ pollingInterval: 3, maxPollingInterval: 12, paths: [KEEP, NEW] });
    const result = await d.request('reconfigure');
    expect(result).toEqual({ type: 'reconfigured', added: 1, removed: 1, reloaded: [] });
    const rows = await d.paths();
    expect(rows.map((p) => p.device)).toEqual([KEEP, NEW]);
    expect(rows.map((p) => p.interval)).toEqual([3, 3]);
    expect(rows.map((p) => p.checker)).toEqual(['tur', 'tur']);
    await waitUntil('new path ghost', async () => (await d.path(NEW))?.state === 'ghost', 10_000);
    expect((await d.stats()).paths).toBe(2);

    await log.waitFor('reconfigured event', (e) => e.type === 'reconfigured', 5000);
    const removed = log.ofType('path-removed');
    const added = log.ofType('path-added');
    expect(removed.map((e) => e.path)).toEqual([DROP]);
    expect(added.map((e) => e.path)).toEqual([NEW]);
    expect(log.ofType('reconfigured')[0]).toMatchObject({ added: 1, removed: 1, reloaded: [] });
    expectSeqIncreasing(log.events);
    await waitUntil('the reconfigure logged', () => d.logged('reconfigured: 1 paths added, 1 removed, reloaded: none').length === 1, 5000);
  }, 60_000);

  it('a broken config file is refused with FILE:LINE and the daemon keeps its running paths', async () => {
    const paths = ['sim:ok?id=a', 'sim:standby?id=b'];
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, paths } });
    await waitUntil('both checked', async () => (await d.paths()).every((p) => p.checks >= 1));

    // Line 4 of this file is the unknown keyword.
    const good = confText({ pollingInterval: 1, paths: ['sim:ok?id=other'] }).split('\n');
    good.splice(3, 0, '    poling_interval 2');
    d.writeConfig(good.join('\n'));
    const known = 'polling_interval, max_polling_interval, checker_timeout, path_checker, verbosity, checker_dir, workers, scenario_file';
    await expect(d.request('reconfigure')).rejects.toThrow(new ControlRequestError(`${d.configFile}:4: unknown keyword 'poling_interval' in defaults (known: ${known})`));

    // A bad value.
    d.writeConfig(['defaults {', '    polling_interval 1', '    checker_timeout soon', '}', ''].join('\n'));
    await expect(d.request('reconfigure')).rejects.toThrow(
      new ControlRequestError(`${d.configFile}:3: keyword 'checker_timeout' in defaults: expected an integer from 1 to 3600, found 'soon'`),
    );

    // The file gone.
    rmSync(d.configFile);
    await expect(d.request('reconfigure')).rejects.toThrow(new ControlRequestError(`${d.configFile}: cannot read the config file: no such file`));

    // SIGHUP with a bad file: logged, nothing changes.
    d.writeConfig('defaults {\n  nonsense 1\n}\n');
    d.signal('SIGHUP');
    const line = await waitUntil('the SIGHUP failure logged', () => d.logged('reconfigure failed').at(0), 10_000);
    expect(line).toContain(`reconfigure failed, keeping the running config: ${d.configFile}:2: unknown keyword 'nonsense' in defaults`);

    const before = await d.paths();
    expect(before.map((p) => p.device)).toEqual(paths);
    expect(before.map((p) => p.interval)).toEqual([1, 1]);
    await waitUntil('still checking', async () => (await d.paths()).every((p, i) => p.checks >= before[i]!.checks + 1), 15_000, 200);
    expect(d.exit).toBeNull();
  }, 60_000);
});

describe('stopping', () => {
  it('shutdown: the client gets its answer, then the daemon exits 0 and removes its socket', async () => {
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, paths: ['sim:ok?id=a'] } });
    const c = await d.connect();
    expect(await c.request('shutdown', {}, { timeoutMs: 5000 })).toBe('shutting down');
    const exit = await d.waitExit(10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(d.socket)).toBe(false);
    expect(d.logged('pathcheckd stopped; 0 checks abandoned')).toHaveLength(1);
  });

  it('SIGTERM with a hung check: exits 0 within 10 s and reports the abandoned check', async () => {
    const d = await DaemonProcess.start({
      config: { pollingInterval: 1, checkerTimeout: 60, paths: ['sim:ok?id=a', 'sim:hang-hard?id=h'] },
    });
    await waitUntil('the hang-hard check in flight', async () => (await d.stats()).pool.busy >= 1 && (await d.path('sim:ok?id=a'))!.checks >= 1, 10_000);
    const hung = (await d.path('sim:hang-hard?id=h'))!;
    expect(hung.state).toBe('unchecked');
    const t0 = performance.now();
    d.signal('SIGTERM');
    const exit = await d.waitExit(10_000);
    const ms = performance.now() - t0;
    expect(exit, `stderr: ${d.stderr.join(' | ')}`).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(10_000);
    expect(d.logged('pathcheckd stopped; 1 checks abandoned')).toHaveLength(1);
    expect(existsSync(d.socket)).toBe(false);
  }, 30_000);

  it('SIGINT stops it too, exit 0', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok'] } });
    d.signal('SIGINT');
    expect(await d.waitExit(10_000)).toEqual({ code: 0, signal: null });
  });

  it('the helper stop(): SIGTERM, exits 0 without SIGKILL', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok'] } });
    const r = await d.stop();
    expect(r).toMatchObject({ code: 0, signal: null, killed: false });
  });
});

// Regression (fixed in 0e68638): the control socket used to answer before daemon.start() had bound
// the configured paths, with the signal handlers installed only after start-up: in that window
// (~100-300 ms) `show paths` was [], SIGTERM/SIGINT/SIGHUP killed the process by their default action
// (socket file left behind), and `shutdown` answered but the process never exited (stop() ran before
// scheduler.start()). These start as early as possible: as soon as `show stats` answers.
describe('start-up: the socket answers only once the daemon has started', () => {
  const PATHS = ['sim:ok?id=a', 'sim:standby?id=b'];
  /** Returns as soon as `show stats` answers (workers 8: a longer start-up, a wider window if there were one). */
  const early = () => DaemonProcess.start({ config: { workers: 8, pollingInterval: 1, paths: PATHS }, readyLine: null, readyPollMs: 2 });

  it('the configured paths are listed as soon as the socket answers', async () => {
    const d = await early();
    expect((await d.paths()).map((p) => p.device)).toEqual(PATHS);
  });

  it('SIGTERM as soon as the socket answers: graceful, exit 0, socket removed', async () => {
    const d = await early();
    d.signal('SIGTERM');
    const exit = await d.waitExit(10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(d.socket)).toBe(false);
  });

  it('shutdown as soon as the socket answers: exit 0', async () => {
    const d = await early();
    try {
      expect(await d.request('shutdown')).toBe('shutting down');
      expect(await d.waitExit(8000)).toEqual({ code: 0, signal: null });
    } finally {
      await d.stop(3000);
    }
  }, 40_000);
});
