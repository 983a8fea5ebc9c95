import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedVersion, hostile, HOSTILE_PLUGINS, SPINS, writeHostilePlugins } from '../fixtures/hostile-plugins.js';
import {
  BUILT_CHECKERS,
  DaemonProcess,
  stopAllDaemons,
  tempDir,
  waitUntil,
  type CheckerRow,
  type ConfOptions,
  type DaemonEvent,
  type EventLog,
  type PathEntry,
  type PathRow,
} from '../helpers/daemon-process.js';
import { HEALTHY, quantile, staysResponsive, type Responsiveness } from '../helpers/responsive.js';

/**
 * Issue 10's hostile-plugin suite, black box: every fixture of test/fixtures/hostile-plugins.ts runs in
 * the real pathcheckd next to 20 healthy tur paths (polling_interval 1, checker_timeout 1). For each:
 * `show paths` answers within 100 ms throughout (each sample the best of 3 back-to-back requests),
 * healthy paths stay on time, and after `del path` its class is back to the registry's reference alone
 * (or gone) with no context and nothing in flight, and the daemon's fd count is back near its baseline.
 *
 * "On time" means every healthy path is `up` in every sample and its last check is recent (a check that
 * timed out in a queue behind stuck workers stamps lastCheck too, so the age alone proves nothing).
 *
 * Fixtures whose effects cannot interfere when the host is right share a daemon and a time window;
 * those that take a worker for a whole deadline (loops, busy-waits, atomic waits) are spaced so that at
 * most as many are stuck at once as a right host can afford:
 * - daemon 1 (2 workers): the checks that misbehave at once (traps, garbage results, the WASI sweep,
 *   fd isolation, memory growth and scribbling, a stdout flood) side by side, with the three spinning
 *   pc_free one after another; then 3 looping pc_check paths (fair share, quarantine, reload); then a
 *   reconfigure that removes every path.
 * - daemon 2 (8 workers): one load after another spinning in each metadata export and in pc_init (at most
 *   3 stuck at once); then five classes spinning in pc_check or pc_pending, 2 paths each.
 * Every wait has a deadline; assertions are soft so that one run reports every broken behaviour.
 * Measurements are printed at the end.
 */

const CALL_MS = 1000;
const TIMING = { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: CALL_MS / 1000 } as const;
/** A looping call holds its worker for its deadline plus the pool's stuckAfterMs (2 s), then the worker is replaced. */
const STUCK_MS = CALL_MS + 2000;
/** Bounds on healthy paths: far from noise (the interval is 1 s), as in daemon-hostile-plugins.test.ts. */
const WORST_AGE_MS = 2500;
const P99_AGE_MS = 1100;
const SHOW_PATHS_MS = 100;
/** fds the daemon may hold above its baseline once nothing is stuck (a worker starting or exiting has a few). */
const FD_SLACK = 4;
const RSS_GROWTH = 150 * 1024 * 1024;

const REPORT: Record<string, unknown> = {};

// ---------------------------------------------------------------- small tools

type Outcome<T> = { readonly ok: true; readonly value: T; readonly ms: number } | { readonly ok: false; readonly error: string; readonly ms: number };

async function attempt<T>(p: Promise<T>): Promise<Outcome<T>> {
  const t = performance.now();
  try {
    const value = await p;
    return { ok: true, value, ms: performance.now() - t };
  } catch (e) {
    return { ok: false, error: (e as Error).message, ms: performance.now() - t };
  }
}

/** The error an attempt ended with, or a marker that it did not fail (so a soft assertion shows it). */
const errorOf = (o: Outcome<unknown> | undefined): string => (o === undefined ? '(not attempted)' : o.ok ? `(succeeded: ${JSON.stringify(o.value)})` : o.error);

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** One daemon under test: its event log, checker_dir, fd baseline and an RSS sampler. */
class Rig {
  rssMax = 0;
  private readonly sampler: NodeJS.Timeout;
  private constructor(
    readonly d: DaemonProcess,
    readonly events: EventLog,
    readonly dir: string,
    readonly conf: ConfOptions,
    readonly fdBaseline: number,
    readonly rssBaseline: number,
  ) {
    this.sampler = setInterval(() => (this.rssMax = Math.max(this.rssMax, rssBytes(d.pid))), 200);
  }

  static async start(conf: ConfOptions & { checkerDir: string }): Promise<Rig> {
    const d = await DaemonProcess.start({ config: conf });
    const events = await d.events();
    // The shared connection and the watch connection are open; the workers have started.
    await d.stats();
    await waitUntil('every healthy path checked', async () => (await d.paths()).filter((p) => HEALTHY.includes(p.device)).every((p) => p.state === 'up'), 10_000);
    return new Rig(d, events, conf.checkerDir, conf, fdCount(d.pid), rssBytes(d.pid));
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    await this.d.stop();
  }

  stateChanges(path: string): DaemonEvent[] {
    return this.events.events.filter((e) => e.type === 'state' && e.path === path);
  }

  quarantineOf(checker: string, version = 1): DaemonEvent | undefined {
    return this.events.events.find((e) => e.type === 'class-quarantined' && e.checker === checker && e.version === version);
  }

  callFailures(checker: string): DaemonEvent[] {
    return this.events.events.filter((e) => e.type === 'call-failed' && e.checker === checker);
  }

  async add(spec: string, checker: string): Promise<Outcome<unknown>> {
    return attempt(this.d.request('add path', { spec, checker }, 10_000));
  }

  async del(spec: string): Promise<Outcome<unknown>> {
    return attempt(this.d.request('del path', { spec }, 10_000));
  }

  /**
   * Wait (bounded) until every class named is gone or has only the registry's reference, no context and
   * nothing in flight; the rows as last seen, each as one line.
   */
  async settled(names: readonly string[], timeoutMs = 8000): Promise<Map<string, string[]>> {
    let rows: CheckerRow[] = [];
    const ok = (r: CheckerRow) => r.refcount === 1 && r.contexts === 0 && r.inFlight === 0;
    await attempt(
      waitUntil(
        `classes ${names.join(', ')} settled`,
        async () => {
          rows = await this.d.checkers();
          return names.every((n) => rows.filter((r) => r.name === n).every(ok) && rows.filter((r) => r.name === n).length <= 1);
        },
        timeoutMs,
        100,
      ),
    );
    return new Map(names.map((n) => [n, rows.filter((r) => r.name === n).map(rowLine)]));
  }

  /** Wait (bounded) until no worker is stuck, the pool is at its size and the fd count is back near the baseline. */
  async fdsBack(timeoutMs = 8000): Promise<{ baseline: number; count: number; stuck: number; workers: number }> {
    let last = { baseline: this.fdBaseline, count: NaN, stuck: NaN, workers: NaN };
    await attempt(
      waitUntil(
        'fds back to the baseline',
        async () => {
          const { pool } = await this.d.stats();
          last = { baseline: this.fdBaseline, count: fdCount(this.d.pid), stuck: pool.stuck, workers: pool.workers };
          return pool.stuck === 0 && pool.workers === (this.conf.workers ?? 2) && last.count <= this.fdBaseline + FD_SLACK;
        },
        timeoutMs,
        100,
      ),
    );
    return last;
  }
}

const rowLine = (r: CheckerRow): string => `v${r.version} ${r.state}: refcount ${r.refcount}, contexts ${r.contexts}, inFlight ${r.inFlight}`;
const SETTLED = /: refcount 1, contexts 0, inFlight 0$/;

/** Every class named has at most one row, with only the registry's reference, no context, nothing in flight. */
function expectSettled(rows: Map<string, string[]>): void {
  for (const [name, lines] of rows) {
    expect.soft(lines.length, `${name}: rows after del path: ${lines.join(' | ')}`).toBeLessThanOrEqual(1);
    for (const l of lines) expect.soft(l, `${name} after del path`).toMatch(SETTLED);
  }
}

function expectFdsBack(f: { baseline: number; count: number; stuck: number }, label: string): void {
  expect.soft(f.stuck, `${label}: stuck workers`).toBe(0);
  expect.soft(f.count, `${label}: daemon fds (baseline ${f.baseline})`).toBeLessThanOrEqual(f.baseline + FD_SLACK);
}

interface Liveness {
  worstMs: number;
  worstAgeMs: number;
  p99AgeMs: number;
  samples: number;
  /** Samples in which some healthy path was not `up`, and the first few such rows. */
  samplesNotUp: number;
  notUp: string[];
}

function liveness(live: Responsiveness, before = Infinity): Liveness {
  const timeline = live.timeline.filter((s) => s.at < before);
  const ages = timeline.flatMap((s) => s.ages);
  return {
    worstMs: Math.round(Math.max(0, ...timeline.map((s) => s.latencyMs))),
    worstAgeMs: Math.round(Math.max(0, ...ages)),
    p99AgeMs: Math.round(quantile(ages, 0.99)),
    samples: timeline.length,
    samplesNotUp: timeline.filter((s) => s.notUp.length > 0).length,
    notUp: [...new Set(timeline.flatMap((s) => s.notUp))].slice(0, 5),
  };
}

/** Healthy paths on time: checked every interval and `up` in every sample (a timed-out check stamps lastCheck too). */
function expectLive(l: Liveness, label: string, p99 = true): void {
  expect.soft(l.samples, `${label}: samples`).toBeGreaterThanOrEqual(5);
  expect.soft(l.worstMs, `${label}: worst show paths latency (best of 3), ms`).toBeLessThanOrEqual(SHOW_PATHS_MS);
  expect.soft(l.worstAgeMs, `${label}: worst healthy last-check age, ms`).toBeLessThan(WORST_AGE_MS);
  if (p99) expect.soft(l.p99AgeMs, `${label}: p99 healthy last-check age, ms`).toBeLessThanOrEqual(P99_AGE_MS);
  expect.soft(l.notUp, `${label}: healthy paths not up (in ${l.samplesNotUp} of ${l.samples} samples)`).toEqual([]);
}

/** A checker_dir with tur and every hostile fixture. */
function checkerDir(): string {
  const dir = tempDir();
  copyFileSync(join(BUILT_CHECKERS, 'tur.wasm'), join(dir, 'tur.wasm'));
  writeHostilePlugins(dir);
  return dir;
}

const simOk = (name: string) => `sim:ok?id=${name}`;
/**
 * What a check that overruns says: the deadline passed ("timed out"), or the host took the worker back
 * early because the class held more than its share of the workers ("overran: ...").
 */
const overrun = (name: string) => new RegExp(`^${name} checker (timed out|overran: .+)$`);
/** After a quarantine, a path shows it once its last call has ended: at worst a deadline, the stuck time and an interval. */
const SHOWS_QUARANTINE_MS = STUCK_MS + 2000;
const NOT_A_CRASH = /internal error|TypeError|RangeError: Invalid|is not a function/;

/** The first state change of a path and every message it showed. */
function firstChange(rig: Rig, spec: string): { to: string; message: string } | undefined {
  const e = rig.stateChanges(spec)[0];
  return e === undefined ? undefined : { to: String(e.to), message: String(e.message) };
}

afterAll(async () => {
  console.log(`hostile-suite measurements: ${JSON.stringify(REPORT, null, 2)}`);
  // Whatever a failed start-up left running.
  await stopAllDaemons();
});

// ================================================================ daemon 1: 2 workers


/** What the quarantine phases record as they run, asserted by their tests afterwards. */
function quarantineObservations() {
  return {
    added: [] as Outcome<unknown>[],
    pathsSeen: [] as PathRow[],
    checkersSeen: [] as CheckerRow[],
    live: undefined as Responsiveness | undefined,
    dels: [] as Outcome<unknown>[],
    rows: new Map<string, string[]>(),
    fds: undefined as Awaited<ReturnType<Rig['fdsBack']>> | undefined,
    t0: 0,
  };
}

describe('pathcheckd with 2 workers next to hostile plugins', () => {
  let rig: Rig;
  const CFG_TRAP_FREE: PathEntry = { device: 'sim:ok?id=cfg-trap-free', checker: 'trap-free-cfg' };

  beforeAll(async () => {
    rig = await Rig.start({ workers: 2, ...TIMING, verbosity: 3, checkerDir: checkerDir(), paths: [...HEALTHY, CFG_TRAP_FREE] });
  }, 30_000);

  afterAll(async () => {
    REPORT.daemon1 = { fdBaseline: rig?.fdBaseline, rssBaselineMiB: rig && Math.round(rig.rssBaseline / 2 ** 20), rssMaxMiB: rig && Math.round(rig.rssMax / 2 ** 20) };
    await rig?.stop();
  });

  // ---------------------------------------------------------------- phase A
  describe('checks that misbehave without holding a worker, side by side (with three spinning pc_free, one at a time)', () => {
    const TRAP_CHECKS = ['trap-check-unreachable', 'trap-check-stack', 'proc-exit'];
    const GARBAGE = ['state-200', 'state-11', 'result-bit16', 'result-bit30', 'msgid-101', 'msgid-200', 'msgid-50', 'wait-bogus'];
    const SWEEPS = ['wasi-fd0-3', 'wasi-fd4-8', 'wasi-fd-bad'];
    const FD_PEEK = ['sim:slow?latency=700&id=fd-peek-1', 'sim:slow?latency=700&id=fd-peek-2'];
    const SCRIBBLER = 'sim:ok?id=scribbler&blocks=4096';
    const VICTIM = 'sim:ok?id=scribble-victim';
    const TRAP_FREES = ['trap-free-unreachable', 'trap-free-stack'];
    const SPIN_FREES = SPINS.map((s) => `${s}-free`);
    const PATHS: { spec: string; checker: string }[] = [
      ...[...TRAP_CHECKS, ...GARBAGE, ...SWEEPS, 'grow-cap', 'stdout-flood', ...TRAP_FREES, ...SPIN_FREES].map((n) => ({ spec: simOk(n), checker: n })),
      ...FD_PEEK.map((spec) => ({ spec, checker: 'fd-peek' })),
      // The victim first: bound (its pc_init done) before the scribbler's first check writes over it.
      { spec: VICTIM, checker: 'scribble' },
      { spec: SCRIBBLER, checker: 'scribble' },
    ];
    const CLASSES = [...new Set(PATHS.map((p) => p.checker))];
    const obs = {
      refused: new Map<string, Outcome<unknown>>(),
      initTraps: new Map<string, Outcome<unknown>>(),
      initRows: new Map<string, string[]>(),
      added: new Map<string, Outcome<unknown>>(),
      dels: new Map<string, Outcome<unknown>>(),
      freeRows: new Map<string, string[]>(),
      observed: undefined as Outcome<unknown> | undefined,
      pathsSeen: [] as PathRow[],
      checkersSeen: [] as CheckerRow[],
      reload: undefined as Outcome<unknown> | undefined,
      reloadUp: undefined as Outcome<unknown> | undefined,
      live: undefined as Responsiveness | undefined,
      rows: new Map<string, string[]>(),
      fds: undefined as Awaited<ReturnType<Rig['fdsBack']>> | undefined,
      windowMs: 0,
    };

    beforeAll(async () => {
      const { d } = rig;
      for (const n of ['type-i64-check', 'type-f64-ctx-size']) obs.refused.set(n, await rig.add(simOk(n), n));
      for (const n of ['trap-init-unreachable', 'trap-init-stack']) obs.initTraps.set(n, await rig.add(simOk(n), n));
      obs.initRows = await rig.settled(['trap-init-unreachable', 'trap-init-stack'], 4000);
      for (const p of PATHS) obs.added.set(p.spec, await rig.add(p.spec, p.checker));
      const t0 = performance.now();
      const frees = (async () => {
        for (const n of TRAP_FREES) obs.dels.set(n, await rig.del(simOk(n)));
        // A spinning pc_free holds a worker until it is replaced: one at a time, so the healthy paths keep one.
        for (const n of SPIN_FREES) {
          obs.dels.set(n, await rig.del(simOk(n)));
          await rig.settled([n], STUCK_MS + 3000);
        }
        obs.freeRows = await rig.settled([...TRAP_FREES, ...SPIN_FREES], 4000);
      })();
      const observe = attempt(
        waitUntil(
          'phase A: trapping classes quarantined, every path checked a few times',
          async () => {
            if (performance.now() - t0 < 8000) return false;
            const rows = await d.paths();
            const checks = (spec: string) => rows.find((r) => r.device === spec)?.checks ?? 0;
            const quarantined =
              [...TRAP_CHECKS, 'scribble'].every((n) => rig.quarantineOf(n) !== undefined) &&
              PATHS.filter((p) => [...TRAP_CHECKS, 'scribble'].includes(p.checker)).every((p) => rows.find((r) => r.device === p.spec)?.state === 'wild');
            return quarantined && PATHS.every((p) => [...TRAP_FREES, ...SPIN_FREES].includes(p.checker) || checks(p.spec) >= 5);
          },
          14_000,
          200,
        ),
      );
      const activity = (async () => {
        obs.observed = await observe;
        obs.windowMs = Math.round(performance.now() - t0);
        obs.pathsSeen = await d.paths();
        obs.checkersSeen = await d.checkers();
        // A fixed version lifts a quarantine.
        writeFileSync(join(rig.dir, 'trap-check-unreachable.wasm'), fixedVersion('trap-check-unreachable'));
        obs.reload = await attempt(d.request('reload checker', { name: 'trap-check-unreachable' }, 10_000));
        if (obs.reload.ok) obs.reloadUp = await attempt(waitUntil('trap-check-unreachable up after the reload', async () => (await d.path(simOk('trap-check-unreachable')))?.state === 'up', 5000));
        await frees;
      })();
      obs.live = await staysResponsive(d, activity, HEALTHY, { maxMs: 45_000 });
      await activity;
      for (const p of PATHS) if (![...TRAP_FREES, ...SPIN_FREES].includes(p.checker)) obs.dels.set(p.spec, await rig.del(p.spec));
      obs.rows = await rig.settled(CLASSES, 6000);
      obs.fds = await rig.fdsBack();
      REPORT.phaseA = { windowMs: obs.windowMs, observed: obs.observed?.ok, live: liveness(obs.live), fds: obs.fds, rssMaxMiB: Math.round(rig.rssMax / 2 ** 20) };
    }, 90_000);

    it('every fixture of the phase is added (its pc_init is healthy)', () => {
      for (const [spec, o] of obs.added) expect.soft(o.ok ? 'added' : o.error, spec).toBe('added');
    });

    it('exports of the wrong type (an i64 pc_check, an f64 pc_ctx_size) are refused at load with one line', async () => {
      expect.soft(errorOf(obs.refused.get('type-i64-check'))).toBe(`${join(rig.dir, 'type-i64-check.wasm')}: export pc_check has type (i32, i32, i32) -> i64, expected (i32, i32, i32) -> i32`);
      expect.soft(errorOf(obs.refused.get('type-f64-ctx-size'))).toBe(`${join(rig.dir, 'type-f64-ctx-size.wasm')}: export pc_ctx_size has type () -> f64, expected () -> i32`);
      const names = (await rig.d.checkers()).map((c) => c.name);
      expect.soft(names).not.toContain('type-i64-check');
      expect.soft(names).not.toContain('type-f64-ctx-size');
    });

    it('a trap in pc_init (unreachable, stack overflow): add path fails with one line; contexts 0, refcount 1', () => {
      expect.soft(errorOf(obs.initTraps.get('trap-init-unreachable'))).toBe(`${simOk('trap-init-unreachable')}: trap-init-unreachable checker pc_init trapped: unreachable`);
      expect.soft(errorOf(obs.initTraps.get('trap-init-stack'))).toBe(`${simOk('trap-init-stack')}: trap-init-stack checker pc_init trapped: Maximum call stack size exceeded`);
      for (const n of ['trap-init-unreachable', 'trap-init-stack']) {
        expect.soft(obs.initRows.get(n), `${n}: the class stays loaded, with only the registry's reference`).toEqual([`v1 current: refcount 1, contexts 0, inFlight 0`]);
      }
    });

    it('a trap in pc_free (unreachable, stack overflow): del path succeeds, a call-failed event, contexts 0, refcount 1', () => {
      for (const [n, reason] of [
        ['trap-free-unreachable', 'unreachable'],
        ['trap-free-stack', 'Maximum call stack size exceeded'],
      ] as const) {
        const del = obs.dels.get(n);
        expect.soft(del?.ok ? 'removed' : errorOf(del), `${n}: del path`).toBe('removed');
        expect.soft(
          rig.callFailures(n).map((e) => e.message),
          `${n}: call-failed events`,
        ).toContainEqual(expect.stringContaining(`pc_free trapped: ${reason}`));
        expect.soft(obs.freeRows.get(n), `${n} after del path`).toEqual([`v1 current: refcount 1, contexts 0, inFlight 0`]);
      }
      expect.soft(rig.d.logged('pc_free trapped').length, 'the daemon log says so').toBeGreaterThanOrEqual(2);
    });

    it('a loop, a busy-wait and an atomic wait in pc_free: del path answers at once, a call-failed event, then contexts 0, refcount 1', () => {
      for (const n of SPIN_FREES) {
        const del = obs.dels.get(n);
        expect.soft(del?.ok ? 'removed' : errorOf(del), `${n}: del path`).toBe('removed');
        expect.soft(del?.ms ?? Infinity, `${n}: del path latency, ms`).toBeLessThan(SHOW_PATHS_MS);
        expect.soft(
          rig.callFailures(n).map((e) => e.message),
          `${n}: call-failed events`,
        ).toContainEqual(expect.stringContaining(`${n} checker pc_free `));
        expect.soft(obs.freeRows.get(n), `${n} after del path`).toEqual([`v1 current: refcount 1, contexts 0, inFlight 0`]);
      }
    });

    it('a trap in pc_check (unreachable, stack overflow, proc_exit): down with the first line of the reason, then 5 strikes quarantine the class', () => {
      const reasons: Record<string, string> = { 'trap-check-unreachable': 'unreachable', 'trap-check-stack': 'Maximum call stack size exceeded', 'proc-exit': 'proc_exit(7)' };
      for (const n of TRAP_CHECKS) {
        const spec = simOk(n);
        expect.soft(firstChange(rig, spec), `${n}: first state change`).toEqual({ to: 'down', message: `${n} checker trapped: ${reasons[n]}` });
        const seen = rig.stateChanges(spec);
        expect.soft(
          seen.filter((e) => e.to === 'timeout' || NOT_A_CRASH.test(String(e.message))).map((e) => `${e.to}: ${e.message}`),
          `${n}: never timeout or internal error for a crash`,
        ).toEqual([]);
        const q = rig.quarantineOf(n);
        expect.soft(q, `${n}: a class-quarantined event`).toMatchObject({ type: 'class-quarantined', checker: n, version: 1, reason: expect.any(String) });
        const row = obs.pathsSeen.find((r) => r.device === spec);
        expect.soft(row?.state, `${n}: state once quarantined`).toBe('wild');
        expect.soft(row?.message, `${n}: message once quarantined`).toMatch(new RegExp(`^${n} checker quarantined: `));
        expect.soft(obs.checkersSeen.find((c) => c.name === n && c.version === 1)?.state, `${n}: show checkers`).toBe('quarantined');
      }
    });

    it('reload checker of a fixed version (new bytes, same file) lifts the quarantine: the path goes up', () => {
      expect.soft(obs.reload?.ok ? obs.reload.value : errorOf(obs.reload)).toEqual({ checker: 'trap-check-unreachable', version: 2 });
      expect.soft(obs.reloadUp?.ok ? 'up' : errorOf(obs.reloadUp)).toBe('up');
    });

    it('garbage states: wild, "returned invalid state N"', () => {
      expect.soft(firstChange(rig, simOk('state-200'))).toEqual({ to: 'wild', message: 'state-200 checker returned invalid state 200' });
      expect.soft(firstChange(rig, simOk('state-11'))).toEqual({ to: 'wild', message: 'state-11 checker returned invalid state 11' });
    });

    it('a result with bits 16..30 set is refused as an invalid result, not cut to its low bits', () => {
      for (const n of ['result-bit16', 'result-bit30']) {
        const c = firstChange(rig, simOk(n));
        expect.soft(c?.to, `${n}: state`).toBe('wild');
        expect.soft(c?.message, `${n}: message`).toContain('invalid result');
      }
    });

    it('an unknown message id shows the invalid-message-id text', () => {
      for (const n of ['msgid-101', 'msgid-200', 'msgid-50']) {
        expect.soft(firstChange(rig, simOk(n)), n).toEqual({ to: 'up', message: `${n} checker provided invalid message id` });
      }
    });

    it('WAIT on an fd it was not given: wild, "waited on fd N with no command outstanding"', () => {
      expect.soft(firstChange(rig, simOk('wait-bogus'))).toEqual({ to: 'wild', message: 'wait-bogus checker waited on fd 4660 with no command outstanding' });
    });

    it('every WASI call with out-of-bounds pointers, negative lengths and fds 0..8, -1, 0x7fffffff answers the errno it should, never a crash', () => {
      for (const n of SWEEPS) {
        const spec = simOk(n);
        const changes = rig.stateChanges(spec).map((e) => `${e.to}: ${e.message}`);
        // A mismatch is `down` with the probe's text as the message (see the fixture's probes).
        expect.soft(changes, `${n} (${hostile(n).probes!.length} probes)`).toEqual([`up: ${n} checker reports path is up`]);
        expect.soft(obs.pathsSeen.find((r) => r.device === spec)?.checks ?? 0, `${n}: checks`).toBeGreaterThanOrEqual(5);
      }
    });

    it("each check sees only its own device fd: every other fd (fd 5, fd+1, ...) is EBADF and the other path's device gets no command", () => {
      for (const spec of FD_PEEK) {
        // Any command on the other path's device (700 ms to answer) would show there as `pending`.
        expect.soft(
          rig.stateChanges(spec).map((e) => `${e.to}: ${e.message}`),
          spec,
        ).toEqual(['up: fd-peek checker reports path is up']);
        const row = obs.pathsSeen.find((r) => r.device === spec);
        expect.soft(row?.checks ?? 0, `${spec}: checks`).toBeGreaterThanOrEqual(5);
        expect.soft(row?.state, `${spec}: state`).toBe('up');
      }
    });

    it('memory.grow to the cap fails inside the plugin (-1); the class memory stays at the cap', () => {
      const spec = simOk('grow-cap');
      expect.soft(rig.stateChanges(spec).map((e) => `${e.to}: ${e.message}`)).toEqual(['up: grow-cap checker reports path is up']);
      const row = obs.checkersSeen.find((c) => c.name === 'grow-cap') as (CheckerRow & { memoryBytes?: number }) | undefined;
      expect.soft(row?.memoryBytes ?? 0, 'show checkers memoryBytes').toBeLessThanOrEqual(4096 * 65536);
    });

    it("a check writing over its whole class memory quarantines the class, naming that path's device", () => {
      const q = rig.quarantineOf('scribble');
      expect.soft(q, 'a class-quarantined event').toMatchObject({ type: 'class-quarantined', checker: 'scribble', version: 1 });
      expect.soft(String(q?.reason), 'the reason names the scribbling path').toContain(SCRIBBLER);
      expect.soft(String(q?.reason), 'and not the path it wrote over').not.toContain(VICTIM);
      for (const spec of [SCRIBBLER, VICTIM]) {
        const row = obs.pathsSeen.find((r) => r.device === spec);
        expect.soft(row?.state, `${spec}: state`).toBe('wild');
        expect.soft(row?.message, `${spec}: message`).toMatch(/^scribble checker quarantined: /);
      }
      expect.soft(obs.checkersSeen.find((c) => c.name === 'scribble')?.state, 'show checkers').toBe('quarantined');
    });

    it('a stdout flood (1,000 iovecs x 64 KiB per check): bounded log lines with a dropped-bytes count, the full length answered, RSS bounded', () => {
      const spec = simOk('stdout-flood');
      expect.soft(rig.stateChanges(spec).map((e) => `${e.to}: ${e.message}`), 'fd_write answers the full length').toEqual(['up: stdout-flood checker reports path is up']);
      const lines = rig.d.logged('checker stdout-flood v1 stdout: ');
      const checks = obs.pathsSeen.find((r) => r.device === spec)?.checks ?? 0;
      REPORT.flood = { checks, logLines: lines.length, longestLine: Math.max(0, ...lines.map((l) => l.length)), droppedLines: lines.filter((l) => /dropped/.test(l)).length, sample: lines.at(-1)?.slice(-120) };
      expect.soft(lines.length, 'log lines').toBeGreaterThanOrEqual(1);
      // 65 MB a second offered; the log gets a bounded trickle (a few KiB a second).
      expect.soft(lines.length, 'log lines').toBeLessThanOrEqual(200);
      expect.soft(Math.max(0, ...lines.map((l) => l.length)), 'longest log line').toBeLessThanOrEqual(2048);
      expect.soft(
        lines.some((l) => /dropped\D{0,20}\d+|\d+\D{0,20}dropped/i.test(l)),
        'a dropped-bytes count',
      ).toBe(true);
      expect.soft(rig.rssMax - rig.rssBaseline, 'daemon RSS growth, bytes').toBeLessThan(RSS_GROWTH);
    });

    it('throughout: show paths within 100 ms, healthy paths on time', () => {
      expectLive(liveness(obs.live!), 'phase A');
    });

    it('after del path: every class of the phase is at refcount 1 (or gone), contexts 0, inFlight 0; no fd leak', () => {
      for (const [spec, o] of obs.dels) expect.soft(o.ok ? 'removed' : o.error, `del path ${spec}`).toBe('removed');
      expectSettled(obs.rows);
      expectFdsBack(obs.fds!, 'phase A');
    });
  });

  // ---------------------------------------------------------------- phase L1
  describe('loops in pc_check on 3 paths (2 workers)', () => {
    const SPECS = [0, 1, 2].map((i) => simOk(`loop-check-${i}`));
    const obs = {
      ...quarantineObservations(),
      quarantine: undefined as Outcome<DaemonEvent> | undefined,
      quarantinedAt: Infinity,
      reload: undefined as Outcome<unknown> | undefined,
      reloadUp: undefined as Outcome<unknown> | undefined,
    };

    beforeAll(async () => {
      const { d, events } = rig;
      const from = events.events.length;
      for (const spec of SPECS) obs.added.push(await rig.add(spec, 'loop-check'));
      obs.t0 = performance.now();
      const activity = (async () => {
        obs.quarantine = await attempt(events.waitFor('loop-check quarantined', (e) => e.type === 'class-quarantined' && e.checker === 'loop-check', 15_000, from));
        if (obs.quarantine.ok) {
          obs.quarantinedAt = events.arrivals[events.events.indexOf(obs.quarantine.value)]!;
          // Let the paths show it.
          await attempt(waitUntil('loop-check paths wild', async () => (await d.paths()).filter((r) => SPECS.includes(r.device)).every((r) => r.state === 'wild'), SHOWS_QUARANTINE_MS));
        }
        obs.pathsSeen = await d.paths();
        obs.checkersSeen = await d.checkers();
        writeFileSync(join(rig.dir, 'loop-check.wasm'), fixedVersion('loop-check'));
        obs.reload = await attempt(d.request('reload checker', { name: 'loop-check' }, 15_000));
        if (obs.reload.ok) obs.reloadUp = await attempt(waitUntil('loop-check paths up after the reload', async () => (await d.paths()).filter((r) => SPECS.includes(r.device)).every((r) => r.state === 'up'), 6000));
      })();
      obs.live = await staysResponsive(d, activity, HEALTHY, { maxMs: 45_000 });
      await activity;
      for (const spec of SPECS) obs.dels.push(await rig.del(spec));
      obs.rows = await rig.settled(['loop-check'], 8000);
      obs.fds = await rig.fdsBack();
      const before = liveness(obs.live, obs.quarantinedAt);
      REPORT.phaseL1 = {
        quarantinedAfterMs: Number.isFinite(obs.quarantinedAt) ? Math.round(obs.quarantinedAt - obs.t0) : null,
        reason: obs.quarantine?.ok ? obs.quarantine.value.reason : errorOf(obs.quarantine),
        beforeQuarantine: before,
        whole: liveness(obs.live),
        fds: obs.fds,
      };
    }, 90_000);

    it('while the looping class is not yet quarantined it takes at most its fair share: healthy p99 age <= 1100 ms, worst < 2500 ms', () => {
      for (const o of obs.added) expect.soft(o.ok ? 'added' : o.error, 'add path').toBe('added');
      expectLive(liveness(obs.live!, obs.quarantinedAt), 'loop-check, before quarantine');
    });

    it('its paths time out or overrun (never down, never internal error), until 5 strikes within 60 s quarantine the class', () => {
      for (const spec of SPECS) {
        const first = firstChange(rig, spec);
        expect.soft(first?.to, `${spec}: first state change`).toBe('timeout');
        expect.soft(first?.message, `${spec}: first message`).toMatch(overrun('loop-check'));
        expect.soft(
          rig.stateChanges(spec).filter((e) => e.to === 'down' || NOT_A_CRASH.test(String(e.message))).map((e) => `${e.to}: ${e.message}`),
          spec,
        ).toEqual([]);
      }
      expect.soft(obs.quarantine?.ok ? obs.quarantine.value : errorOf(obs.quarantine), 'class-quarantined').toMatchObject({ type: 'class-quarantined', checker: 'loop-check', version: 1, reason: expect.any(String) });
      for (const spec of SPECS) {
        const row = obs.pathsSeen.find((r) => r.device === spec);
        expect.soft(row?.state, `${spec}: state once quarantined`).toBe('wild');
        expect.soft(row?.message, `${spec}: message`).toMatch(/^loop-check checker quarantined: /);
      }
      expect.soft(obs.checkersSeen.find((c) => c.name === 'loop-check' && c.version === 1)?.state, 'show checkers').toBe('quarantined');
    });

    it('reload checker of a fixed version lifts it: the paths go up', () => {
      expect.soft(obs.reload?.ok ? obs.reload.value : errorOf(obs.reload)).toEqual({ checker: 'loop-check', version: 2 });
      expect.soft(obs.reloadUp?.ok ? 'up' : errorOf(obs.reloadUp)).toBe('up');
    });

    it('throughout (reload included): show paths within 100 ms, healthy paths on time', () => {
      expectLive(liveness(obs.live!), 'loop-check, whole phase', false);
    });

    it('after del path: refcount 1 (the old version gone), contexts 0, inFlight 0; no fd leak', () => {
      for (const o of obs.dels) expect.soft(o.ok ? 'removed' : o.error, 'del path').toBe('removed');
      expectSettled(obs.rows);
      expectFdsBack(obs.fds!, 'loop-check');
    });
  });

  // ---------------------------------------------------------------- phase R
  describe('a reconfigure that removes every path', () => {
    const obs = {
      before: [] as CheckerRow[],
      pathsBefore: [] as string[],
      reconfigure: undefined as Outcome<unknown> | undefined,
      gone: undefined as Outcome<unknown> | undefined,
      after: [] as CheckerRow[],
      paths: [] as PathRow[],
      live: undefined as Responsiveness | undefined,
      fds: undefined as Awaited<ReturnType<Rig['fdsBack']>> | undefined,
      from: 0,
    };

    beforeAll(async () => {
      const { d, events } = rig;
      obs.before = await d.checkers();
      obs.pathsBefore = (await d.paths()).map((p) => p.device);
      obs.from = events.events.length;
      d.writeConfig({ ...rig.conf, paths: [] });
      const activity = (async () => {
        obs.reconfigure = await attempt(d.request('reconfigure', {}, 15_000));
        obs.gone = await attempt(waitUntil('every class unloaded', async () => (await d.checkers()).length === 0, 8000));
      })();
      obs.live = await staysResponsive(d, activity, [], { maxMs: 30_000 });
      await activity;
      obs.after = await d.checkers();
      obs.paths = await d.paths();
      obs.fds = await rig.fdsBack();
      REPORT.phaseR = { classesBefore: obs.before.map((c) => `${c.name} v${c.version}`), after: obs.after.map(rowLine), fds: obs.fds, live: liveness(obs.live) };
    }, 60_000);

    it('only the configured paths were left, and the reconfigure removes all of them', () => {
      expect.soft([...obs.pathsBefore].sort()).toEqual([...HEALTHY, CFG_TRAP_FREE.device].sort());
      expect.soft(obs.reconfigure?.ok ? obs.reconfigure.value : errorOf(obs.reconfigure)).toMatchObject({ type: 'reconfigured', added: 0, removed: HEALTHY.length + 1 });
      expect.soft(obs.paths).toEqual([]);
    });

    it('every class unloads: a class-unloaded event for each, show checkers empty', () => {
      const unloaded = rig.events.events.slice(obs.from).filter((e) => e.type === 'class-unloaded').map((e) => `${e.checker} v${e.version}`);
      expect.soft(unloaded.sort(), 'class-unloaded events').toEqual(obs.before.map((c) => `${c.name} v${c.version}`).sort());
      expect.soft(obs.after.map(rowLine), 'show checkers').toEqual([]);
    });

    it("the configured path's trapping pc_free does not stop it: a call-failed event", () => {
      expect.soft(
        rig.events.events.slice(obs.from).filter((e) => e.type === 'call-failed' && e.checker === 'trap-free-cfg').map((e) => e.message),
      ).toContainEqual(expect.stringContaining('pc_free trapped: unreachable'));
    });

    it('show paths within 100 ms throughout; no fd leak; RSS bounded over the whole run', () => {
      expectLive(liveness(obs.live!), 'reconfigure', false);
      expectFdsBack(obs.fds!, 'after the reconfigure');
      expect.soft(rig.rssMax - rig.rssBaseline, 'daemon RSS growth over the run, bytes').toBeLessThan(RSS_GROWTH);
    });
  });
});

// ================================================================ daemon 2: 8 workers

describe('pathcheckd with 8 workers next to plugins that spin in every export', () => {
  let rig: Rig;
  const WORKERS = 8;

  beforeAll(async () => {
    rig = await Rig.start({ workers: WORKERS, ...TIMING, checkerDir: checkerDir(), paths: HEALTHY });
  }, 30_000);

  afterAll(async () => {
    REPORT.daemon2 = { fdBaseline: rig?.fdBaseline, rssBaselineMiB: rig && Math.round(rig.rssBaseline / 2 ** 20), rssMaxMiB: rig && Math.round(rig.rssMax / 2 ** 20) };
    await rig?.stop();
  });

  // ---------------------------------------------------------------- phase X
  describe('loops, busy-waits and atomic waits in the metadata exports and pc_init, one load after another', () => {
    const METADATA = Object.values(HOSTILE_PLUGINS).filter((f) => f.stage === 'metadata').map((f) => f.name);
    const INITS = SPINS.map((s) => `${s}-init`);
    const obs = {
      adds: new Map<string, Outcome<unknown>>(),
      live: undefined as Responsiveness | undefined,
      checkers: [] as CheckerRow[],
      rows: new Map<string, string[]>(),
      fds: undefined as Awaited<ReturnType<Rig['fdsBack']>> | undefined,
      replaced: 0,
    };

    beforeAll(async () => {
      const { d } = rig;
      const replacedBefore = (await d.stats()).pool.replaced;
      const activity = (async () => {
        for (const n of [...METADATA, ...INITS]) obs.adds.set(n, await rig.add(simOk(n), n));
      })();
      obs.live = await staysResponsive(d, activity, HEALTHY, { maxMs: 60_000 });
      await activity;
      obs.checkers = await d.checkers();
      obs.rows = await rig.settled(INITS, STUCK_MS + 5000);
      obs.fds = await rig.fdsBack(STUCK_MS + 5000);
      obs.replaced = (await d.stats()).pool.replaced - replacedBefore;
      REPORT.phaseX = { loads: obs.adds.size, slowestMs: Math.round(Math.max(...[...obs.adds.values()].map((o) => o.ms))), replaced: obs.replaced, live: liveness(obs.live), fds: obs.fds };
    }, 90_000);

    it('a spin in any metadata export fails the load with one line, in about the deadline; nothing is loaded', () => {
      expect.soft(METADATA.length).toBe(17);
      for (const n of METADATA) {
        const o = obs.adds.get(n);
        expect.soft(errorOf(o), n).toBe(`${join(rig.dir, `${n}.wasm`)}: reading its metadata exports did not return within ${CALL_MS} ms`);
        expect.soft(o?.ms ?? Infinity, `${n}: add path latency, ms`).toBeLessThan(CALL_MS + 1500);
        expect.soft(obs.checkers.map((c) => c.name), n).not.toContain(n);
      }
    });

    it('a spin in pc_init fails add path with one line; then contexts 0, refcount 1', () => {
      for (const n of INITS) {
        expect.soft(errorOf(obs.adds.get(n)), n).toBe(`${simOk(n)}: ${n} checker pc_init did not return within ${CALL_MS} ms`);
      }
      expectSettled(obs.rows);
      for (const n of INITS) expect.soft(obs.rows.get(n), n).toHaveLength(1);
    });

    it('every spinning worker is terminated and replaced; the pool is back to its size; no fd leak', () => {
      expect.soft(obs.replaced, 'workers replaced').toBeGreaterThanOrEqual(METADATA.length + INITS.length);
      expectFdsBack(obs.fds!, 'after the spinning loads');
    });

    it('throughout: show paths within 100 ms, healthy paths on time', () => {
      expectLive(liveness(obs.live!), 'spinning loads');
    });
  });

  // ---------------------------------------------------------------- phase L2
  describe('busy-waits and atomic waits in pc_check, loops, busy-waits and atomic waits in pc_pending (2 paths each)', () => {
    const CLASSES = ['busy-check', 'wait32-check', ...SPINS.map((s) => `${s}-pending`)];
    const specs = (n: string) => [0, 1].map((i) => (n.endsWith('-pending') ? `sim:slow?latency=20&id=${n}-${i}` : simOk(`${n}-${i}`)));
    const obs = {
      ...quarantineObservations(),
      quarantined: undefined as Outcome<unknown> | undefined,
      lastQuarantineAt: Infinity,
      firstQuarantineAt: Infinity,
    };

    beforeAll(async () => {
      const { d, events } = rig;
      for (const n of CLASSES) for (const spec of specs(n)) obs.added.push(await rig.add(spec, n));
      obs.t0 = performance.now();
      const activity = (async () => {
        obs.quarantined = await attempt(waitUntil('every spinning class quarantined', () => CLASSES.every((n) => rig.quarantineOf(n) !== undefined), 18_000, 100));
        // Let the paths of the quarantined classes show it.
        const shown = CLASSES.filter((n) => rig.quarantineOf(n) !== undefined).flatMap(specs);
        if (shown.length > 0) await attempt(waitUntil('their paths wild', async () => (await d.paths()).filter((r) => shown.includes(r.device)).every((r) => r.state === 'wild'), SHOWS_QUARANTINE_MS));
        obs.pathsSeen = await d.paths();
        obs.checkersSeen = await d.checkers();
      })();
      obs.live = await staysResponsive(d, activity, HEALTHY, { maxMs: 40_000 });
      await activity;
      const at = CLASSES.map((n) => rig.quarantineOf(n)).map((e) => (e === undefined ? Infinity : events.arrivals[events.events.indexOf(e)]!));
      obs.firstQuarantineAt = Math.min(...at);
      obs.lastQuarantineAt = Math.max(...at);
      for (const n of CLASSES) for (const spec of specs(n)) obs.dels.push(await rig.del(spec));
      obs.rows = await rig.settled(CLASSES, STUCK_MS + 5000);
      obs.fds = await rig.fdsBack(STUCK_MS + 5000);
      REPORT.phaseL2 = {
        quarantinedAfterMs: Object.fromEntries(CLASSES.map((n, i) => [n, Number.isFinite(at[i]!) ? Math.round(at[i]! - obs.t0) : null])),
        reasons: Object.fromEntries(CLASSES.map((n) => [n, rig.quarantineOf(n)?.reason ?? null])),
        beforeFirstQuarantine: liveness(obs.live, obs.firstQuarantineAt),
        whole: liveness(obs.live),
        fds: obs.fds,
      };
    }, 90_000);

    it('each path times out or overruns first (never down, never internal error)', () => {
      for (const o of obs.added) expect.soft(o.ok ? 'added' : o.error, 'add path').toBe('added');
      for (const n of CLASSES) {
        for (const spec of specs(n)) {
          const first = firstChange(rig, spec);
          expect.soft(first?.to, `${spec}: first state change`).toBe('timeout');
          expect.soft(first?.message, `${spec}: first message`).toMatch(overrun(n));
          expect.soft(
            rig.stateChanges(spec).filter((e) => e.to === 'down' || NOT_A_CRASH.test(String(e.message))).map((e) => `${e.to}: ${e.message}`),
            spec,
          ).toEqual([]);
        }
      }
    });

    it('each class gets 5 strikes and is quarantined: wild, class-quarantined, show checkers quarantined', () => {
      for (const n of CLASSES) {
        expect.soft(rig.quarantineOf(n), `${n}: class-quarantined`).toMatchObject({ type: 'class-quarantined', checker: n, version: 1, reason: expect.any(String) });
        for (const spec of specs(n)) {
          const row = obs.pathsSeen.find((r) => r.device === spec);
          expect.soft(row?.state, `${spec}: state`).toBe('wild');
          expect.soft(row?.message, `${spec}: message`).toMatch(new RegExp(`^${n} checker quarantined: `));
        }
        expect.soft(obs.checkersSeen.find((c) => c.name === n)?.state, `${n}: show checkers`).toBe('quarantined');
      }
    });

    it('throughout: show paths within 100 ms, healthy paths on time (each spinning class within its fair share)', () => {
      expectLive(liveness(obs.live!), 'spinning checks');
    });

    it('after del path: refcount 1, contexts 0, inFlight 0; no fd leak', () => {
      for (const o of obs.dels) expect.soft(o.ok ? 'removed' : o.error, 'del path').toBe('removed');
      expectSettled(obs.rows);
      expectFdsBack(obs.fds!, 'after the spinning checks');
    });
  });
});
