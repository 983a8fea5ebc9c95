// pathcheckd under a steady load, measured from outside, against the built dist/:
//   1. start the real daemon (node dist/host/cli/pathcheckd.js) with PATHS sim:ok paths at
//      polling_interval 1 and max_polling_interval 1, so every path is due every second;
//   2. let it settle SETTLE_MS, then sample for WINDOW_MS: the daemon's RSS (/proc/<pid>/status
//      VmRSS), its CPU% ((utime + stime) deltas from /proc/<pid>/stat over wall time, all its threads),
//      checks/s (the `checks` counter of `show stats`), and how evenly the paths were checked
//      (per-path `checks` from `show paths` at both ends of the window);
//   3. control-socket churn: CYCLES short connections, one after another, each connecting, asking
//      `show stats` once and disconnecting: cycles/s, per-cycle latency and the daemon's CPU, while it
//      keeps checking (the age of the oldest `lastCheck` right after says whether checking kept up).
// A benchmark, not a test: it prints a table, writes bench/results/daemon.json and never fails on
// the numbers. Every loop is bounded by a count and by time. Linux only (/proc).
// Run with `npm run bench:daemon` (builds first).
import { confText, ControlClient, cpuPercent, cpuReading, fmt, machineInfo, mib, printTable, requireLinux, rssBytes, sleep, startDaemon, stopDaemon, summary, waitReady, warnings, writeResult } from './daemon-harness.mjs';

const PATHS = 1024;
const POLLING_INTERVAL = 1;
const MAX_POLLING_INTERVAL = 1;
const CHECKER_TIMEOUT = 5;
const START_TIMEOUT_MS = 30_000;
const SETTLE_MS = 5000;
const WINDOW_MS = 20_000;
const SAMPLE_EVERY_MS = 1000;
/** Samples in the window, at most (the window is also bounded by time). */
const MAX_SAMPLES = Math.ceil(WINDOW_MS / SAMPLE_EVERY_MS) + 5;
const CYCLES = 2000;
/** Bound on the churn phase, whatever is left of CYCLES. */
const CYCLES_MAX_MS = 120_000;
const REQUEST_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;

function config() {
  const devices = Array.from({ length: PATHS }, (_, i) => `sim:ok?id=p${String(i).padStart(4, '0')}`);
  return confText('bench/daemon.mjs', { polling_interval: POLLING_INTERVAL, max_polling_interval: MAX_POLLING_INTERVAL, checker_timeout: CHECKER_TIMEOUT }, devices);
}

/** Sample the daemon over `ms`: RSS, CPU, checks. */
async function sampleWindow(pid, client, ms) {
  const stats0 = await client.request('show stats', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const paths0 = await client.request('show paths', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const cpu0 = cpuReading(pid);
  const rss = [rssBytes(pid)];
  const cpuPerSample = [];
  let last = cpu0;
  for (let i = 0; i < MAX_SAMPLES && performance.now() - cpu0.t < ms; i++) {
    await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, ms - (performance.now() - cpu0.t))));
    const now = cpuReading(pid);
    rss.push(rssBytes(pid));
    if (now.t > last.t) cpuPerSample.push(cpuPercent(last, now));
    last = now;
  }
  const cpu1 = cpuReading(pid);
  const stats1 = await client.request('show stats', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const paths1 = await client.request('show paths', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const seconds = (cpu1.t - cpu0.t) / 1000;
  const before = new Map(paths0.map((p) => [p.device, p.checks]));
  const perPath = summary(paths1.map((p) => p.checks - (before.get(p.device) ?? 0)));
  const r = summary(rss);
  const c = summary(cpuPerSample);
  return {
    seconds,
    checks: stats1.checks - stats0.checks,
    checksPerSec: (stats1.checks - stats0.checks) / seconds,
    expectedChecksPerSec: PATHS / POLLING_INTERVAL,
    checksPerPath: { min: perPath.min, p50: perPath.p50, max: perPath.max },
    pathsNotUp: paths1.filter((p) => p.state !== 'up').length,
    cpuPercent: cpuPercent(cpu0, cpu1),
    cpuPercentPerSecond: { min: c.min, max: c.max },
    rssBytes: { min: r.min, avg: r.mean, max: r.max, samples: r.n },
    heapUsedBytes: stats1.memory.heapUsed,
    pool: stats1.pool,
  };
}

/** CYCLES connections, one at a time: connect, `show stats`, close. */
async function churn(socket, pid) {
  const lat = [];
  let errors = 0;
  let lastError = null;
  const cpu0 = cpuReading(pid);
  for (let i = 0; i < CYCLES && performance.now() - cpu0.t < CYCLES_MAX_MS; i++) {
    const s = performance.now();
    let c = null;
    try {
      c = await ControlClient.connect(socket, { timeoutMs: REQUEST_TIMEOUT_MS });
      await c.request('show stats', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
      lat.push(performance.now() - s);
    } catch (e) {
      errors++;
      lastError = e.message;
    } finally {
      if (c !== null) await c.close();
    }
  }
  const cpu1 = cpuReading(pid);
  const seconds = (cpu1.t - cpu0.t) / 1000;
  const l = summary(lat);
  return {
    cycles: lat.length,
    errors,
    lastError,
    seconds,
    cyclesPerSec: lat.length / seconds,
    latencyMs: { p50: l.p50, p99: l.p99, max: l.max },
    cpuPercent: cpuPercent(cpu0, cpu1),
  };
}

async function main() {
  requireLinux('bench/daemon.mjs');
  const d = startDaemon(config());
  const out = {
    ...machineInfo(),
    paths: PATHS,
    device: 'sim:ok',
    checker: 'tur',
    pollingInterval: POLLING_INTERVAL,
    maxPollingInterval: MAX_POLLING_INTERVAL,
    settleMs: SETTLE_MS,
    windowMs: WINDOW_MS,
  };
  let client = null;
  try {
    out.startMs = await waitReady(d, START_TIMEOUT_MS);
    const pid = d.pid;
    out.rssAtStartBytes = rssBytes(pid);
    await sleep(SETTLE_MS);
    client = await ControlClient.connect(d.socket, { timeoutMs: REQUEST_TIMEOUT_MS });
    out.steady = await sampleWindow(pid, client, WINDOW_MS);
    await client.close();
    client = null;
    out.churn = await churn(d.socket, pid);
    // Did checking keep up meanwhile? Every path's last check should be at most ~1 interval old.
    client = await ControlClient.connect(d.socket, { timeoutMs: REQUEST_TIMEOUT_MS });
    const rows = await client.request('show paths', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
    const now = Date.now();
    out.churn.oldestLastCheckMs = Math.max(...rows.map((p) => (p.lastCheck === null ? Infinity : now - Date.parse(p.lastCheck))));
    out.churn.pathsNotUp = rows.filter((p) => p.state !== 'up').length;
    await client.close();
    client = null;
    out.rssAfterChurnBytes = rssBytes(pid);
  } finally {
    if (client !== null) await client.close();
    out.stop = await stopDaemon(d, { via: 'SIGTERM', timeoutMs: STOP_TIMEOUT_MS });
    out.warnings = warnings(d);
  }

  const s = out.steady;
  const c = out.churn;
  console.log(`pathcheckd benchmark: ${PATHS} x sim:ok (tur), polling_interval ${POLLING_INTERVAL} s = max_polling_interval; node ${process.version}, ${out.cpus} cores (${out.cpuModel})`);
  console.log(`started in ${fmt(out.startMs)} ms; settled ${SETTLE_MS / 1000} s; sampled ${fmt(s.seconds, 1)} s; then ${CYCLES} short control connections`);
  console.log('');
  printTable(
    ['what', 'value'],
    [
      ['checks/s (show stats)', `${fmt(s.checksPerSec)}  (${fmt((s.checksPerSec / s.expectedChecksPerSec) * 100, 1)} % of ${fmt(s.expectedChecksPerSec)} due)`],
      ['checks per path in the window', `min ${s.checksPerPath.min}  p50 ${s.checksPerPath.p50}  max ${s.checksPerPath.max}  (paths not up: ${s.pathsNotUp})`],
      ['daemon CPU (all threads)', `${fmt(s.cpuPercent, 1)} %  (1 s samples ${fmt(s.cpuPercentPerSecond.min, 1)}-${fmt(s.cpuPercentPerSecond.max, 1)} %)`],
      ['daemon RSS (VmRSS)', `avg ${mib(s.rssBytes.avg)} MiB  min ${mib(s.rssBytes.min)}  max ${mib(s.rssBytes.max)}  (${s.rssBytes.samples} samples; at start ${mib(out.rssAtStartBytes)})`],
      ['main-thread heapUsed', `${mib(s.heapUsedBytes)} MiB`],
      ['connect + show stats + close', `${fmt(c.cyclesPerSec)} cycles/s  (${c.cycles} cycles, ${c.errors} errors, ${fmt(c.seconds, 1)} s)`],
      ['  per cycle', `p50 ${fmt(c.latencyMs.p50, 2)} ms  p99 ${fmt(c.latencyMs.p99, 2)} ms  max ${fmt(c.latencyMs.max, 2)} ms`],
      ['  daemon CPU meanwhile', `${fmt(c.cpuPercent, 1)} %`],
      ['  oldest last check right after', `${fmt(c.oldestLastCheckMs)} ms  (paths not up: ${c.pathsNotUp})`],
      ['RSS after the churn', `${mib(out.rssAfterChurnBytes)} MiB`],
      ['SIGTERM -> exit', `${fmt(out.stop.ms)} ms, code ${out.stop.code}${out.stop.killed ? ' (SIGKILL needed)' : ''}`],
    ],
  );
  if (c.lastError) console.log(`last churn error: ${c.lastError}`);
  if (out.warnings.length > 0) console.log(`daemon warnings/errors: ${out.warnings.join(' | ')}`);
  console.log(`\nwrote ${writeResult('daemon', out)}`);
}

await main();
