import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isAbsolute, join } from 'node:path';
import { openDevice } from '../backends/device-spec.js';
import type { Device } from '../backends/device.js';
import { iscsiSessions, type TargetEvent } from '../backends/iscsi/iscsi-sessions.js';
import { SimDevice } from '../backends/sim/sim-device.js';
import { CheckHost } from '../registry/check-host.js';
import { readModule } from '../registry/read-module.js';
import type { Checker } from '../registry/checker.js';
import type { CheckerClass } from '../registry/checker-class.js';
import { result, type CheckResult } from '../registry/check-result.js';
import { PathState, type PathStateName } from '../abi/path-state.js';
import { CHECKER_NAME } from '../abi/checker-name.js';
import { hostMessage } from '../abi/message.js';
import { classEventHandler } from './class-events.js';
import { checkerFor, lineToBlame } from './config/checker-selection.js';
import { ConfigError } from './config/config-error.js';
import { chapFor, type DaemonConfig } from './config/daemon-config.js';
import type { DaemonEvent, DaemonEventBody } from './daemon-event.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Multipaths } from './multipaths.js';
import { Scheduler, type ScheduledPath } from './scheduler/scheduler.js';

/** A path the daemon checks: its device, the checker bound to it, and where it came from. */
interface DaemonPath {
  readonly spec: string;
  readonly device: Device;
  checkerName: string;
  checker: Checker;
  /** The binding replaced by a hot reload while its check was still running: until that check ends, the path is pending. */
  draining: Checker | null;
  readonly fromConfig: boolean;
}

/** A refusal a control client caused: answered as an error, the daemon carries on. */
export class DaemonCommandError extends Error {
  override readonly name = 'DaemonCommandError';
}

export interface DaemonOptions {
  readonly config: DaemonConfig;
  readonly log: Logger;
  /** Where `<name>.wasm` checkers are found when the config names no checker_dir. */
  readonly defaultCheckerDir: string;
}

/**
 * pathcheckd's core: the path table, the scheduler (multipathd polling rules), checker classes with
 * hot reload, events and metrics. Nothing here waits on a device: checks run on the worker pool and
 * every command answers from the daemon's own state.
 */
export class Daemon extends EventEmitter<{ event: [DaemonEvent] }> {
  readonly metrics = new Metrics();
  readonly started = Date.now();
  private config: DaemonConfig;
  /** The config's multipaths (paths sharing a wwid) and their checker contexts; new with each config. */
  private multipaths: Multipaths;
  private readonly host: CheckHost;
  private readonly scheduler: Scheduler;
  private readonly paths = new Map<string, DaemonPath>();
  /** Commands that change paths or classes run one at a time: each sees the state the last one left. */
  private serial: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private stopping: Promise<number> | null = null;
  /** start() completed: a failed start stops without announcing a shutdown. */
  private running = false;

  constructor(private readonly opts: DaemonOptions) {
    super();
    this.config = opts.config;
    this.multipaths = new Multipaths(opts.config);
    const d = this.config.defaults;
    // Every plugin call (metadata, pc_init, pc_free) gets checker_timeout, as a check does.
    this.host = new CheckHost({ ...(d.workers !== undefined && { size: d.workers }), callTimeoutMs: this.checkerTimeoutMs });
    this.host.registry.on('event', classEventHandler(opts.log, this.metrics, (body) => this.publish(body)));
    this.host.pool.on('event', (e) => {
      if (e.type === 'stuck-cap') opts.log.error(e.message);
      else opts.log.warn(`worker ${e.worker} replaced: ${e.reason}`);
      this.publish(e);
    });
    this.scheduler = new Scheduler(this.schedulerOptions(), (key, timeoutMs) => this.check(key, timeoutMs), (p, r, prev) => this.checked(p, r, prev));
    // Read at each login, so a reconfigure's new secret is used from the next (re)connection on.
    iscsiSessions.credentials = (target) => chapFor(this.config, target);
    iscsiSessions.on('event', this.sessionEvent);
  }

  /**
   * A session's connection came or went: the admin hears why (never the secret: reasons carry none),
   * once per new reason: a target that stays away is not a warning at every backoff.
   */
  private readonly sessionEvent = (e: TargetEvent): void => {
    const who = `iscsi ${e.portal} ${e.target}`;
    if (e.type === 'connected') {
      this.sessionTrouble.delete(who);
      return this.opts.log.info(`${who}: logged in`);
    }
    const line = `${who}: ${e.type === 'login-failed' ? 'login failed' : 'disconnected'}: ${e.reason}`;
    if (this.sessionTrouble.get(who) === line) return;
    this.sessionTrouble.set(who, line);
    this.opts.log.warn(line);
  };
  private readonly sessionTrouble = new Map<string, string>();

  /** Load every checker the config uses, bind every path, start checking. */
  async start(): Promise<void> {
    await this.host.pool.ready();
    for (const p of this.config.paths) {
      try {
        await this.addPathNow(p.device, p.checker ?? checkerFor(this.config, p), true);
      } catch (e) {
        // A path the config names but the daemon cannot use is a config error, at the line to blame.
        throw new ConfigError(this.config.file, lineToBlame(this.config, p, (e as Error).cause), (e as Error).message);
      }
    }
    this.scheduler.start();
    this.running = true;
    this.opts.log.notice(`pathcheckd started: ${this.paths.size} paths, ${this.host.pool.size} workers`);
  }

  private get checkerTimeoutMs(): number {
    return this.config.defaults.checkerTimeout * 1000;
  }

  private schedulerOptions() {
    const d = this.config.defaults;
    return { pollingInterval: d.pollingInterval, maxPollingInterval: d.maxPollingInterval, checkerTimeout: d.checkerTimeout };
  }

  private publish(body: DaemonEventBody): void {
    const event = { ...body, seq: ++this.seq, time: new Date().toISOString() } as DaemonEvent;
    this.emit('event', event);
  }

  private check(key: string, timeoutMs: number): Promise<CheckResult> {
    const p = this.paths.get(key);
    if (p === undefined) return Promise.resolve(result(PathState.REMOVED, 'path removed', 0));
    // At most one check per path in flight, across a hot reload too (DESIGN.md invariant 6).
    if (p.draining?.running) return Promise.resolve(result(PathState.PENDING, hostMessage.pending(), 0));
    p.draining = null;
    return this.host.runner.check(p.checker, timeoutMs, this.multipaths.of(key));
  }

  private checked(path: ScheduledPath, r: CheckResult, previous: PathStateName): void {
    const changed = r.state !== previous;
    this.metrics.recordCheck(r.state, r.ms, changed);
    if (this.opts.log.enabled('debug')) this.opts.log.debug(`${path.key}: checked: ${r.state} in ${r.ms.toFixed(3)} ms`, { message: r.message });
    if (!changed) return;
    const p = this.paths.get(path.key);
    this.opts.log.info(`${path.key}: ${previous} -> ${r.state}`, { message: r.message });
    this.publish({ type: 'state', path: path.key, checker: p?.checkerName ?? '', from: previous, to: r.state, message: r.message });
  }

  /** Where a checker's module comes from: a pin in the config, else checker_dir/<name>.wasm. */
  private modulePath(name: string): { path: string; sha256?: string } {
    const pin = this.config.checkers.find((c) => c.name === name);
    if (pin !== undefined) return { path: pin.path, ...(pin.sha256 !== undefined && { sha256: pin.sha256 }) };
    const dir = this.config.defaults.checkerDir ?? this.opts.defaultCheckerDir;
    return { path: join(isAbsolute(dir) ? dir : join(this.config.file, '..', dir), `${name}.wasm`) };
  }

  /** One mutating operation at a time, in arrival order; a failed one does not block the next. */
  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = this.serial.then(op, op);
    this.serial = run.catch(() => undefined);
    return run;
  }

  /**
   * The current class of `name`, loading it first if needed. `reload`: 'changed' also loads a new
   * version when the file's sha256 differs from the current class's; 'always' loads one regardless.
   * Returns true when a new version replaced a current one.
   */
  private async ensureChecker(name: string, reload: 'no' | 'changed' | 'always' = 'no'): Promise<boolean> {
    // A name, never a path: a client must not make the daemon load a file outside checker_dir.
    if (!CHECKER_NAME.test(name)) throw new DaemonCommandError(`checker name ${JSON.stringify(name)} is not a checker name (1-32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit)`);
    const current = this.host.registry.current(name);
    if (current !== undefined && reload === 'no') return false;
    const { path, sha256 } = this.modulePath(name);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await readModule(path);
    } catch (e) {
      throw new DaemonCommandError(`checker '${name}': ${(e as Error).message}`, { cause: e });
    }
    if (current !== undefined && reload === 'changed' && createHash('sha256').update(bytes).digest('hex') === current.sha256) return false;
    try {
      await this.host.registry.load(bytes, { origin: path, name, ...(sha256 !== undefined && { sha256 }) });
    } catch (e) {
      throw new DaemonCommandError((e as Error).message, { cause: e });
    }
    return current !== undefined;
  }

  /** Add a path and start checking it. */
  addPath(spec: string, checkerName?: string): Promise<void> {
    return this.exclusive(() => this.addPathNow(spec, checkerName, false));
  }

  private async addPathNow(spec: string, checkerName: string | undefined, fromConfig: boolean): Promise<void> {
    if (this.paths.has(spec)) throw new DaemonCommandError(`path ${spec} already exists`);
    const name = checkerName ?? this.config.defaults.pathChecker;
    let device: Device;
    try {
      device = openDevice(spec);
    } catch (e) {
      throw new DaemonCommandError((e as Error).message);
    }
    let checker: Checker;
    try {
      await this.ensureChecker(name);
      if (this.paths.has(spec)) throw new DaemonCommandError(`path ${spec} already exists`);
      checker = await this.bind(name, device);
    } catch (e) {
      // pc_init may have used the device (an iSCSI session taken): a path that never was lets it go.
      device.close();
      throw e;
    }
    this.paths.set(spec, { spec, device, checkerName: name, checker, draining: null, fromConfig });
    this.scheduler.add(spec);
    // Config paths are counted in the start-up and reconfigure notices; one a client added is said here.
    if (!fromConfig) this.opts.log.notice(`path ${spec} added (checker ${name})`);
    this.publish({ type: 'path-added', path: spec, checker: name });
  }

  /** Stop checking a path; a check of it still in flight finishes on its own and is ignored. */
  delPath(spec: string): void {
    const p = this.paths.get(spec);
    if (p === undefined) throw new DaemonCommandError(`no path ${spec}`);
    this.scheduler.remove(spec);
    this.paths.delete(spec);
    this.host.registry.unbind(p.checker);
    p.device.close();
    if (!p.fromConfig) this.opts.log.notice(`path ${spec} removed`);
    this.publish({ type: 'path-removed', path: spec });
  }

  /** Change a simulated device's scenario at run time. */
  fault(spec: string, scenario: string): void {
    const p = this.paths.get(spec);
    if (p === undefined) throw new DaemonCommandError(`no path ${spec}`);
    if (!(p.device instanceof SimDevice)) throw new DaemonCommandError(`path ${spec} is not a simulated device`);
    try {
      p.device.setScenario(scenario);
    } catch (e) {
      throw new DaemonCommandError((e as Error).message);
    }
    this.opts.log.notice(`fault injected: ${spec} -> ${scenario}`);
    this.publish({ type: 'fault', path: spec, scenario });
  }

  /**
   * Take a new config: polling settings, paths added and removed, checkers re-read (a changed .wasm
   * is hot-reloaded: its paths are re-bound to the new version, the old one drains). Device specs and
   * checker modules are checked before any path or setting changes, so a bad config leaves the running
   * paths and settings in place (a checker reloaded before the failure still serves its paths).
   */
  reconfigure(next: DaemonConfig): Promise<DaemonEventBody & { type: 'reconfigured' }> {
    return this.exclusive(async () => {
      try {
        return await this.reconfigureNow(next);
      } catch (e) {
        this.opts.log.error(`reconfigure failed, the running configuration stays: ${(e as Error).message}`);
        throw e;
      } finally {
        // However it ended, a class no path uses any more would otherwise stay loaded for good.
        for (const name of this.host.registry.unloadUnused()) this.opts.log.notice(`checker ${name} unloaded: no path uses it`);
      }
    });
  }

  private async reconfigureNow(next: DaemonConfig): Promise<DaemonEventBody & { type: 'reconfigured' }> {
    const previous = this.config;
    // Sim devices' states name their scenarios by index, on every worker: the set cannot change under them.
    if (next.defaults.scenarioFile !== previous.defaults.scenarioFile) {
      throw new DaemonCommandError(`scenario_file cannot change while pathcheckd runs (was ${previous.defaults.scenarioFile ?? 'none'}, now ${next.defaults.scenarioFile ?? 'none'}): restart pathcheckd`);
    }
    const previousMultipaths = this.multipaths;
    this.config = next;
    this.multipaths = new Multipaths(next);
    const wanted = new Map(next.paths.map((p) => [p.device, p.checker ?? checkerFor(next, p)]));
    const names = new Set([...wanted.values(), ...[...this.paths.values()].filter((p) => !p.fromConfig).map((p) => p.checkerName)]);
    const reloaded: string[] = [];
    try {
      for (const spec of wanted.keys()) {
        // A spec is checked by opening it; opening connects nothing, and the device is let go at once.
        if (!this.paths.has(spec)) openDevice(spec).close();
      }
      for (const name of names) if (await this.ensureChecker(name, 'changed')) reloaded.push(name);
    } catch (e) {
      this.config = previous;
      this.multipaths = previousMultipaths;
      // Checkers reloaded before the failure are current now: their paths follow them.
      await this.followCurrent();
      throw e instanceof DaemonCommandError ? e : new DaemonCommandError((e as Error).message);
    }
    this.scheduler.reconfigure(this.schedulerOptions());
    this.host.registry.callTimeoutMs = this.checkerTimeoutMs;
    let removed = 0;
    let added = 0;
    for (const p of [...this.paths.values()]) {
      if (p.fromConfig && !wanted.has(p.spec)) {
        this.delPath(p.spec);
        removed++;
      }
    }
    await this.rebindAll(
      [...this.paths.values()].flatMap((p) => {
        const name = p.fromConfig ? wanted.get(p.spec)! : p.checkerName;
        return name === p.checkerName ? [] : [{ p, name }];
      }),
    );
    await this.followCurrent();
    for (const [spec, name] of wanted) {
      if (!this.paths.has(spec)) {
        await this.addPathNow(spec, name, true);
        added++;
      }
    }
    const body = { type: 'reconfigured' as const, added, removed, reloaded };
    this.opts.log.notice(`reconfigured: ${added} paths added, ${removed} removed, reloaded: ${reloaded.join(', ') || 'none'}`);
    this.publish(body);
    return body;
  }

  /**
   * Hot-reload a checker from its file even if unchanged: a new class version serves every path at
   * once, the old one drains and unloads when its last check ends (DESIGN.md invariant 7).
   */
  reloadChecker(name: string): Promise<number> {
    return this.exclusive(() => this.reloadCheckerNow(name));
  }

  private async reloadCheckerNow(name: string): Promise<number> {
    this.requireCurrent(name);
    await this.ensureChecker(name, 'always');
    const failed = await this.followCurrent();
    const version = this.host.registry.current(name)!.version;
    const stayed = [...this.paths.values()].filter((p) => p.checkerName === name && p.checker.cls.version !== version).length;
    if (stayed > 0) {
      throw new DaemonCommandError(`checker ${name} version ${version} loaded, but ${stayed} paths stay on the previous version: ${failed.get(name) ?? 'pc_init failed'}`);
    }
    this.opts.log.notice(`checker ${name} hot-reloaded: version ${version}`);
    return version;
  }

  /**
   * Drop the registry's reference on a checker no path uses: it unloads once its in-flight checks
   * end. Returns the version unloaded.
   */
  unloadChecker(name: string): Promise<number> {
    return this.exclusive(async () => {
      const { version } = this.requireCurrent(name);
      const used = [...this.paths.values()].filter((p) => p.checkerName === name).length;
      if (used > 0) throw new DaemonCommandError(`checker '${name}' is used by ${used} path${used === 1 ? '' : 's'}; delete or move them first`);
      this.host.registry.unload(name);
      this.opts.log.notice(`checker ${name} v${version} unloaded by request`);
      return version;
    });
  }

  /** The current class of `name`; refused when there is none. */
  private requireCurrent(name: string): CheckerClass {
    const cls = this.host.registry.current(name);
    if (cls === undefined) throw new DaemonCommandError(`checker '${name}' is not loaded`);
    return cls;
  }

  /** Move every path bound to a class that is no longer the current version of its name onto the current one. */
  private async followCurrent(): Promise<Map<string, string>> {
    return this.rebindAll([...this.paths.values()].filter((p) => p.checker.cls !== this.host.registry.current(p.checkerName)).map((p) => ({ p, name: p.checkerName })));
  }

  /**
   * Rebind paths, one at a time: a plugin whose pc_init loops holds a worker until it is replaced, so
   * inits running side by side would take every worker from the healthy paths. The first path a class
   * fails to initialize stops that class's rebinds: its other paths stay on the version that works (one
   * error logged, with the count), and the next reload or reconfigure tries again.
   */
  private async rebindAll(moves: readonly { p: DaemonPath; name: string }[]): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    const skipped = new Map<string, number>();
    for (const { p, name } of moves) {
      if (failed.has(name)) {
        skipped.set(name, (skipped.get(name) ?? 0) + 1);
        continue;
      }
      const error = await this.rebind(p, name);
      if (error !== null) failed.set(name, error);
    }
    for (const [name, n] of skipped) this.opts.log.error(`checker ${name}: ${n} more paths stay on their current binding`);
    return failed;
  }

  /** Bind a path's device to a checker: pc_init runs on a worker, within checker_timeout. */
  private async bind(name: string, device: Device): Promise<Checker> {
    try {
      return await this.host.registry.bind(name, device, this.checkerTimeoutMs);
    } catch (e) {
      throw new DaemonCommandError(`${device.spec}: ${(e as Error).message}`);
    }
  }

  /**
   * Move a path to the current class of `name`; a check in flight on the old binding drains it. If the
   * new binding cannot be made, the path stays on the old one, and the error is logged and returned.
   */
  private async rebind(p: DaemonPath, name: string): Promise<string | null> {
    let checker: Checker;
    try {
      checker = await this.bind(name, p.device);
    } catch (e) {
      this.opts.log.error((e as Error).message);
      return (e as Error).message;
    }
    // Deleted while pc_init ran: the new binding has no path.
    if (this.paths.get(p.spec) !== p) {
      this.host.registry.unbind(checker);
      return null;
    }
    const old = p.checker;
    p.checker = checker;
    p.checkerName = name;
    this.host.registry.unbind(old);
    if (old.running) p.draining = old;
    return null;
  }

  showPaths() {
    return this.scheduler.paths().map((s) => {
      const p = this.paths.get(s.key)!;
      return {
        device: s.key,
        checker: p.checkerName,
        state: s.state,
        message: s.message,
        interval: s.interval,
        lastCheck: s.lastCheck === null ? null : new Date(s.lastCheck).toISOString(),
        nextCheck: new Date(s.nextCheck).toISOString(),
        checks: s.checks,
      };
    });
  }

  showCheckers() {
    return this.host.registry.describe();
  }

  stats() {
    const byState: Record<string, number> = {};
    for (const s of this.scheduler.paths()) byState[s.state] = (byState[s.state] ?? 0) + 1;
    return {
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      paths: this.paths.size,
      pathsByState: byState,
      checks: this.metrics.checks,
      checksByState: Object.fromEntries(this.metrics.checksByState),
      stateChanges: this.metrics.stateChanges,
      pool: this.host.pool.stats(),
      classes: this.host.registry.classes().length,
      ...this.classHealth(),
      classesUnloaded: this.metrics.classesUnloaded,
      quarantines: this.metrics.quarantines,
      pluginOutput: { lines: this.metrics.pluginOutputLines, droppedBytes: this.metrics.pluginOutputDroppedBytes },
      memory: (({ rss, heapUsed }) => ({ rss, heapUsed }))(process.memoryUsage()),
    };
  }

  metricsText(): string {
    const pool = this.host.pool.stats();
    return this.metrics.render({
      paths: this.paths.size,
      classes: this.host.registry.classes().length,
      ...this.classHealth(),
      workers: pool.workers,
      busy: pool.busy,
      stuck: pool.stuck,
      replaced: pool.replaced,
    });
  }

  /** Classes quarantined now, and worker acknowledgements unloaded classes still wait for. */
  private classHealth(): { classesQuarantined: number; releasesPending: number } {
    const rows = this.host.registry.describe();
    return { classesQuarantined: rows.filter((c) => c.state === 'quarantined').length, releasesPending: rows.reduce((n, c) => n + c.releasePending, 0) };
  }

  get configFile(): string {
    return this.config.file;
  }

  /** Graceful stop, bounded even with hung checks; resolves with the checks abandoned. */
  stop(): Promise<number> {
    this.stopping ??= (async () => {
      this.scheduler.stop();
      const { abandoned } = await this.host.close();
      await iscsiSessions.closeAll();
      iscsiSessions.off('event', this.sessionEvent);
      if (this.running) {
        this.publish({ type: 'shutdown', abandoned });
        this.opts.log.notice(`pathcheckd stopped; ${abandoned} checks abandoned`);
      }
      return abandoned;
    })();
    return this.stopping;
  }
}
