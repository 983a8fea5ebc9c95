// pathcheckd at scale with hung devices, measured from outside, against the built dist/. For each
// configuration (default: 16,384 paths with every 20th hung, then 1,024 paths with every 2nd hung):
//   1. start the real daemon (node dist/host/cli/pathcheckd.js, default worker count) with N sim
//      paths, `sim:hang` every K-th and `sim:ok` the rest, checker tur, polling_interval 1 =
//      max_polling_interval, checker_timeout 5;
//   2. wait until every healthy path has been checked and every hung one is `timeout`/`pending`
//      (at most SETTLE_MAX_MS), then SETTLE_MARGIN_MS more;
//   3. sample for WINDOW_MS, about once a second: `show paths` (the healthy paths' states and the age
//      of their last check; the request's latency), the daemon's CPU (all threads, /proc/<pid>/stat)
//      and RSS (/proc/<pid>/status); `show stats` at both ends; then a few more `show paths` for
//      latency;
//   4. stop the daemon (the `shutdown` verb, SIGKILL after STOP_TIMEOUT_MS) and remove its temp dir.
// Prints the figures against the targets, writes bench/results/scale.json. A benchmark, not a test:
// it exits 0 whether or not the targets are met, non-zero only when it could not run. Every loop is
// bounded by a count and by time. Linux only (/proc).
// Run with `npm run bench:scale` (builds first); `-- --help` for the options.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { confText, ControlClient, cpuPercent, cpuReading, fmt, machineInfo, mib, printTable, requireLinux, rssBytes, sleep, startDaemon, stopDaemon, summary, waitReady, warnings, writeResult } from './daemon-harness.mjs';

const POLLING_INTERVAL = 1;
const MAX_POLLING_INTERVAL = 1;
const CHECKER_TIMEOUT = 5;
const CHECKER = 'tur';
const DEFAULT_RUNS = [
  { paths: 16_384, hungEvery: 20 },
  { paths: 1_024, hungEvery: 2 },
];
const DEFAULT_WINDOW_S = 20;
const SETTLE_MAX_MS = 60_000;
const DEFAULT_SETTLE_MARGIN_S = 5;
const SAMPLE_EVERY_MS = 1000;
/** Latency measurements of `show paths` wanted at least (the window's samples, then extra requests). */
const MIN_LATENCIES = 20;
const MIN_EXTRA_REQUESTS = 3;
const MAX_EXTRA_REQUESTS = 40;
const EXTRA_MAX_MS = 60_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** After the window: the daemon's CPU with no requests at all, for at most this long (not a target). */
const QUIET_MAX_MS = 10_000;
const STOP_TIMEOUT_MS = 20_000;
/** Start-up bound: binding many paths takes a while. */
const startTimeoutMs = (paths) => 30_000 + 6 * paths;

const TARGETS = {
  healthyUpThroughout: true,
  ageP99Seconds: 1.1,
  ageMaxSeconds: 2,
  checksPerDueRatio: 0.99,
  cpuPercentOfOneCore: 15,
  showPathsMaxMs: 500,
};

const DEFINITIONS = {
  healthy: 'the sim:ok paths; the sim:hang ones are "hung"',
  dueChecksPerSec: `healthy paths / polling_interval (${POLLING_INTERVAL} s): hung paths are not counted as due`,
  healthyChecksPerSec:
    "sum over the healthy paths of (its `checks` at the last sample - at the first, from show paths) / max(time between its lastCheck at the first and at the last sample, the time between those samples - polling_interval): counting from check to check keeps the daemon's 1 s beat out of the figure, and a path that stalls is charged for the stall",
  statsChecksPerSec: '`show stats` `checks` counter (every check result of every path, hung ones included) over the time between two `show stats` at the ends of the window',
  lastCheckAge: "snapshot time - lastCheck for every healthy path at every sample; the snapshot time is the newest lastCheck in the answer, clamped to [request sent, answer received]; a path never checked counts from the daemon's start",
  cpuPercent: "utime + stime of the daemon process (all threads) over the window, % of one core; it includes answering the window's `show paths`",
  quietCpuPercent: 'the same after the window, over min(window, 10 s) with no requests: what checking alone costs',
  showPathsLatency: '`show paths` request sent -> answer parsed, on one open connection, window samples plus extra requests',
};

const USAGE = `usage: node bench/scale.mjs [--paths N [--hung-every K]] [--window S] [--settle S]
  (no options)      two runs: 16384 paths with every 20th hung, then 1024 paths with every 2nd hung
  --paths N         one run with N paths instead (1..65536)
  --hung-every K    with --paths: every K-th path is sim:hang (default 20; 0 = none)
  --window S        sampling window, seconds (default ${DEFAULT_WINDOW_S}; the targets are meant for >= 20)
  --settle S        margin after the daemon has settled, seconds (default ${DEFAULT_SETTLE_MARGIN_S})`;

class UsageError extends Error {}

function intOption(values, name, min, max) {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${v}'`);
  return n;
}

function options(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { paths: { type: 'string' }, 'hung-every': { type: 'string' }, window: { type: 'string' }, settle: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new UsageError(e.message);
  }
  const v = parsed.values;
  if (v.help) return null;
  const paths = intOption(v, 'paths', 1, 65_536);
  const hungEvery = intOption(v, 'hung-every', 0, 65_536);
  if (hungEvery !== undefined && paths === undefined) throw new UsageError('--hung-every goes with --paths');
  return {
    runs: paths === undefined ? DEFAULT_RUNS : [{ paths, hungEvery: hungEvery ?? 20 }],
    windowMs: (intOption(v, 'window', 1, 600) ?? DEFAULT_WINDOW_S) * 1000,
    settleMarginMs: (intOption(v, 'settle', 0, 120) ?? DEFAULT_SETTLE_MARGIN_S) * 1000,
  };
}

const isHung = (i, hungEvery) => hungEvery > 0 && (i + 1) % hungEvery === 0;

function devices({ paths, hungEvery }) {
  return Array.from({ length: paths }, (_, i) => `sim:${isHung(i, hungEvery) ? 'hang' : 'ok'}?id=p${String(i).padStart(5, '0')}`);
}

const hungSpec = (device) => device.startsWith('sim:hang');

/** One timed `show paths`: its rows, latency, and the daemon's (estimated) snapshot time. */
async function showPaths(client) {
  const sentWall = Date.now();
  const t0 = performance.now();
  const rows = await client.request('show paths', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const latencyMs = performance.now() - t0;
  const receivedWall = Date.now();
  let newest = -Infinity;
  for (const r of rows) {
    r.lastCheckMs = r.lastCheck === null ? null : Date.parse(r.lastCheck);
    if (r.lastCheckMs !== null && r.lastCheckMs > newest) newest = r.lastCheckMs;
  }
  return { rows, latencyMs, snapshotWall: Math.min(receivedWall, Math.max(sentWall, newest)) };
}

/** Wait until every healthy path has a check and every hung path is timeout/pending, at most SETTLE_MAX_MS. */
async function settle(client) {
  const t0 = performance.now();
  let last = { healthyUnchecked: NaN, hungNotTimedOut: NaN };
  for (let i = 0; i < SETTLE_MAX_MS / SAMPLE_EVERY_MS + 5 && performance.now() - t0 < SETTLE_MAX_MS; i++) {
    let rows;
    try {
      ({ rows } = await showPaths(client));
    } catch {
      await sleep(SAMPLE_EVERY_MS);
      continue;
    }
    let healthyUnchecked = 0;
    let hungNotTimedOut = 0;
    for (const r of rows) {
      if (!hungSpec(r.device)) healthyUnchecked += r.checks > 0 ? 0 : 1;
      else hungNotTimedOut += r.state === 'timeout' || r.state === 'pending' ? 0 : 1;
    }
    last = { healthyUnchecked, hungNotTimedOut };
    if (healthyUnchecked === 0 && hungNotTimedOut === 0) return { settled: true, ms: performance.now() - t0, ...last };
    await sleep(SAMPLE_EVERY_MS);
  }
  return { settled: false, ms: performance.now() - t0, ...last };
}

function countInto(counts, key) {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** The window: samples about once a second for `windowMs`. */
async function sampleWindow(d, client, run, windowMs, readyWall) {
  const pid = d.pid;
  const healthyCount = run.paths - run.hung;
  const stats0 = await client.request('show stats', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const statsT0 = performance.now();
  const cpu0 = cpuReading(pid);
  const t0 = performance.now();
  const samples = [];
  const ages = [];
  const latencies = [];
  const rss = [];
  /** state -> { maxPaths, samples } over all samples, healthy and hung paths apart. */
  const healthyStates = {};
  const hungStates = {};
  let healthyUpThroughout = true;
  let first = null;
  let last = null;
  let errors = 0;
  let lastError = null;
  let prevCpu = cpu0;
  const maxSamples = Math.ceil(windowMs / SAMPLE_EVERY_MS) + 5;
  for (let i = 0; i < maxSamples && performance.now() - t0 < windowMs; i++) {
    if (d.exitNow() !== null) throw new Error(`pathcheckd exited during the window (${JSON.stringify(d.exitNow())})`);
    // A random phase within each second: the daemon checks on a 1 s beat too, and samples locked
    // to one phase of it would see one age, not the spread.
    const due = t0 + (i + Math.random()) * SAMPLE_EVERY_MS;
    if (due > performance.now()) await sleep(due - performance.now());
    let snap;
    try {
      snap = await showPaths(client);
    } catch (e) {
      errors++;
      lastError = e.message;
      healthyUpThroughout = false;
      continue;
    }
    const cpu = cpuReading(pid);
    const rssNow = rssBytes(pid);
    latencies.push(snap.latencyMs);
    rss.push(rssNow);
    const hState = {};
    const gState = {};
    const sampleAges = [];
    let healthySeen = 0;
    for (const r of snap.rows) {
      if (hungSpec(r.device)) {
        countInto(gState, r.state);
        continue;
      }
      healthySeen++;
      countInto(hState, r.state);
      const age = (snap.snapshotWall - (r.lastCheckMs ?? readyWall)) / 1000;
      sampleAges.push(age);
      ages.push(age);
    }
    if (healthySeen !== healthyCount || (hState.up ?? 0) !== healthyCount) healthyUpThroughout = false;
    for (const [all, one] of [
      [healthyStates, hState],
      [hungStates, gState],
    ]) {
      for (const [state, n] of Object.entries(one)) {
        const e = (all[state] ??= { maxPaths: 0, samples: 0 });
        e.maxPaths = Math.max(e.maxPaths, n);
        e.samples++;
      }
    }
    const a = summary(sampleAges);
    samples.push({ atSeconds: (performance.now() - t0) / 1000, showPathsMs: snap.latencyMs, healthyByState: hState, hungByState: gState, ageSeconds: { p50: a.p50, p99: a.p99, max: a.max }, cpuPercent: cpuPercent(prevCpu, cpu), rssBytes: rssNow });
    prevCpu = cpu;
    const checks = new Map();
    for (const r of snap.rows) if (!hungSpec(r.device)) checks.set(r.device, { n: r.checks, at: r.lastCheckMs });
    if (first === null) first = { wall: snap.snapshotWall, checks };
    last = { wall: snap.snapshotWall, checks };
  }
  const cpu1 = cpuReading(pid);
  const stats1 = await client.request('show stats', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const statsSeconds = (performance.now() - statsT0) / 1000;

  let healthyChecks = 0;
  let healthyChecksPerSec = 0;
  const checkSeconds = first !== null && last !== first ? (last.wall - first.wall) / 1000 : NaN;
  if (Number.isFinite(checkSeconds)) {
    for (const [device, end] of last.checks) {
      const start = first.checks.get(device);
      if (start === undefined || start.at === null) continue;
      const n = end.n - start.n;
      const span = Math.max((end.at - start.at) / 1000, checkSeconds - POLLING_INTERVAL);
      healthyChecks += n;
      if (n > 0 && span > 0) healthyChecksPerSec += n / span;
    }
  } else {
    healthyChecksPerSec = NaN;
  }
  const dueChecksPerSec = healthyCount / POLLING_INTERVAL;
  const age = summary(ages);
  const r = summary(rss);
  return {
    seconds: (cpu1.t - cpu0.t) / 1000,
    samples: samples.length,
    sampleErrors: errors,
    lastSampleError: lastError,
    healthyUpThroughout: healthyUpThroughout && samples.length > 0,
    healthyStates,
    hungStates,
    lastCheckAgeSeconds: { p50: age.p50, p99: age.p99, max: age.max, values: age.n },
    dueChecksPerSec,
    healthyChecks,
    healthyChecksSeconds: checkSeconds,
    healthyChecksPerSec,
    checksPerDueRatio: healthyChecksPerSec / dueChecksPerSec,
    statsChecksPerSec: (stats1.checks - stats0.checks) / statsSeconds,
    statsChecksByStatePerSec: Object.fromEntries(Object.entries(stats1.checksByState).map(([k, v]) => [k, (v - (stats0.checksByState[k] ?? 0)) / statsSeconds])),
    cpuPercent: cpuPercent(cpu0, cpu1),
    cpuPercentPerSample: summary(samples.map((s) => s.cpuPercent).filter(Number.isFinite)),
    rssBytes: { avg: r.mean, max: r.max, min: r.min, samples: r.n },
    windowLatenciesMs: latencies,
    pool: stats1.pool,
    perSample: samples,
  };
}

/** Extra `show paths` after the window, so latency has at least MIN_LATENCIES measurements. */
async function extraLatencies(client, have) {
  const out = [];
  let errors = 0;
  const t0 = performance.now();
  for (let i = 0; i < MAX_EXTRA_REQUESTS && performance.now() - t0 < EXTRA_MAX_MS && (out.length < MIN_EXTRA_REQUESTS || have + out.length < MIN_LATENCIES); i++) {
    try {
      out.push((await showPaths(client)).latencyMs);
    } catch {
      errors++;
    }
    await sleep(100);
  }
  return { latencies: out, errors };
}

function met(run) {
  const w = run.window;
  const l = run.showPathsMs;
  return {
    healthyUpThroughout: w.healthyUpThroughout === TARGETS.healthyUpThroughout,
    ageP99: w.lastCheckAgeSeconds.p99 <= TARGETS.ageP99Seconds,
    ageMax: w.lastCheckAgeSeconds.max <= TARGETS.ageMaxSeconds,
    checksPerDue: w.checksPerDueRatio >= TARGETS.checksPerDueRatio,
    cpu: w.cpuPercent <= TARGETS.cpuPercentOfOneCore,
    showPaths: l.max <= TARGETS.showPathsMaxMs,
  };
}

async function runOne(spec, opts) {
  const devs = devices(spec);
  const hung = devs.filter(hungSpec).length;
  const run = { paths: spec.paths, hungEvery: spec.hungEvery, hung, healthy: spec.paths - hung, label: `${fmt(spec.paths)} paths, ${fmt((hung / spec.paths) * 100, 0)}% hung` };
  const config = confText(`bench/scale.mjs: ${run.label}`, { polling_interval: POLLING_INTERVAL, max_polling_interval: MAX_POLLING_INTERVAL, checker_timeout: CHECKER_TIMEOUT, path_checker: CHECKER }, devs);
  run.configBytes = Buffer.byteLength(config);
  const d = startDaemon(config);
  let client = null;
  try {
    run.startMs = await waitReady(d, startTimeoutMs(spec.paths));
    const readyWall = Date.now();
    run.rssAtStartBytes = rssBytes(d.pid);
    client = await ControlClient.connect(d.socket, { timeoutMs: REQUEST_TIMEOUT_MS });
    run.settle = await settle(client);
    await sleep(opts.settleMarginMs);
    run.settle.marginMs = opts.settleMarginMs;
    run.window = await sampleWindow(d, client, run, opts.windowMs, readyWall);
    const extra = await extraLatencies(client, run.window.windowLatenciesMs.length);
    const all = [...run.window.windowLatenciesMs, ...extra.latencies];
    const s = summary(all);
    run.showPathsMs = { p50: s.p50, max: s.max, n: s.n, extraRequests: extra.latencies.length, extraErrors: extra.errors, all };
    delete run.window.windowLatenciesMs;
    const quiet0 = cpuReading(d.pid);
    await sleep(Math.min(QUIET_MAX_MS, opts.windowMs));
    run.quietCpuPercent = cpuPercent(quiet0, cpuReading(d.pid));
    const bytes = await client.request('show paths', {}, { timeoutMs: REQUEST_TIMEOUT_MS }).then((rows) => Buffer.byteLength(JSON.stringify(rows)));
    run.showPathsResultBytes = bytes;
    run.met = met(run);
  } catch (e) {
    run.error = e.message;
  } finally {
    if (client !== null) await client.close();
    run.stop = await stopDaemon(d, { via: 'shutdown', timeoutMs: STOP_TIMEOUT_MS });
    run.warnings = warnings(d);
    run.stderrLines = d.stderr.length + d.stderrDropped();
  }
  return run;
}

const yes = (b) => (b ? 'met' : 'NOT MET');
const states = (m) =>
  Object.entries(m)
    .sort((a, b) => b[1].maxPaths - a[1].maxPaths)
    .map(([s, e]) => `${s} ${fmt(e.maxPaths)}${e.samples ? ` (${e.samples} samples)` : ''}`)
    .join(', ') || 'none';

function report(out) {
  console.log(`pathcheckd at scale: node ${out.node}, ${out.cpus} cores (${out.cpuModel}), load ${out.loadavgAtStart.map((n) => fmt(n, 2)).join(' ')}`);
  console.log(`polling_interval ${POLLING_INTERVAL} s = max_polling_interval, checker_timeout ${CHECKER_TIMEOUT} s, checker ${CHECKER}, default worker count; window ${out.windowMs / 1000} s`);
  const ok = out.runs.filter((r) => r.error === undefined);
  for (const r of out.runs) {
    const head = `${r.label}: ${fmt(r.healthy)} sim:ok + ${fmt(r.hung)} sim:hang (${r.hungEvery === 0 ? 'none hung' : `1 in ${r.hungEvery} hung`})`;
    if (r.error !== undefined) {
      console.log(`${head}: could not run: ${r.error}`);
      continue;
    }
    const st = r.settle;
    console.log(
      `${head}; started in ${fmt(r.startMs)} ms; ${st.settled ? 'settled' : 'NOT settled'} after ${fmt(st.ms / 1000, 1)} s` +
        `${st.settled ? '' : ` (healthy never checked ${st.healthyUnchecked}, hung not timeout/pending ${st.hungNotTimedOut})`} + ${st.marginMs / 1000} s;` +
        ` ${r.window.samples} samples over ${fmt(r.window.seconds, 1)} s; ${r.window.pool?.workers ?? '?'} workers; stopped (${r.stop.via}) in ${fmt(r.stop.ms)} ms${r.stop.killed ? ' (SIGKILL)' : ''}`,
    );
  }
  if (ok.length === 0) return;
  console.log('');
  const rows = [];
  const row = (what, target, cell) => rows.push([what, target, ...ok.flatMap((r) => cell(r))]);
  row('healthy paths up at every sample', 'all', (r) => [r.window.healthyUpThroughout ? 'yes' : 'no', yes(r.met.healthyUpThroughout)]);
  row('healthy last-check age p99', `<= ${TARGETS.ageP99Seconds} s`, (r) => [`${fmt(r.window.lastCheckAgeSeconds.p99, 2)} s`, yes(r.met.ageP99)]);
  row('healthy last-check age max', `<= ${TARGETS.ageMaxSeconds} s`, (r) => [`${fmt(r.window.lastCheckAgeSeconds.max, 2)} s`, yes(r.met.ageMax)]);
  row('healthy checks/s vs due', `>= ${TARGETS.checksPerDueRatio * 100}%`, (r) => [`${fmt(r.window.healthyChecksPerSec)} / ${fmt(r.window.dueChecksPerSec)} = ${fmt(r.window.checksPerDueRatio * 100, 1)}%`, yes(r.met.checksPerDue)]);
  row('daemon CPU, all threads', `<= ${TARGETS.cpuPercentOfOneCore}% of a core`, (r) => [`${fmt(r.window.cpuPercent, 1)}%`, yes(r.met.cpu)]);
  row('show paths latency max', `<= ${TARGETS.showPathsMaxMs} ms`, (r) => [`${fmt(r.showPathsMs.max)} ms (p50 ${fmt(r.showPathsMs.p50)}, n ${r.showPathsMs.n})`, yes(r.met.showPaths)]);
  row('targets met', '', (r) => [`${Object.values(r.met).filter(Boolean).length} of ${Object.keys(r.met).length}`, '']);
  row('healthy states (most paths; samples)', '', (r) => [states(r.window.healthyStates), '']);
  row('hung states (most paths; samples)', '', (r) => [states(r.window.hungStates), '']);
  row('healthy last-check age p50', '', (r) => [`${fmt(r.window.lastCheckAgeSeconds.p50, 2)} s`, '']);
  row('checks/s, show stats (all paths)', '', (r) => [`${fmt(r.window.statsChecksPerSec)} (${Object.entries(r.window.statsChecksByStatePerSec).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`, '']);
  row('daemon CPU, 1 s samples', '', (r) => [`${fmt(r.window.cpuPercentPerSample.min, 1)}-${fmt(r.window.cpuPercentPerSample.max, 1)}%`, '']);
  row('daemon CPU, no requests', '', (r) => [`${fmt(r.quietCpuPercent, 1)}% (after the window)`, '']);
  row('daemon RSS (VmRSS)', '', (r) => [`avg ${mib(r.window.rssBytes.avg)} MiB, max ${mib(r.window.rssBytes.max)} (start ${mib(r.rssAtStartBytes)})`, '']);
  row('show paths answer size', '', (r) => [`${mib(r.showPathsResultBytes)} MiB`, '']);
  printTable(['figure', 'target', ...ok.flatMap((r) => [r.label, ''])], rows);
  console.log('');
  console.log(`due checks/s: ${DEFINITIONS.dueChecksPerSec}. healthy checks/s: ${DEFINITIONS.healthyChecksPerSec}.`);
  console.log(`last-check age: ${DEFINITIONS.lastCheckAge}.`);
  console.log(`daemon CPU: ${DEFINITIONS.cpuPercent}; no requests: ${DEFINITIONS.quietCpuPercent}.`);
  for (const r of ok) {
    if (r.window.sampleErrors > 0) console.log(`${r.label}: ${r.window.sampleErrors} failed samples (last: ${r.window.lastSampleError})`);
    if (r.warnings.length > 0) console.log(`${r.label}: daemon warnings/errors: ${r.warnings.slice(0, 5).join(' | ')}`);
  }
}

async function main() {
  let opts;
  try {
    opts = options(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench/scale.mjs: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts === null) {
    console.log(USAGE);
    return;
  }
  requireLinux('bench/scale.mjs');
  const out = {
    ...machineInfo(),
    loadavgAtStart: loadavg(),
    pollingInterval: POLLING_INTERVAL,
    maxPollingInterval: MAX_POLLING_INTERVAL,
    checkerTimeout: CHECKER_TIMEOUT,
    checker: CHECKER,
    workers: 'default',
    windowMs: opts.windowMs,
    settleMaxMs: SETTLE_MAX_MS,
    settleMarginMs: opts.settleMarginMs,
    definitions: DEFINITIONS,
    targets: TARGETS,
    runs: [],
  };
  for (const spec of opts.runs) {
    console.error(`bench/scale.mjs: ${fmt(spec.paths)} paths, ${spec.hungEvery === 0 ? 'none' : `1 in ${spec.hungEvery}`} hung ...`);
    out.runs.push(await runOne(spec, opts));
  }
  report(out);
  console.log(`\nwrote ${writeResult('scale', out)}`);
  const failed = out.runs.filter((r) => r.error !== undefined);
  if (failed.length > 0) {
    console.error(`bench/scale.mjs: could not run ${failed.map((r) => `${r.label}: ${r.error}`).join('; ')}`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (e) {
  console.error(`bench/scale.mjs: ${e.message}`);
  process.exitCode = 1;
}
