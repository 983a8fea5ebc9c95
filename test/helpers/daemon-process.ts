import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CHECKERS_DIR, PACKAGE_ROOT } from '../../host/cli/package-paths.js';
import { ControlClient, watch, type WatchHandle } from '../../host/control/control-client.js';

/**
 * The real pathcheckd as a child process, for black-box tests through its control socket.
 * Everything here is bounded in time and in count: no wait can outlast its bound, no loop its count.
 */

export const PATHCHECKD_BIN = join(PACKAGE_ROOT, 'dist', 'host', 'cli', 'pathcheckd.js');
export const PATHCHECK_BIN = join(PACKAGE_ROOT, 'dist', 'host', 'cli', 'pathcheck.js');
/** Absolute: the built checkers the daemon loads (`checker_dir` in every config written here). */
export const BUILT_CHECKERS = CHECKERS_DIR;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown by a waitUntil probe to stop waiting at once (the awaited thing can no longer happen). */
export class GiveUp extends Error {
  override readonly name = 'GiveUp';
}

/**
 * Poll `probe` until it returns something other than undefined/false/null; bounded by `timeoutMs`
 * and by a number of tries (timeoutMs / intervalMs + 2). A probe that throws counts as "not yet",
 * except GiveUp, which ends the wait. Throws naming `what` on timeout.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 2;
  let last: unknown = undefined;
  for (let i = 0; i < maxTries; i++) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
      last = v;
    } catch (e) {
      if (e instanceof GiveUp) throw e;
      last = e;
    }
    if (performance.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// ---------------------------------------------------------------- configs

export interface PathEntry {
  readonly device: string;
  readonly checker?: string;
  readonly vendor?: string;
  readonly product?: string;
  readonly wwid?: string;
}

export interface ConfOptions {
  readonly pollingInterval?: number;
  readonly maxPollingInterval?: number;
  readonly checkerTimeout?: number;
  readonly pathChecker?: string;
  readonly verbosity?: number;
  readonly workers?: number;
  /** scenario_file, as written (relative to the config file's directory, or absolute). */
  readonly scenarioFile?: string;
  /** Default: BUILT_CHECKERS (absolute); null leaves checker_dir out (the daemon's own default). */
  readonly checkerDir?: string | null;
  readonly paths?: readonly (string | PathEntry)[];
}

/** multipath.conf quoting: a doubled `"` stands for one. */
const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** A multipath.conf-style config for pathcheckd. */
export function confText(o: ConfOptions = {}): string {
  const lines = ['# written by test/helpers/daemon-process.ts', 'defaults {'];
  if (o.pollingInterval !== undefined) lines.push(`    polling_interval ${o.pollingInterval}`);
  if (o.maxPollingInterval !== undefined) lines.push(`    max_polling_interval ${o.maxPollingInterval}`);
  if (o.checkerTimeout !== undefined) lines.push(`    checker_timeout ${o.checkerTimeout}`);
  if (o.pathChecker !== undefined) lines.push(`    path_checker ${o.pathChecker}`);
  if (o.verbosity !== undefined) lines.push(`    verbosity ${o.verbosity}`);
  if (o.workers !== undefined) lines.push(`    workers ${o.workers}`);
  if (o.scenarioFile !== undefined) lines.push(`    scenario_file ${q(o.scenarioFile)}`);
  const dir = o.checkerDir === undefined ? BUILT_CHECKERS : o.checkerDir;
  if (dir !== null) lines.push(`    checker_dir ${q(dir)}`);
  lines.push('}', 'paths {');
  for (const p of o.paths ?? []) {
    const e: PathEntry = typeof p === 'string' ? { device: p } : p;
    lines.push('    path {', `        device ${q(e.device)}`);
    if (e.checker !== undefined) lines.push(`        checker ${e.checker}`);
    if (e.vendor !== undefined) lines.push(`        vendor ${q(e.vendor)}`);
    if (e.product !== undefined) lines.push(`        product ${q(e.product)}`);
    if (e.wwid !== undefined) lines.push(`        wwid ${q(e.wwid)}`);
    lines.push('    }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** A fresh temp directory (short path: Unix socket paths are limited to ~107 bytes). */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pcd-'));
}

// ---------------------------------------------------------------- what the daemon answers

export interface PathRow {
  readonly device: string;
  readonly checker: string;
  readonly state: string;
  readonly message: string;
  readonly interval: number;
  readonly lastCheck: string | null;
  readonly nextCheck: string;
  readonly checks: number;
}

export interface CheckerRow {
  readonly name: string;
  readonly version: number;
  readonly abiVersion: number;
  readonly sha256: string;
  readonly origin: string;
  readonly state: string;
  readonly refcount: number;
  readonly checkers: number;
  readonly contexts: number;
  readonly inFlight: number;
}

export interface Stats {
  readonly uptimeSeconds: number;
  readonly paths: number;
  readonly pathsByState: Record<string, number>;
  readonly checks: number;
  readonly checksByState: Record<string, number>;
  readonly stateChanges: number;
  readonly pool: { workers: number; busy: number; stuck: number; replaced: number; queued: number; inFlight: number };
  readonly classes: number;
  readonly memory: { rss: number; heapUsed: number };
}

export interface DaemonEvent {
  readonly type: string;
  readonly seq: number;
  readonly time: string;
  readonly [field: string]: unknown;
}

// ---------------------------------------------------------------- events

/** Every event of one `watch` subscription, in arrival order. */
export class EventLog {
  readonly events: DaemonEvent[] = [];
  /** Local arrival time (performance.now()) of each event, same index as `events`. */
  readonly arrivals: number[] = [];

  private constructor(private readonly handle: WatchHandle) {}

  /** Subscribe; resolves once the daemon acknowledged `watch`, so later events are not missed. */
  static async open(socket: string, timeoutMs = 10_000): Promise<EventLog> {
    let log!: EventLog;
    let acknowledged!: () => void;
    const connected = new Promise<void>((r) => (acknowledged = r));
    const handle = watch(
      socket,
      (e) => {
        log.events.push(e as DaemonEvent);
        log.arrivals.push(performance.now());
      },
      { reconnect: false, connectTimeoutMs: timeoutMs, onState: (s) => s === 'connected' && acknowledged() },
    );
    log = new EventLog(handle);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`watch not acknowledged within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([connected, timedOut, handle.done.then(() => Promise.reject(new Error('watch ended before it was acknowledged')))]);
    } catch (e) {
      await handle.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return log;
  }

  get state(): string {
    return this.handle.state;
  }

  /** The first event (from index `from`) matching `pred`, waiting for it up to `timeoutMs`. */
  waitFor(what: string, pred: (e: DaemonEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<DaemonEvent> {
    return waitUntil(`event: ${what}`, () => this.events.slice(from).find(pred), timeoutMs, 20);
  }

  ofType(type: string): DaemonEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  stop(): Promise<void> {
    return this.handle.stop();
  }
}

// ---------------------------------------------------------------- the process

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** Config text, or options for confText(). */
  readonly config?: string | ConfOptions;
  /** Extra arguments after --config/--socket/--foreground. */
  readonly args?: readonly string[];
  /** Bound on start-up: until `show stats` answers (default 20 s). */
  readonly readyTimeoutMs?: number;
  /**
   * Also wait for this stderr line (default: the `control socket <path>` notice, logged last in
   * start-up, once every configured path is bound and the socket listens). null: the socket
   * answering is enough (needed for configs with verbosity < 2, which log no notices). Before
   * 0e68638 the socket answered while the daemon was still starting; the notice is the stricter sign.
   */
  readonly readyLine?: string | null;
  /** How often start-up polls the socket (default 50 ms). */
  readonly readyPollMs?: number;
}

const live = new Set<DaemonProcess>();

// Last resort when a test process ends without its afterAll (a killed worker, a hook that threw): no
// pathcheckd outlives it (one left from a run was found still checking 20 sim paths hours later).
process.once('exit', () => {
  for (const d of live) if (d.exit === null) d.child.kill('SIGKILL');
});

/** A running pathcheckd in its own temp directory: config file, socket, stderr lines. */
export class DaemonProcess {
  readonly stderr: string[] = [];
  readonly stdout: string[] = [];
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;
  private readonly clients = new Set<ControlClient>();
  private readonly logs = new Set<EventLog>();
  private shared: ControlClient | null = null;

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly configFile: string,
    readonly socket: string,
  ) {
    this.exited = new Promise<Exit>((resolve) => {
      // 'close', not 'exit': by then stderr has been read to its end.
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l));
    createInterface({ input: child.stdout! }).on('line', (l) => this.stdout.push(l));
  }

  /**
   * Start pathcheckd and wait (bounded) until its socket answers `show stats` and it has logged that
   * it is up (see StartOptions.readyLine).
   */
  static async start(opts: StartOptions = {}): Promise<DaemonProcess> {
    const dir = tempDir();
    const configFile = join(dir, 'pathcheck.conf');
    const socket = join(dir, 'pc.sock');
    writeFileSync(configFile, typeof opts.config === 'string' ? opts.config : confText(opts.config ?? {}));
    const child = spawn(process.execPath, [PATHCHECKD_BIN, '--config', configFile, '--socket', socket, '--foreground', ...(opts.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const d = new DaemonProcess(child, dir, configFile, socket);
    live.add(d);
    const timeoutMs = opts.readyTimeoutMs ?? 20_000;
    const readyLine = opts.readyLine === undefined ? `control socket ${socket}` : opts.readyLine;
    try {
      await waitUntil(
        'pathcheckd to answer show stats',
        async () => {
          if (d.exit !== null) throw new GiveUp(`pathcheckd exited (${JSON.stringify(d.exit)}) during start-up: ${d.stderr.join(' | ')}`);
          if (!existsSync(socket)) return false;
          if (readyLine !== null && !d.stderr.some((l) => l.includes(readyLine))) return false;
          const c = await ControlClient.connect(socket, { timeoutMs: 1000 });
          try {
            await c.request('show stats', {}, { timeoutMs: 2000 });
            return true;
          } finally {
            await c.close();
          }
        },
        timeoutMs,
        opts.readyPollMs ?? 50,
      );
    } catch (e) {
      await d.stop();
      throw new Error(`${(e as Error).message}; stderr: ${d.stderr.join(' | ')}`);
    }
    return d;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** A new connection, closed by stop() if the test does not close it. */
  async connect(timeoutMs = 5000): Promise<ControlClient> {
    const c = await ControlClient.connect(this.socket, { timeoutMs });
    this.clients.add(c);
    return c;
  }

  /** One request on a shared connection (opened on first use), bounded by `timeoutMs`. */
  async request<T = unknown>(command: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    if (this.shared === null || this.shared.isClosed) this.shared = await this.connect();
    return (await this.shared.request(command, args, { timeoutMs })) as T;
  }

  paths(): Promise<PathRow[]> {
    return this.request<PathRow[]>('show paths');
  }

  async path(device: string): Promise<PathRow | undefined> {
    return (await this.paths()).find((p) => p.device === device);
  }

  stats(): Promise<Stats> {
    return this.request<Stats>('show stats');
  }

  checkers(): Promise<CheckerRow[]> {
    return this.request<CheckerRow[]>('show checkers');
  }

  /** Subscribe to events; the log is stopped by stop(). */
  async events(): Promise<EventLog> {
    const log = await EventLog.open(this.socket);
    this.logs.add(log);
    return log;
  }

  writeConfig(text: string | ConfOptions): void {
    writeFileSync(this.configFile, typeof text === 'string' ? text : confText(text));
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exit === null) this.child.kill(sig);
  }

  /** The exit, or null if it did not come within `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<Exit | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)));
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lines of stderr that contain `text`. */
  logged(text: string): string[] {
    return this.stderr.filter((l) => l.includes(text));
  }

  private async closeClients(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const log of this.logs) closing.push(log.stop());
    for (const c of this.clients) closing.push(c.close());
    this.logs.clear();
    this.clients.clear();
    this.shared = null;
    await Promise.race([Promise.all(closing), sleep(2000)]);
  }

  /**
   * SIGTERM, then wait for the exit up to `boundMs`; SIGKILL if it has not come (and wait for that
   * too, bounded). `killed` says whether SIGKILL was needed. Removes the temp directory.
   */
  async stop(boundMs = 15_000): Promise<Exit & { ms: number; killed: boolean }> {
    const t0 = performance.now();
    await this.closeClients();
    let killed = false;
    let exit = this.exit;
    if (exit === null) {
      this.child.kill('SIGTERM');
      exit = await this.waitExit(boundMs);
      if (exit === null) {
        killed = true;
        this.child.kill('SIGKILL');
        exit = (await this.waitExit(5000)) ?? { code: null, signal: null };
      }
    }
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
    return { ...exit, ms: performance.now() - t0, killed };
  }
}

/** Stop every daemon a test started and left running (for afterEach/afterAll). */
export async function stopAllDaemons(): Promise<void> {
  await Promise.all([...live].map((d) => d.stop()));
}

// ---------------------------------------------------------------- the bins, run once

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The process's pid: what the daemon's log names as the peer of its connection. */
  readonly pid: number | undefined;
}

function run(bin: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      resolve({
        pid: child.pid,
        status: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
        signal: e?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

/** Run the built `pathcheck` client once (bounded). */
export function runPathcheck(args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return run(PATHCHECK_BIN, args, timeoutMs);
}

/** Run the built `pathcheckd` once (bounded; killed past the bound). */
export function runPathcheckd(args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return run(PATHCHECKD_BIN, args, timeoutMs);
}
