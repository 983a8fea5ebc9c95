import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, ftruncateSync, readdirSync, readFileSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { GiveUp, tempDir, waitUntil } from './daemon-process.js';

/**
 * A real Linux iSCSI target (Debian's tgt: tgtd + tgtadm) for the iSCSI backend's tests.
 *
 * Isolation: every tgtd gets its own temp dir, and TGT_IPC_SOCKET points its management socket and
 * lock file (`<dir>/ipc.<control port>`, `.lock`) there instead of the shared /var/run/tgtd/socket.N,
 * so parallel vitest files can never reach each other's tgtd; the portal is a kernel-chosen free
 * port on 127.0.0.1, and the fixture checks the listening socket belongs to its own tgtd (tgtd keeps
 * running when its portal bind fails, and another tgtd may then be the one answering on that port).
 * Every wait is bounded and names what did not happen.
 */

export interface LunSpec {
  /** 1..255 (LUN 0 is tgtd's own controller LUN). */
  readonly lun: number;
  readonly sizeMiB: number;
  /** INQUIRY vendor, at most 8 characters (tgtd's default: "IET"). */
  readonly vendor?: string;
  /** INQUIRY product, at most 16 characters (tgtd's default: "VIRTUAL-DISK"). */
  readonly product?: string;
}

export interface Chap {
  readonly user: string;
  readonly secret: string;
}

export interface TargetSpec {
  readonly iqn: string;
  readonly luns: readonly LunSpec[];
  /** Incoming CHAP: the initiator must log in with this user and secret. */
  readonly chap?: Chap;
}

export interface TgtdOptions {
  readonly targets: readonly TargetSpec[];
}

const HOST = '127.0.0.1';
/** Bound for one tgtadm call, one start, one exit. */
const STEP_MS = 5_000;
const STDERR_TAIL = 2_000;
const MAX_PORT_TRIES = 3;

const unavailable = (why: string): Error => new Error(`tgtd is not available: ${why} (install Debian package tgt)`);

export interface ToolResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a tool once, killed (SIGKILL) past `timeoutMs`; never rejects for a non-zero exit. */
export function runTool(bin: string, args: readonly string[], timeoutMs = STEP_MS, env?: NodeJS.ProcessEnv): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      if (e !== null && typeof e.code === 'string') {
        reject(new Error(`cannot run ${bin}: ${e.code}`));
        return;
      }
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** tgt installs into /usr/sbin, which a non-root PATH often lacks. */
function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const found = dirs.filter((d) => d !== '').map((d) => join(d, name)).find((p) => existsSync(p));
  if (found === undefined) throw unavailable(`${name} not found on PATH or in /usr/sbin`);
  return found;
}

function checkSpec(t: TargetSpec): void {
  if (!/^iqn\.\d{4}-\d{2}\.[a-z0-9.:-]+$/.test(t.iqn)) throw new Error(`tgtd fixture: bad target name ${JSON.stringify(t.iqn)} (want iqn.YYYY-MM.name, lower case)`);
  const seen = new Set<number>();
  for (const l of t.luns) {
    if (!Number.isInteger(l.lun) || l.lun < 1 || l.lun > 255 || seen.has(l.lun)) throw new Error(`tgtd fixture: bad or repeated LUN ${l.lun} in ${t.iqn} (want 1..255, each once)`);
    seen.add(l.lun);
    // Up to 4 TiB (sparse): past 2 TiB a LUN needs READ CAPACITY(16) and READ(16).
    if (!Number.isInteger(l.sizeMiB) || l.sizeMiB < 1 || l.sizeMiB > 4 << 20) throw new Error(`tgtd fixture: bad sizeMiB ${l.sizeMiB} for LUN ${l.lun} of ${t.iqn} (want 1..4194304)`);
    // tgtadm splits --params on ',' and '='; INQUIRY fields are printable ASCII.
    for (const [field, value, max] of [['vendor', l.vendor, 8], ['product', l.product, 16]] as const) {
      if (value !== undefined && !(value.length >= 1 && value.length <= max && /^[!-~]+$/.test(value) && !/[,=]/.test(value))) {
        throw new Error(`tgtd fixture: bad ${field} ${JSON.stringify(value)} for LUN ${l.lun} of ${t.iqn} (1..${max} printable characters, no space, ',' or '=')`);
      }
    }
  }
  if (t.chap !== undefined && !(/^[\w.-]{1,64}$/.test(t.chap.user) && /^[\w.-]{12,64}$/.test(t.chap.secret))) {
    throw new Error(`tgtd fixture: bad CHAP account for ${t.iqn} (user 1..64 and secret 12..64 of [A-Za-z0-9_.-])`);
  }
}

/** A port the kernel just handed out on 127.0.0.1 (free now; tgtd binds it next). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, HOST, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port from the kernel'))));
    });
  });
}

/** Inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp; undefined when none. */
function listenerInode(port: number): string | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return f[9];
  }
  return undefined;
}

/** Does process `pid` hold socket `inode`? */
function holdsSocket(pid: number, inode: string): boolean {
  const dir = `/proc/${pid}/fd`;
  try {
    return readdirSync(dir).some((fd) => {
      try {
        return readlinkSync(join(dir, fd)) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function acceptsConnection(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: HOST, port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** The process state letter from /proc/<pid>/stat (R, S, T for stopped, ...). */
function procState(pid: number): string | undefined {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

const live = new Set<Tgtd>();

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  stderr: string;
  exitedWith?: string;
}

export class Tgtd {
  /** Target id -> spec, for the targets tgtd has now (deleted ones gone, added ones in). */
  private readonly targets = new Map<number, TargetSpec>();
  private nextTid = 1;
  private running: Running | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly bins: { readonly tgtd: string; readonly tgtadm: string },
    readonly dir: string,
    readonly controlPort: number,
    private port: number,
  ) {}

  /** Start a tgtd on a free 127.0.0.1 port with `targets` (tids 1, 2, ... in order), bound to ALL initiators. */
  static async start(opts: TgtdOptions): Promise<Tgtd> {
    opts.targets.forEach(checkSpec);
    const bins = { tgtd: findBinary('tgtd'), tgtadm: findBinary('tgtadm') };
    const t = new Tgtd(bins, tempDir(), pickControlPort(), 0);
    live.add(t);
    try {
      await t.launchOnFreePort();
      for (const spec of opts.targets) await t.addTarget(spec);
      return t;
    } catch (e) {
      await t.stop();
      throw e;
    }
  }

  get portalPort(): number {
    return this.port;
  }

  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  /** How the last tgtd ended ("code 0", "signal SIGKILL"), undefined while it runs. */
  get exit(): string | undefined {
    return this.running?.exitedWith;
  }

  /** `iscsi://[user%secret@]127.0.0.1:<port>/<iqn>/<lun>`, libiscsi's URL syntax. */
  url(tid: number, lun: number, chap?: Chap): string {
    const auth = chap === undefined ? '' : `${encodeURIComponent(chap.user)}%${encodeURIComponent(chap.secret)}@`;
    return `iscsi://${auth}${HOST}:${this.port}/${this.target(tid).iqn}/${lun}`;
  }

  /** `iscsi://127.0.0.1:<port>`: the portal, for discovery (iscsi-ls). */
  portalUrl(): string {
    return `iscsi://${HOST}:${this.port}`;
  }

  /** Run tgtadm against this tgtd (its control port and IPC socket); throws on failure. */
  async admin(args: readonly string[]): Promise<string> {
    const env = { ...process.env, TGT_IPC_SOCKET: join(this.dir, 'ipc') };
    const r = await runTool(this.bins.tgtadm, ['-C', String(this.controlPort), '--lld', 'iscsi', ...args], STEP_MS, env);
    if (r.code !== 0) {
      const why = r.signal === 'SIGKILL' ? `no answer within ${STEP_MS / 1000} s` : `exit ${r.code}: ${r.stderr.trim()}`;
      throw new Error(`tgtadm ${args.join(' ')} failed (${why}); tgtd stderr: ${this.stderrTail()}`);
    }
    return r.stdout;
  }

  /** Add a target and its file-backed LUNs (sparse files), bind it to ALL initiators; returns its tid. */
  async addTarget(spec: TargetSpec): Promise<number> {
    checkSpec(spec);
    const tid = this.nextTid++;
    for (const l of spec.luns) {
      const fd = openSync(this.backingFile(tid, l.lun), 'a');
      try {
        ftruncateSync(fd, l.sizeMiB * 1024 * 1024);
      } finally {
        closeSync(fd);
      }
    }
    await this.configure(tid, spec);
    this.targets.set(tid, spec);
    return tid;
  }

  /** Write `bytes` at byte `offset` of a LUN's backing file (tgtd reads it through the same page cache). */
  writeLun(tid: number, lun: number, offset: number, bytes: Uint8Array): void {
    if (!this.target(tid).luns.some((l) => l.lun === lun)) throw new Error(`tgtd fixture: target ${tid} has no LUN ${lun}`);
    const fd = openSync(this.backingFile(tid, lun), 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      closeSync(fd);
    }
  }

  async lunOffline(tid: number, lun: number): Promise<void> {
    await this.setOnline(tid, lun, 0);
  }

  async lunOnline(tid: number, lun: number): Promise<void> {
    await this.setOnline(tid, lun, 1);
  }

  /** Delete a target even with sessions on it (their connections are dropped). */
  async deleteTarget(tid: number): Promise<void> {
    this.target(tid);
    await this.admin(['--op', 'delete', '--mode', 'target', '--tid', String(tid), '--force']);
    this.targets.delete(tid);
  }

  /** SIGSTOP: tgtd keeps its sockets (connects still complete in the kernel) but answers nothing. */
  async freeze(): Promise<void> {
    await this.signalAndWait('SIGSTOP', (s) => s === 'T', 'stop (state T)');
  }

  /** SIGCONT after freeze(). */
  async thaw(): Promise<void> {
    await this.signalAndWait('SIGCONT', (s) => s !== 'T', 'resume (leave state T)');
  }

  /** SIGKILL, then wait for the exit (the files stay, for restart()). */
  async kill(): Promise<void> {
    const r = this.running;
    if (r === undefined) return;
    r.child.kill('SIGKILL');
    await this.awaitExit(r, 'exit after SIGKILL');
  }

  /** Kill if running, then a new tgtd on the same ports with the same targets and backing files (LUNs online). */
  async restart(): Promise<void> {
    if (this.stopping !== undefined) throw new Error('tgtd fixture: restart() after stop()');
    await this.kill();
    await this.launch(false);
    for (const [tid, spec] of [...this.targets].sort(([a], [b]) => a - b)) await this.configure(tid, spec);
  }

  /**
   * Delete every target (--force), then the system, wait for tgtd to exit (SIGKILL as the last
   * resort), remove the temp dir. Idempotent. tgtd 1.0.85 refuses `--op delete --mode system` while
   * any target exists, with or without --force, and ignores SIGTERM.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown().finally(() => live.delete(this));
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const r = this.running;
    try {
      if (r !== undefined && r.exitedWith === undefined) {
        r.child.kill('SIGCONT');
        const graceful = await this.deleteEverything().then(
          () => true,
          () => false,
        );
        if (graceful) await this.awaitExit(r, 'exit after --op delete --mode system').catch(() => undefined);
        if (r.exitedWith === undefined) {
          r.child.kill('SIGKILL');
          await this.awaitExit(r, 'exit after SIGKILL');
        }
      }
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private async deleteEverything(): Promise<void> {
    const shown = await this.admin(['--op', 'show', '--mode', 'target']);
    for (const m of shown.matchAll(/^Target (\d+):/gm)) {
      await this.admin(['--op', 'delete', '--mode', 'target', '--tid', m[1], '--force']);
    }
    await this.admin(['--op', 'delete', '--mode', 'system', '--force']);
  }

  private target(tid: number): TargetSpec {
    const t = this.targets.get(tid);
    if (t === undefined) throw new Error(`tgtd fixture: no target ${tid} (have ${[...this.targets.keys()].join(', ') || 'none'})`);
    return t;
  }

  private backingFile(tid: number, lun: number): string {
    return join(this.dir, `t${tid}-lun${lun}.img`);
  }

  private async configure(tid: number, spec: TargetSpec): Promise<void> {
    const T = String(tid);
    await this.admin(['--op', 'new', '--mode', 'target', '--tid', T, '--targetname', spec.iqn]);
    for (const l of spec.luns) {
      await this.admin(['--op', 'new', '--mode', 'logicalunit', '--tid', T, '--lun', String(l.lun), '--backing-store', this.backingFile(tid, l.lun)]);
      const params = [l.vendor === undefined ? [] : [`vendor_id=${l.vendor}`], l.product === undefined ? [] : [`product_id=${l.product}`]].flat();
      if (params.length > 0) await this.admin(['--op', 'update', '--mode', 'logicalunit', '--tid', T, '--lun', String(l.lun), '--params', params.join(',')]);
    }
    if (spec.chap !== undefined) {
      // Accounts are tgtd-wide: create once, bind to each target that names it.
      const accounts = await this.admin(['--op', 'show', '--mode', 'account']);
      if (!new RegExp(`^\\s+${spec.chap.user}$`, 'm').test(accounts)) {
        await this.admin(['--op', 'new', '--mode', 'account', '--user', spec.chap.user, '--password', spec.chap.secret]);
      }
      await this.admin(['--op', 'bind', '--mode', 'account', '--tid', T, '--user', spec.chap.user]);
    }
    await this.admin(['--op', 'bind', '--mode', 'target', '--tid', T, '--initiator-address', 'ALL']);
  }

  private async setOnline(tid: number, lun: number, online: 0 | 1): Promise<void> {
    this.target(tid);
    await this.admin(['--op', 'update', '--mode', 'logicalunit', '--tid', String(tid), '--lun', String(lun), '--params', `online=${online}`]);
  }

  /** First start: a fresh kernel-chosen port, another one if someone else got there first. */
  private async launchOnFreePort(): Promise<void> {
    let last: unknown;
    for (let i = 0; i < MAX_PORT_TRIES; i++) {
      this.port = await freePort();
      try {
        await this.launch(true);
        return;
      } catch (e) {
        last = e;
        if (!(e instanceof PortTaken)) throw e;
        await this.kill();
      }
    }
    throw last;
  }

  /** Spawn tgtd on this.port and wait until it serves there; `first`: a failure means tgtd is unusable here. */
  private async launch(first: boolean): Promise<void> {
    const portal = `${HOST}:${this.port}`;
    const child = spawn(this.bins.tgtd, ['-f', '-C', String(this.controlPort), '--iscsi', `portal=${portal}`], {
      env: { ...process.env, TGT_IPC_SOCKET: join(this.dir, 'ipc') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r: Running = {
      child,
      stderr: '',
      exited: new Promise((resolve) => {
        child.once('error', (e) => {
          r.exitedWith ??= `spawn error ${e.message}`;
          resolve();
        });
        child.once('exit', (code, signal) => {
          r.exitedWith = signal !== null ? `signal ${signal}` : `code ${code}`;
          resolve();
        });
      }),
    };
    const keep = (b: Buffer): void => {
      r.stderr = (r.stderr + b.toString('utf8')).slice(-STDERR_TAIL);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.running = r;

    const alive = (): void => {
      if (r.exitedWith !== undefined) throw new GiveUp(`tgtd exited (${r.exitedWith})`);
      if (/failed to create\/bind to portal/.test(r.stderr)) throw new PortTaken(portal);
    };
    const bounded = async (what: string, probe: () => boolean | Promise<boolean>): Promise<void> => {
      try {
        await waitUntil(what, async () => (alive(), probe()), STEP_MS, 20);
      } catch (e) {
        if (e instanceof PortTaken) throw e;
        const why = r.exitedWith !== undefined ? `exited (${r.exitedWith}) before it could ${what}` : `did not ${what} within ${STEP_MS / 1000} s`;
        const msg = `tgtd ${why}; stderr: ${this.stderrTail()}`;
        throw first ? unavailable(msg) : new Error(msg);
      }
    };
    await bounded(`open its management socket ${join(this.dir, 'ipc')}.${this.controlPort}`, () => existsSync(`${join(this.dir, 'ipc')}.${this.controlPort}`));
    await bounded(`listen on ${portal} itself`, () => {
      const inode = listenerInode(this.port);
      return inode !== undefined && child.pid !== undefined && holdsSocket(child.pid, inode);
    });
    await bounded(`accept on ${portal}`, () => acceptsConnection(this.port));
  }

  private async awaitExit(r: Running, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, STEP_MS, 'timeout')));
    const how = await Promise.race([r.exited.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (how === 'timeout') throw new Error(`tgtd (pid ${r.child.pid}) did not ${what} within ${STEP_MS / 1000} s; stderr: ${this.stderrTail()}`);
  }

  private async signalAndWait(signal: NodeJS.Signals, done: (state: string | undefined) => boolean, what: string): Promise<void> {
    const pid = this.pid;
    if (pid === undefined || this.running?.exitedWith !== undefined) throw new Error(`tgtd fixture: ${signal} to a tgtd that is not running`);
    process.kill(pid, signal);
    await waitUntil(`tgtd (pid ${pid}) to ${what} after ${signal}`, () => done(procState(pid)), STEP_MS, 10);
  }

  /** For the process exit hook: SIGKILL a tgtd still running, drop its files. */
  killSync(): void {
    if (this.running !== undefined && this.running.exitedWith === undefined) this.running.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private stderrTail(): string {
    const s = this.running?.stderr.trim() ?? '';
    return s === '' ? '(empty)' : s.replace(/\n/g, ' | ');
  }
}

/** Ends a start wait at once: the port went to someone else between freePort() and tgtd's bind. */
class PortTaken extends GiveUp {
  constructor(portal: string) {
    super(`tgtd could not bind ${portal} (taken by another process)`);
  }
}

/**
 * A control port (tgtd takes 0..32767) not used in this process nor by a system tgtd in
 * /var/run/tgtd, so a stray tgtadm -C N without TGT_IPC_SOCKET never reaches a fixture's tgtd.
 */
const usedControlPorts = new Set<number>();
function pickControlPort(): number {
  for (let i = 0; i < 1000; i++) {
    const p = 1024 + Math.floor(Math.random() * (32767 - 1024));
    if (!usedControlPorts.has(p) && !existsSync(`/var/run/tgtd/socket.${p}`)) {
      usedControlPorts.add(p);
      return p;
    }
  }
  throw new Error('tgtd fixture: no free control port found in 1000 tries');
}

/** Stop every tgtd a test started and left running (for afterEach/afterAll). */
export async function stopAllTgtds(): Promise<void> {
  await Promise.all([...live].map((t) => t.stop()));
}

// Last resort when a test process ends without its afterAll: no tgtd outlives it.
process.once('exit', () => {
  for (const t of live) t.killSync();
});
