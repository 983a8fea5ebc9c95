// The worker pool against its limits, in one run on this machine, against the built dist/:
//   1. in-thread: checks/s of tur on sim:ok called on the main thread (bench/in-thread.mjs);
//   2. pool: checks/s through a CheckHost of 2 workers, P paths each re-checked as soon as its
//      check resolves, counted over a fixed window after a warm-up;
//   3. piscina: the same check as one piscina task per check (bench/piscina-task.mjs), 2 threads,
//      same concurrency, same window;
//   4. dispatch-to-result latency of one path checked sequentially on an otherwise idle pool;
//   5. memory per bound path (class memory, and main-thread heap after gc);
//   6. time from the last release of an unloaded class to the registry's 'unloaded' event;
//   7. the corruption check's cost per plugin call (bench/guard-cost.mjs);
//   8. RSS over hot reloads of a busy class (bench/reload-rss.mjs `hot`; `--reload-cycles N`, default
//      10,000).
// A benchmark, not a test: it reports targets as met / not met and never fails on them.
// Run with `npm run bench:pool` (builds, then node --expose-gc). `--only <part>[,<part>]` runs
// some parts only (in-thread, pool, piscina, latency, memory, unload, guard, reload), e.g. for node --cpu-prof.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { openDevice } from '../dist/host/backends/device-spec.js';
import { CHECKERS_DIR, PACKAGE_ROOT } from '../dist/host/cli/package-paths.js';
import { CheckHost } from '../dist/host/registry/check-host.js';
import { measureInThread } from './in-thread.mjs';
import { measureGuardCost } from './guard-cost.mjs';
import { runLanes } from './daemon-harness.mjs';
import { measureReloadRss, summaryLine } from './reload-rss.mjs';

const CHECKER = 'tur';
const SPEC = 'sim:ok';
const TIMEOUT_MS = 30_000;
const WORKERS = 2;
const PATHS = [64, 512];
const WARM_MS = 500;
const MEASURE_MS = 3000;
/** Past the window, how long in-flight checks may take to come back before the run moves on. */
const DRAIN_GRACE_MS = 10_000;
/** Bound on checks one path may be asked for in one window, whatever the clock says. */
const MAX_CHECKS_PER_PATH = 2_000_000;
const LATENCY_WARM = 500;
const LATENCY_CHECKS = 2000;
const MEMORY_PATHS = 16_384;
const UNLOAD_PATHS = 100;
const RELOAD_CYCLES = 10_000;

const TARGETS = { poolVsInThread: 0.5, poolVsPiscina: 30, idleP99Ms: 1 };

const reloadCycles = (() => {
  const i = process.argv.indexOf('--reload-cycles');
  return i < 0 ? RELOAD_CYCLES : Number(process.argv[i + 1]);
})();

const only = (() => {
  const i = process.argv.indexOf('--only');
  return i < 0 ? null : new Set(process.argv[i + 1]?.split(',') ?? []);
})();
const wanted = (part) => only === null || only.has(part);

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves to 'timed-out' after ms unless cancelled; the timer never keeps the process up. */
function guard(ms) {
  let timer;
  const p = new Promise((r) => {
    timer = setTimeout(() => r('timed-out'), ms);
    timer.unref();
  });
  return { p, cancel: () => clearTimeout(timer) };
}

async function collectGarbage() {
  if (typeof globalThis.gc !== 'function') return false;
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await sleep(20);
  }
  return true;
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Keep `paths` checks in flight: lane i checks path i, and checks it again as soon as the check
 * resolves. Completions that land in [warm-up end, window end) are counted; lanes stop asking at
 * the window's end and the run waits (bounded) for what is still in flight.
 */
async function drive(paths, checkOnce) {
  let counted = 0;
  let notUp = 0;
  let lastBad = null;
  const completed = (r, inWindow) => {
    if (!inWindow) return;
    counted++;
    // piscina tasks return the state name, the runner a CheckResult.
    const state = typeof r === 'string' ? r : r.state;
    if (state !== 'up') {
      notUp++;
      lastBad = typeof r === 'string' ? r : `${r.state}: ${r.message}`;
    }
  };
  const g = guard(WARM_MS + MEASURE_MS + DRAIN_GRACE_MS);
  const lanes = runLanes({ lanes: paths, warmMs: WARM_MS, measureMs: MEASURE_MS, maxPerLane: MAX_CHECKS_PER_PATH, once: checkOnce, completed });
  const how = await Promise.race([lanes.then(() => 'done'), g.p]);
  g.cancel();
  return {
    paths,
    checks: counted,
    seconds: MEASURE_MS / 1000,
    checksPerSec: Math.round(counted / (MEASURE_MS / 1000)),
    notUp,
    ...(lastBad !== null && { lastNotUp: lastBad }),
    ...(how !== 'done' && { drained: false }),
  };
}

async function withHost(fn) {
  const host = new CheckHost({ size: WORKERS });
  try {
    await host.registry.load(join(CHECKERS_DIR, `${CHECKER}.wasm`));
    return await fn(host);
  } finally {
    await host.close();
  }
}

async function poolThroughput(paths) {
  return withHost(async (host) => {
    const checkers = await Promise.all(Array.from({ length: paths }, () => host.registry.bind(CHECKER, openDevice(SPEC))));
    const r = await drive(paths, (i) => host.runner.check(checkers[i], TIMEOUT_MS));
    const stats = host.pool.stats();
    for (const c of checkers) if (c.bound && !c.running) host.registry.unbind(c);
    return { ...r, replaced: stats.replaced, leftInFlight: stats.inFlight };
  });
}

async function piscinaThroughput(piscina, paths) {
  return drive(paths, () => piscina.run(null));
}

async function idleLatency() {
  return withHost(async (host) => {
    const checker = await host.registry.bind(CHECKER, openDevice(SPEC));
    for (let i = 0; i < LATENCY_WARM; i++) await host.runner.check(checker, TIMEOUT_MS);
    const ms = [];
    let notUp = 0;
    const g = guard(60_000);
    let timedOut = false;
    void g.p.then((x) => (timedOut = x === 'timed-out'));
    for (let i = 0; i < LATENCY_CHECKS && !timedOut; i++) {
      const t = performance.now();
      const res = await host.runner.check(checker, TIMEOUT_MS);
      ms.push(performance.now() - t);
      if (res.state !== 'up') notUp++;
    }
    g.cancel();
    host.registry.unbind(checker);
    ms.sort((a, b) => a - b);
    return { checks: ms.length, p50Ms: quantile(ms, 0.5), p99Ms: quantile(ms, 0.99), maxMs: ms[ms.length - 1], meanMs: ms.reduce((a, b) => a + b, 0) / ms.length, notUp };
  });
}

async function memoryPerPath() {
  return withHost(async (host) => {
    const cls = host.registry.current(CHECKER);
    // Let both workers make their instance first, so the baseline has everything but the paths.
    const firsts = await Promise.all([0, 1].map(() => host.registry.bind(CHECKER, openDevice(SPEC))));
    await Promise.all(firsts.map((c) => host.runner.check(c, TIMEOUT_MS)));
    for (const c of firsts) host.registry.unbind(c);
    const gc = await collectGarbage();
    const before = { ...process.memoryUsage(), classBytes: cls.memoryBytes };
    const t = performance.now();
    const checkers = [];
    for (let i = 0; i < MEMORY_PATHS; i++) checkers.push(await host.registry.bind(CHECKER, openDevice(`${SPEC}?id=m${i}`)));
    const bindMs = performance.now() - t;
    // Workers attach each device as they drain their control ports; give them a moment.
    await host.runner.check(checkers[MEMORY_PATHS - 1], TIMEOUT_MS);
    await sleep(200);
    await collectGarbage();
    const after = { ...process.memoryUsage(), classBytes: cls.memoryBytes };
    const grow = (k) => after[k] - before[k];
    const result = {
      paths: MEMORY_PATHS,
      gcExposed: gc,
      bytesPerPath: (grow('classBytes') + grow('heapUsed')) / MEMORY_PATHS,
      classBytesPerPath: grow('classBytes') / MEMORY_PATHS,
      heapUsedBytesPerPath: grow('heapUsed') / MEMORY_PATHS,
      arrayBuffersBytesPerPath: grow('arrayBuffers') / MEMORY_PATHS,
      rssBytesPerPath: grow('rss') / MEMORY_PATHS,
      bindUsPerPath: (bindMs * 1000) / MEMORY_PATHS,
    };
    for (const c of checkers) host.registry.unbind(c);
    return result;
  });
}

async function unloadTime() {
  return withHost(async (host) => {
    const reg = host.registry;
    const checkers = await Promise.all(Array.from({ length: UNLOAD_PATHS }, () => reg.bind(CHECKER, openDevice(SPEC))));
    const results = await Promise.all(checkers.map((c) => host.runner.check(c, TIMEOUT_MS)));
    let unloadedAt = null;
    let releasedAt = null;
    reg.on('event', (e) => {
      if (e.type === 'unloaded' && e.name === CHECKER) unloadedAt = performance.now();
      if (e.type === 'released' && e.name === CHECKER) releasedAt = performance.now();
    });
    reg.unload(CHECKER);
    for (let i = 0; i < checkers.length - 1; i++) reg.unbind(checkers[i]);
    const t0 = performance.now();
    reg.unbind(checkers[checkers.length - 1]);
    const t1 = performance.now();
    for (let i = 0; i < 100 && (unloadedAt === null || releasedAt === null); i++) await sleep(10);
    return {
      paths: UNLOAD_PATHS,
      checksUp: results.filter((r) => r.state === 'up').length,
      lastUnbindToUnloadedMs: unloadedAt === null ? null : unloadedAt - t0,
      lastUnbindCallMs: t1 - t0,
      synchronous: unloadedAt !== null && unloadedAt <= t1,
      lastUnbindToReleasedMs: releasedAt === null ? null : releasedAt - t0,
    };
  });
}

function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return digits === 0 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits);
}

function verdict(ok) {
  return ok ? 'met' : 'NOT met';
}

async function main() {
  const out = { date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', workers: WORKERS, checker: CHECKER, device: SPEC, warmMs: WARM_MS, measureMs: MEASURE_MS };

  if (wanted('in-thread')) out.inThread = await measureInThread(CHECKER, SPEC, MEASURE_MS / 1000);

  if (wanted('pool')) {
    out.pool = [];
    for (const p of PATHS) out.pool.push(await poolThroughput(p));
  }

  if (wanted('piscina')) {
    const piscina = new Piscina({ filename: fileURLToPath(new URL('./piscina-task.mjs', import.meta.url)), minThreads: WORKERS, maxThreads: WORKERS });
    try {
      // Both threads up, tur loaded and the device bound in each, before any window starts.
      await Promise.all(Array.from({ length: 200 }, () => piscina.run(null)));
      out.piscina = [];
      for (const p of PATHS) out.piscina.push(await piscinaThroughput(piscina, p));
    } finally {
      await piscina.destroy();
    }
  }

  if (wanted('latency')) out.idleLatency = await idleLatency();
  if (wanted('memory')) out.memory = await memoryPerPath();
  if (wanted('unload')) out.unload = await unloadTime();
  if (wanted('guard')) out.guard = measureGuardCost();
  if (wanted('reload')) [out.reload] = await measureReloadRss({ parts: ['hot'], cycles: reloadCycles });

  // Ratios and targets, per P.
  const targets = [];
  for (const p of PATHS) {
    const pool = out.pool?.find((r) => r.paths === p);
    const pis = out.piscina?.find((r) => r.paths === p);
    if (pool !== undefined && out.inThread !== undefined) {
      const ratio = pool.checksPerSec / out.inThread.checksPerSec;
      targets.push({ target: `pool >= ${TARGETS.poolVsInThread * 100}% of in-thread (P=${p})`, value: ratio, met: ratio >= TARGETS.poolVsInThread });
    }
    if (pool !== undefined && pis !== undefined) {
      const ratio = pool.checksPerSec / pis.checksPerSec;
      targets.push({ target: `pool >= ${TARGETS.poolVsPiscina}x piscina (P=${p})`, value: ratio, met: ratio >= TARGETS.poolVsPiscina });
    }
  }
  if (out.idleLatency !== undefined) targets.push({ target: `idle p99 latency < ${TARGETS.idleP99Ms} ms`, value: out.idleLatency.p99Ms, met: out.idleLatency.p99Ms < TARGETS.idleP99Ms });
  out.targets = targets;

  console.log(`pathcheck pool benchmark: ${CHECKER} on ${SPEC}, ${WORKERS} workers, node ${process.version}, ${out.cpus} cores (${out.cpuModel})`);
  console.log(`throughput: ${WARM_MS} ms warm-up, then completions counted over ${MEASURE_MS} ms; every path re-checked as soon as its check resolves`);
  console.log('');
  console.log('what                              checks/s   us/check  vs in-thread  pool/piscina');
  if (out.inThread) console.log(`${'in-thread (main thread)'.padEnd(30)} ${fmt(out.inThread.checksPerSec).padStart(11)} ${fmt(out.inThread.usPerCheck, 2).padStart(10)}  ${'1.00'.padStart(12)}`);
  for (const p of PATHS) {
    const pool = out.pool?.find((r) => r.paths === p);
    const pis = out.piscina?.find((r) => r.paths === p);
    const vs = (r) => (out.inThread ? (r.checksPerSec / out.inThread.checksPerSec).toFixed(2) : 'n/a');
    if (pool) console.log(`${`pool, P=${p}`.padEnd(30)} ${fmt(pool.checksPerSec).padStart(11)} ${fmt(1e6 / pool.checksPerSec, 2).padStart(10)}  ${vs(pool).padStart(12)}  ${(pis ? (pool.checksPerSec / pis.checksPerSec).toFixed(1) + 'x' : 'n/a').padStart(12)}${pool.notUp ? `  (${pool.notUp} not up, last: ${pool.lastNotUp})` : ''}`);
    if (pis) console.log(`${`piscina, P=${p}`.padEnd(30)} ${fmt(pis.checksPerSec).padStart(11)} ${fmt(1e6 / pis.checksPerSec, 2).padStart(10)}  ${vs(pis).padStart(12)}${pis.notUp ? `  (${pis.notUp} not up, last: ${pis.lastNotUp})` : ''}`);
  }
  if (out.idleLatency) {
    const l = out.idleLatency;
    console.log('');
    console.log(`idle dispatch-to-result latency (${l.checks} sequential checks, one path): p50 ${fmt(l.p50Ms, 3)} ms  p99 ${fmt(l.p99Ms, 3)} ms  max ${fmt(l.maxMs, 3)} ms`);
  }
  if (out.memory) {
    const m = out.memory;
    console.log(`memory per bound path (${m.paths} paths): ${fmt(m.bytesPerPath)} B (class memory ${fmt(m.classBytesPerPath)} B + main heapUsed ${fmt(m.heapUsedBytesPerPath)} B${m.gcExposed ? ', after gc' : ', NO gc exposed'}); besides: arrayBuffers ${fmt(m.arrayBuffersBytesPerPath)} B, rss ${fmt(m.rssBytesPerPath)} B; bind ${fmt(m.bindUsPerPath, 1)} us/path`);
  }
  if (out.unload) {
    const u = out.unload;
    console.log(`last unbind -> 'unloaded' (${u.paths} paths, one check each, class unloaded first): ${fmt(u.lastUnbindToUnloadedMs, 3)} ms (${u.synchronous ? 'synchronous, inside the unbind call' : 'asynchronous'}); -> 'released' (every worker acknowledged dropping its instance): ${fmt(u.lastUnbindToReleasedMs, 3)} ms`);
  }
  if (out.guard) {
    const pool = out.pool?.at(-1);
    const perCheckNs = pool === undefined ? null : 1e9 / pool.checksPerSec;
    const rows = out.guard.map((g) => `${fmt(g.ctxBytes)} B ctx ${fmt(g.nsPerCall)} ns`).join(', ');
    const tur = out.guard[0];
    console.log(`corruption check per call (checksum before, guards and checksum after): ${rows}${perCheckNs === null ? '' : `; a ${tur.ctxBytes} B context costs ${fmt((100 * tur.nsPerCall) / (perCheckNs * WORKERS), 1)}% of a worker's time per check at the pool's rate above`}`);
  }
  if (out.reload) {
    const start = out.reload.samples.find((s) => s.label === 'start').rss;
    const end = out.reload.samples.find((s) => s.label === 'end').rss;
    console.log(`reload RSS, ${summaryLine(out.reload)}; end - start ${fmt((end - start) / 1048576, 1)} MiB`);
  }
  if (targets.length > 0) {
    console.log('');
    console.log('targets');
    for (const t of targets) console.log(`  ${t.target.padEnd(40)} ${(t.target.startsWith('idle') ? `${t.value.toFixed(3)} ms` : t.target.includes('piscina') ? `${t.value.toFixed(1)}x` : `${(t.value * 100).toFixed(0)}%`).padStart(9)}  ${verdict(t.met)}`);
  }

  if (only === null) {
    mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
    const file = join(PACKAGE_ROOT, 'bench', 'results', 'pool.json');
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    console.log(`\nwrote ${file}`);
  }
}

await main();
