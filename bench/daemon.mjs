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
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CHECKERS_DIR, PACKAGE_ROOT } from '../dist/host/cli/package-paths.js';
import { ControlClient } from '../dist/host/control/control-client.js';

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

const DAEMON = join(PACKAGE_ROOT, 'dist', 'host', 'cli', 'pathcheckd.js');

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function quantile(sorted, q) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
}

const clockTicks = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** VmRSS of `pid`, bytes. */
function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** utime + stime of `pid` (all threads), in clock ticks. */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

function confText() {
  const lines = [
    '# bench/daemon.mjs',
    'defaults {',
    `    polling_interval ${POLLING_INTERVAL}`,
    `    max_polling_interval ${MAX_POLLING_INTERVAL}`,
    `    checker_timeout ${CHECKER_TIMEOUT}`,
    `    checker_dir "${CHECKERS_DIR}"`,
    '}',
    'paths {',
  ];
  for (let i = 0; i < PATHS; i++) lines.push('    path {', `        device "sim:ok?id=p${String(i).padStart(4, '0')}"`, '    }');
  lines.push('}', '');
  return lines.join('\n');
}

/** The daemon as a child process; stderr lines kept. */
function startDaemon(dir) {
  const configFile = join(dir, 'pathcheck.conf');
  const socket = join(dir, 'pc.sock');
  writeFileSync(configFile, confText());
  const child = spawn(process.execPath, [DAEMON, '--config', configFile, '--socket', socket, '--foreground'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l));
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  return { child, socket, stderr, exited, exitNow: () => exit };
}

async function waitReady(d) {
  const t0 = performance.now();
  const tries = Math.ceil(START_TIMEOUT_MS / 50) + 1;
  for (let i = 0; i < tries && performance.now() - t0 < START_TIMEOUT_MS; i++) {
    if (d.exitNow() !== null) throw new Error(`pathcheckd exited during start-up (${JSON.stringify(d.exitNow())}): ${d.stderr.join(' | ')}`);
    // The notice comes once every path is bound (the socket alone answers earlier than that).
    if (existsSync(d.socket) && d.stderr.some((l) => l.includes(`control socket ${d.socket}`))) {
      try {
        const c = await ControlClient.connect(d.socket, { timeoutMs: 2000 });
        try {
          await c.request('show stats', {}, { timeoutMs: 2000 });
          return performance.now() - t0;
        } finally {
          await c.close();
        }
      } catch {
        // not yet
      }
    }
    await sleep(50);
  }
  throw new Error(`pathcheckd not ready within ${START_TIMEOUT_MS} ms: ${d.stderr.join(' | ')}`);
}

async function stopDaemon(d) {
  const t0 = performance.now();
  if (d.exitNow() === null) d.child.kill('SIGTERM');
  const timer = (ms) => new Promise((r) => setTimeout(() => r(null), ms).unref());
  let exit = await Promise.race([d.exited, timer(STOP_TIMEOUT_MS)]);
  let killed = false;
  if (exit === null) {
    killed = true;
    d.child.kill('SIGKILL');
    exit = await Promise.race([d.exited, timer(5000)]);
  }
  return { ...(exit ?? { code: null, signal: null }), ms: performance.now() - t0, killed };
}

/** Sample the daemon over `ms`: RSS, CPU, checks. */
async function sampleWindow(pid, client, ms) {
  const stats0 = await client.request('show stats', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const paths0 = await client.request('show paths', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const t0 = performance.now();
  const ticks0 = cpuTicks(pid);
  const rss = [rssBytes(pid)];
  const cpuPerSample = [];
  let lastTicks = ticks0;
  let lastT = t0;
  for (let i = 0; i < MAX_SAMPLES && performance.now() - t0 < ms; i++) {
    await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, ms - (performance.now() - t0))));
    const t = performance.now();
    const ticks = cpuTicks(pid);
    rss.push(rssBytes(pid));
    if (t > lastT) cpuPerSample.push(((ticks - lastTicks) / clockTicks / ((t - lastT) / 1000)) * 100);
    lastTicks = ticks;
    lastT = t;
  }
  const ticks1 = cpuTicks(pid);
  const t1 = performance.now();
  const stats1 = await client.request('show stats', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const paths1 = await client.request('show paths', {}, { timeoutMs: REQUEST_TIMEOUT_MS });
  const seconds = (t1 - t0) / 1000;
  const before = new Map(paths0.map((p) => [p.device, p.checks]));
  const perPath = paths1.map((p) => p.checks - (before.get(p.device) ?? 0)).sort((a, b) => a - b);
  const notUp = paths1.filter((p) => p.state !== 'up').length;
  const sortedRss = [...rss].sort((a, b) => a - b);
  return {
    seconds,
    checks: stats1.checks - stats0.checks,
    checksPerSec: (stats1.checks - stats0.checks) / seconds,
    expectedChecksPerSec: PATHS / POLLING_INTERVAL,
    checksPerPath: { min: perPath[0], p50: quantile(perPath, 0.5), max: perPath.at(-1) },
    pathsNotUp: notUp,
    cpuPercent: ((ticks1 - ticks0) / clockTicks / seconds) * 100,
    cpuPercentPerSecond: { min: Math.min(...cpuPerSample), max: Math.max(...cpuPerSample) },
    rssBytes: { min: sortedRss[0], avg: rss.reduce((a, b) => a + b, 0) / rss.length, max: sortedRss.at(-1), samples: rss.length },
    heapUsedBytes: stats1.memory.heapUsed,
    pool: stats1.pool,
  };
}

/** CYCLES connections, one at a time: connect, `show stats`, close. */
async function churn(socket, pid) {
  const lat = [];
  let errors = 0;
  let lastError = null;
  const ticks0 = cpuTicks(pid);
  const t0 = performance.now();
  for (let i = 0; i < CYCLES && performance.now() - t0 < CYCLES_MAX_MS; i++) {
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
  const seconds = (performance.now() - t0) / 1000;
  const ticks1 = cpuTicks(pid);
  const sorted = [...lat].sort((a, b) => a - b);
  return {
    cycles: lat.length,
    errors,
    lastError,
    seconds,
    cyclesPerSec: lat.length / seconds,
    latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) },
    cpuPercent: ((ticks1 - ticks0) / clockTicks / seconds) * 100,
  };
}

async function main() {
  if (!existsSync('/proc/self/stat')) throw new Error('bench/daemon.mjs needs Linux /proc');
  const dir = mkdtempSync(join(tmpdir(), 'pcbench-'));
  const d = startDaemon(dir);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
    paths: PATHS,
    device: 'sim:ok',
    checker: 'tur',
    pollingInterval: POLLING_INTERVAL,
    maxPollingInterval: MAX_POLLING_INTERVAL,
    settleMs: SETTLE_MS,
    windowMs: WINDOW_MS,
    clockTicks,
  };
  let client = null;
  try {
    out.startMs = await waitReady(d);
    const pid = d.child.pid;
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
    out.stop = await stopDaemon(d);
    out.warnings = d.stderr.filter((l) => /\b(warn|error)\b/.test(l)).slice(0, 20);
    rmSync(dir, { recursive: true, force: true });
  }

  const s = out.steady;
  const c = out.churn;
  const mb = (b) => fmt(b / (1024 * 1024), 1);
  console.log(`pathcheckd benchmark: ${PATHS} x sim:ok (tur), polling_interval ${POLLING_INTERVAL} s = max_polling_interval; node ${process.version}, ${out.cpus} cores (${out.cpuModel})`);
  console.log(`started in ${fmt(out.startMs)} ms; settled ${SETTLE_MS / 1000} s; sampled ${fmt(s.seconds, 1)} s; then ${CYCLES} short control connections`);
  console.log('');
  console.log('what                                   value');
  const row = (what, value) => console.log(`${what.padEnd(38)} ${value}`);
  row('checks/s (show stats)', `${fmt(s.checksPerSec)}  (${fmt((s.checksPerSec / s.expectedChecksPerSec) * 100, 1)} % of ${fmt(s.expectedChecksPerSec)} due)`);
  row('checks per path in the window', `min ${s.checksPerPath.min}  p50 ${s.checksPerPath.p50}  max ${s.checksPerPath.max}  (paths not up: ${s.pathsNotUp})`);
  row('daemon CPU (all threads)', `${fmt(s.cpuPercent, 1)} %  (1 s samples ${fmt(s.cpuPercentPerSecond.min, 1)}-${fmt(s.cpuPercentPerSecond.max, 1)} %)`);
  row('daemon RSS (VmRSS)', `avg ${mb(s.rssBytes.avg)} MiB  min ${mb(s.rssBytes.min)}  max ${mb(s.rssBytes.max)}  (${s.rssBytes.samples} samples; at start ${mb(out.rssAtStartBytes)})`);
  row('main-thread heapUsed', `${mb(s.heapUsedBytes)} MiB`);
  row('connect + show stats + close', `${fmt(c.cyclesPerSec)} cycles/s  (${c.cycles} cycles, ${c.errors} errors, ${fmt(c.seconds, 1)} s)`);
  row('  per cycle', `p50 ${fmt(c.latencyMs.p50, 2)} ms  p99 ${fmt(c.latencyMs.p99, 2)} ms  max ${fmt(c.latencyMs.max, 2)} ms`);
  row('  daemon CPU meanwhile', `${fmt(c.cpuPercent, 1)} %`);
  row('  oldest last check right after', `${fmt(c.oldestLastCheckMs)} ms  (paths not up: ${c.pathsNotUp})`);
  row('RSS after the churn', `${mb(out.rssAfterChurnBytes)} MiB`);
  row('SIGTERM -> exit', `${fmt(out.stop.ms)} ms, code ${out.stop.code}${out.stop.killed ? ' (SIGKILL needed)' : ''}`);
  if (c.lastError) console.log(`last churn error: ${c.lastError}`);
  if (out.warnings.length > 0) console.log(`daemon warnings/errors: ${out.warnings.join(' | ')}`);

  mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
  const file = join(PACKAGE_ROOT, 'bench', 'results', 'daemon.json');
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

await main();
