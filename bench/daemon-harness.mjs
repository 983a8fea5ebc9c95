// What the daemon benchmarks (bench/daemon.mjs, bench/scale.mjs) share: the real built daemon
// (node dist/host/cli/pathcheckd.js) started with a generated config in its own temp dir, waited
// for on its control socket, stopped in bounded time (and its temp dir removed) however the
// benchmark ends; /proc sampling of its CPU and RSS; quantiles, number formatting, a plain table,
// machine info and bench/results/<name>.json. Linux only (/proc). Needs a built dist/.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The built host, loaded rather than imported so that a missing or broken dist/ stops a benchmark
// with one line instead of a stack.
const dist = await Promise.all([import('../dist/host/cli/package-paths.js'), import('../dist/host/control/control-client.js')]).catch((e) => {
  console.error(`${process.argv[1] ?? 'bench'}: cannot load the built host from dist/ (npm run build): ${String(e.message).split('\n')[0]}`);
  process.exit(1);
});
export const [{ CHECKERS_DIR, PACKAGE_ROOT }, { ControlClient }] = dist;

export const DAEMON = join(PACKAGE_ROOT, 'dist', 'host', 'cli', 'pathcheckd.js');
/** Longest stderr kept per daemon, in lines (a daemon logging per check must not fill our memory). */
const MAX_STDERR_LINES = 5000;

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves with `null` after `ms`, without keeping the process alive. */
function timer(ms) {
  return new Promise((r) => setTimeout(() => r(null), ms).unref());
}

/** The q-quantile (0..1) of an ascending array; NaN when empty. */
export function quantile(sorted, q) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** min, p50, p99, max and mean of `values` (any order). */
export function summary(values) {
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, min: s.length ? s[0] : NaN, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.length ? s[s.length - 1] : NaN, mean: s.length ? sum / s.length : NaN };
}

export function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
}

/** Bytes as MiB, one decimal. */
export function mib(bytes) {
  return fmt(bytes / (1024 * 1024), 1);
}

/** Print rows (arrays of cells) as left-aligned columns; `header` is the first row. */
export function printTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  for (const r of all) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

export function requireLinux(script) {
  if (!existsSync('/proc/self/stat')) throw new Error(`${script} needs Linux /proc`);
}

export const clockTicks = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** VmRSS of `pid`, bytes. */
export function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** utime + stime of `pid` (all threads), in clock ticks. */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** A CPU-time reading of `pid`: `cpuPercent(a, b)` is its CPU between two readings, % of one core. */
export function cpuReading(pid) {
  return { ticks: cpuTicks(pid), t: performance.now() };
}

export function cpuPercent(a, b) {
  return b.t > a.t ? ((b.ticks - a.ticks) / clockTicks / ((b.t - a.t) / 1000)) * 100 : NaN;
}

/** The machine and run, for a results file. */
export function machineInfo() {
  return { date: new Date().toISOString(), node: process.version, platform: `${process.platform} ${process.arch}`, cpus: availableParallelism(), cpuModel: cpus()[0]?.model?.trim() ?? 'unknown', clockTicks };
}

/**
 * A multipath.conf-subset config: `defaults` (keyword -> value; checker_dir is added) and one
 * `path { device "<spec>" }` block per device spec.
 */
export function confText(title, defaults, devices) {
  const lines = [`# ${title}`, 'defaults {'];
  for (const [k, v] of Object.entries({ ...defaults, checker_dir: `"${CHECKERS_DIR}"` })) lines.push(`    ${k} ${v}`);
  lines.push('}', 'paths {');
  for (const spec of devices) lines.push(`    path { device "${spec}" }`);
  lines.push('}', '');
  return lines.join('\n');
}

/** Daemons started and not yet stopped: killed (and their dirs removed) if this process exits first. */
const live = new Set();
let exitHooked = false;

function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const d of live) {
      if (d.exitNow() === null) d.child.kill('SIGKILL');
      rmSync(d.dir, { recursive: true, force: true });
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
}

/** Start the daemon on `configText` in a fresh temp dir; stderr lines kept (the first MAX_STDERR_LINES). */
export function startDaemon(configText) {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), 'pcbench-'));
  const configFile = join(dir, 'pathcheck.conf');
  const socket = join(dir, 'pc.sock');
  writeFileSync(configFile, configText);
  const child = spawn(process.execPath, [DAEMON, '--config', configFile, '--socket', socket, '--foreground'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  let stderrDropped = 0;
  createInterface({ input: child.stderr }).on('line', (l) => (stderr.length < MAX_STDERR_LINES ? stderr.push(l) : stderrDropped++));
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  const d = { child, pid: child.pid, dir, socket, stderr, exited, exitNow: () => exit, stderrDropped: () => stderrDropped };
  live.add(d);
  return d;
}

/** Resolves with the start-up time (ms) once the daemon has bound its paths and answers `show stats`. */
export async function waitReady(d, timeoutMs) {
  const t0 = performance.now();
  const tries = Math.ceil(timeoutMs / 50) + 1;
  for (let i = 0; i < tries && performance.now() - t0 < timeoutMs; i++) {
    if (d.exitNow() !== null) throw new Error(`pathcheckd exited during start-up (${JSON.stringify(d.exitNow())}): ${d.stderr.slice(-5).join(' | ')}`);
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
  throw new Error(`pathcheckd not ready within ${timeoutMs} ms: ${d.stderr.slice(-5).join(' | ')}`);
}

/**
 * Stop the daemon: `via` 'SIGTERM', or 'shutdown' (the control verb; SIGTERM if the socket does
 * not answer). SIGKILL after `timeoutMs`. Its temp dir is removed either way.
 */
export async function stopDaemon(d, { via = 'SIGTERM', timeoutMs = 15_000 } = {}) {
  const t0 = performance.now();
  let how = via;
  try {
    if (d.exitNow() === null && via === 'shutdown') {
      let c = null;
      try {
        c = await ControlClient.connect(d.socket, { timeoutMs: 2000 });
        await c.request('shutdown', {}, { timeoutMs: 5000 });
      } catch (e) {
        how = `SIGTERM (shutdown failed: ${e.message})`;
        d.child.kill('SIGTERM');
      } finally {
        if (c !== null) await c.close();
      }
    } else if (d.exitNow() === null) {
      d.child.kill('SIGTERM');
    }
    let exit = await Promise.race([d.exited, timer(Math.max(0, timeoutMs - (performance.now() - t0)))]);
    let killed = false;
    if (exit === null) {
      killed = true;
      d.child.kill('SIGKILL');
      exit = await Promise.race([d.exited, timer(5000)]);
    }
    return { via: how, ...(exit ?? { code: null, signal: null }), ms: performance.now() - t0, killed };
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
    if (d.exitNow() !== null) live.delete(d);
  }
}

/** Daemon log lines that warn or err, the first `max`. */
export function warnings(d, max = 20) {
  return d.stderr.filter((l) => /\b(warn|warning|error)\b/i.test(l)).slice(0, max);
}

/** Write `data` to bench/results/<name>.json; returns the file. */
export function writeResult(name, data) {
  const dir = join(PACKAGE_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/**
 * `lanes` loops, lane i calling `once(i)` again as soon as the last call resolved, for `warmMs` then
 * `measureMs` (and at most `maxPerLane` calls a lane, whatever the clock says). `completed(result,
 * counted)` sees every completion; `counted` when it landed in [warm-up end, window end). Resolves
 * when every lane has stopped.
 */
export async function runLanes({ lanes, warmMs, measureMs, maxPerLane, once, completed }) {
  const from = performance.now() + warmMs;
  const until = from + measureMs;
  async function lane(i) {
    for (let k = 0; k < maxPerLane && performance.now() < until; k++) {
      const r = await once(i);
      const t = performance.now();
      completed(r, t >= from && t < until);
    }
  }
  await Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
}
