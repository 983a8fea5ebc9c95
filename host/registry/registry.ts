import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Device } from '../backends/device.js';
import { MemoryGuard } from '../pool/memory-guard.js';
import { JobKind, type JobEnd, type WorkerPool } from '../pool/worker-pool.js';
import { CheckerClass, type ClassState } from './checker-class.js';
import { Checker, type Job } from './checker.js';
import { ContextTable, type ContextHandle } from './context-table.js';
import { BindError } from './bind-error.js';
import { LoadError } from './load-error.js';
import { readModule } from './read-module.js';
import { callFailure, callPlugin } from './plugin-call.js';
import { validateModule } from './validate-module.js';
import { hostMessage } from '../abi/message.js';

export interface RegistryOptions {
  /** Class memory cap in 64 KiB pages (default 4096: 256 MiB). */
  readonly maxPages?: number;
  /** Context slots per class (default 65536). */
  readonly maxContexts?: number;
  /** Scratch regions per class: one per host thread that may run it. */
  readonly scratchRegions: number;
  /** Deadline of the metadata read at load and of pc_free (default 5000 ms); pc_init takes bind's. */
  readonly callTimeoutMs?: number;
  /** Traps and overruns within `strikeWindowMs` (default 60 s) that quarantine a class (default 5). */
  readonly strikeLimit?: number;
  readonly strikeWindowMs?: number;
  /** The host worker threads every plugin call runs on; told about every class and device. */
  readonly pool: WorkerPool;
}

export interface LoadOptions {
  /** Refuse the module unless its sha256 (hex) is this. */
  readonly sha256?: string;
  /** How the module is named in errors (default: its path, or `<bytes>`). */
  readonly origin?: string;
  /** Refuse the module unless its pc_name is this (the name it was looked up by), before it replaces anything. */
  readonly name?: string;
}

export interface ClassInfo {
  readonly name: string;
  readonly version: number;
  readonly abiVersion: number;
  readonly sha256: string;
  readonly origin: string;
  readonly state: ClassState;
  /** Why it is quarantined (no check of it is dispatched), or null. */
  readonly quarantine: string | null;
  /** Traps and overruns within the strike window (quarantined at the limit). */
  readonly strikes: number;
  /** Workers that have not yet acknowledged dropping their instance of an unloaded class. */
  readonly releasePending: number;
  readonly refcount: number;
  readonly checkers: number;
  readonly contexts: number;
  readonly inFlight: number;
  readonly memoryBytes: number;
}

export type RegistryEvent =
  | { readonly type: 'loaded'; readonly name: string; readonly version: number; readonly sha256: string }
  | { readonly type: 'unloaded'; readonly name: string; readonly version: number }
  | { readonly type: 'refcount-error'; readonly name: string; readonly version: number; readonly count: number }
  | { readonly type: 'call-failed'; readonly name: string; readonly version: number; readonly message: string }
  /** The class is no longer dispatched: `reason` is the sentence after "<name> checker quarantined: ". */
  | { readonly type: 'quarantined'; readonly name: string; readonly version: number; readonly reason: string }
  /** Every worker has dropped its instance of an unloaded class: its memory and code can go. */
  | { readonly type: 'released'; readonly name: string; readonly version: number }
  /** What a plugin wrote to stdout or stderr, capped and rate-limited per class; `dropped` bytes did not fit. */
  | { readonly type: 'plugin-output'; readonly name: string; readonly version: number; readonly stream: 'stdout' | 'stderr'; readonly text: string; readonly dropped: number };

/**
 * Checker classes by name. The registry holds one reference on each class while it is the current
 * version of its name; bound checkers and in-flight jobs hold the others (DESIGN.md invariant 1).
 */
export class Registry extends EventEmitter<{ event: [RegistryEvent] }> {
  private readonly currentByName = new Map<string, CheckerClass>();
  private readonly live = new Set<CheckerClass>();
  /** Unloaded classes some worker has not yet acknowledged dropping, by class id. */
  private readonly releasing = new Map<number, CheckerClass>();
  private readonly versions = new Map<string, number>();
  private nextClassId = 1;
  private nextDeviceId = 1;
  private readonly maxPages: number;
  private readonly maxContexts: number;
  /** Deadline of the metadata read and of pc_free; the daemon keeps it at checker_timeout. */
  callTimeoutMs: number;
  private readonly pool: WorkerPool;

  constructor(private readonly opts: RegistryOptions) {
    super();
    this.maxPages = opts.maxPages ?? 4096;
    this.maxContexts = opts.maxContexts ?? 65536;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.pool = opts.pool;
    this.pool.on('class', (r) => {
      if (r.type === 'output') {
        const cls = this.byId(r.classId);
        if (cls !== undefined) this.emit('event', { type: 'plugin-output', name: cls.name, version: cls.version, stream: r.stream, text: r.text, dropped: r.dropped });
        return;
      }
      const cls = this.releasing.get(r.classId);
      if (cls === undefined) return;
      this.releasing.delete(r.classId);
      this.emit('event', { type: 'released', name: cls.name, version: cls.version });
    });
  }

  /**
   * Load a class from a .wasm path or bytes: validated and compiled here, its metadata exports read on
   * a worker with a deadline. It becomes the current version of its name at once; an older version
   * stops taking new checkers and drains (hot reload, DESIGN.md invariant 7).
   */
  async load(source: string | Uint8Array<ArrayBuffer>, opts: LoadOptions = {}): Promise<CheckerClass> {
    const origin = opts.origin ?? (typeof source === 'string' ? source : '<bytes>');
    const bytes = typeof source === 'string' ? await readModule(source) : source;
    const validated = await validateModule(bytes, origin, { ...(opts.sha256 !== undefined && { sha256: opts.sha256 }), maxPages: this.maxPages });
    const { memory: lim, module } = validated;
    const maximum = Math.min(lim.max!, this.maxPages);
    const memory = new WebAssembly.Memory({ initial: Math.min(Math.max(lim.min, 1), maximum), maximum, shared: true });
    const contexts = new ContextTable(this.maxContexts);
    const id = this.nextClassId++;
    const guardKey = randomBytes(4).readInt32LE();
    this.pool.addClass({ id, module, memory, contexts: contexts.cells, guardKey });
    let cls: CheckerClass;
    try {
      const end = await callPlugin(this.pool, JobKind.PROBE, id, 0, 0, 0, this.callTimeoutMs);
      if (end.kind !== 'returned' || end.late || end.metadata === undefined) {
        throw new LoadError(end.kind === 'trapped' ? 'trap' : 'timeout', `${origin}: reading its metadata exports ${callFailure(end, this.callTimeoutMs)}`);
      }
      cls = new CheckerClass(id, validated, end.metadata, new MemoryGuard(memory, guardKey), memory, contexts, {
        origin,
        maxPages: this.maxPages,
        scratchRegions: this.opts.scratchRegions,
        strikeLimit: this.opts.strikeLimit ?? 5,
        strikeWindowMs: this.opts.strikeWindowMs ?? 60_000,
        onUnloaded: (c) => {
          this.live.delete(c);
          if (this.currentByName.get(c.name) === c) this.currentByName.delete(c.name);
          this.emit('event', { type: 'unloaded', name: c.name, version: c.version });
          this.releasing.set(c.id, c);
          this.pool.dropClass(c.id);
        },
        onRefcountError: (c, count) => this.emit('event', { type: 'refcount-error', name: c.name, version: c.version, count }),
      });
      if (opts.name !== undefined && cls.name !== opts.name) throw new LoadError('bad-export', `${origin}: its pc_name is '${cls.name}', not '${opts.name}'`);
    } catch (e) {
      this.pool.dropClass(id);
      throw e;
    }
    this.pool.setLayout(id, cls.layout);
    const version = (this.versions.get(cls.name) ?? 0) + 1;
    this.versions.set(cls.name, version);
    cls.version = version;
    cls.refs.ref();
    this.live.add(cls);
    const previous = this.currentByName.get(cls.name);
    this.currentByName.set(cls.name, cls);
    this.emit('event', { type: 'loaded', name: cls.name, version, sha256: cls.sha256 });
    if (previous !== undefined) this.retire(previous);
    return cls;
  }

  /** A live or releasing class by id (output may arrive after the class unloaded). */
  private byId(id: number): CheckerClass | undefined {
    for (const c of this.live) if (c.id === id) return c;
    return this.releasing.get(id);
  }

  current(name: string): CheckerClass | undefined {
    return this.currentByName.get(name);
  }

  /** What `show checkers` prints: one row per live class, and per unloaded one not yet released by every worker. */
  describe(): ClassInfo[] {
    return [...this.live, ...this.releasing.values()].map((c) => ({
      name: c.name,
      version: c.version,
      abiVersion: c.abiVersion,
      sha256: c.sha256,
      origin: c.origin,
      state: c.quarantine !== null && c.state !== 'unloaded' ? 'quarantined' : c.state,
      quarantine: c.quarantine,
      strikes: c.strikes.count(),
      releasePending: this.pool.releasePending(c.id),
      refcount: c.refs.count,
      checkers: c.checkers,
      contexts: c.contexts.inUse,
      inFlight: c.jobs,
      memoryBytes: c.memoryBytes,
    }));
  }

  /** Every class still alive: current ones and draining ones. */
  classes(): CheckerClass[] {
    return [...this.live];
  }

  /** Drop the registry's reference on the current class of `name`; it unloads when its last holder lets go. */
  unload(name: string): boolean {
    const cls = this.currentByName.get(name);
    if (cls === undefined) return false;
    this.currentByName.delete(name);
    this.retire(cls);
    return true;
  }

  /** Unload every current class no path is bound to (after a reconfigure, say); returns their names. */
  unloadUnused(): string[] {
    // A name counts as used while any version of it has paths (a new version they could not move to included).
    const used = new Set([...this.live].filter((c) => c.checkers > 0).map((c) => c.name));
    const names = [...this.currentByName.keys()].filter((name) => !used.has(name));
    for (const name of names) this.unload(name);
    return names;
  }

  private retire(cls: CheckerClass): void {
    cls.state = 'draining';
    cls.refs.unref();
  }

  /**
   * Judge how a plugin call of `cls` ended (DESIGN.md "containment"). A trap, a call still running on
   * its thread past its deadline, a lost thread or a wait on nothing is a strike; at the class's strike
   * limit within its window, or at once for memory corruption, the class is quarantined: nothing of it
   * is dispatched again, and only a new version serves its paths. `spec` is the device of the path the
   * call was for. A device that is slow (a parked call abandoned) is not the class's fault.
   */
  account(cls: CheckerClass, end: JobEnd, call: 'check' | 'pc_init' | 'pc_free', spec: string): void {
    // The common case first, and nothing built for it: this runs at the end of every check.
    if (end.kind === 'returned' || cls.quarantine !== null) return;
    const named = (): string => (call === 'check' ? `the check of ${spec}` : `${call} for ${spec}`);
    if (end.kind === 'corrupt') {
      return this.quarantine(cls, end.how === 'overran' ? `${named()} wrote outside its context slot` : `the context of ${spec} was changed between its calls, by another call of the class`);
    }
    const what = strikeOf(end);
    if (what === null) return;
    if (cls.strikes.add(performance.now())) {
      this.quarantine(cls, `${cls.strikes.limit} failures within ${cls.strikes.windowMs / 1000} s; the last: ${named()} ${what}`);
    }
  }

  private quarantine(cls: CheckerClass, reason: string): void {
    cls.quarantine = reason;
    this.pool.quarantine(cls.id);
    this.emit('event', { type: 'quarantined', name: cls.name, version: cls.version, reason });
  }

  /**
   * Bind a path on `device` to the current class of `name`: one class reference, one context, and the
   * plugin's pc_init run on a worker within `timeoutMs` (it may wait for the device like a check).
   * Rejects with one line when init fails; nothing is left held then but what a stuck init still holds
   * until its worker is gone.
   */
  async bind(name: string, device: Device, timeoutMs = this.callTimeoutMs): Promise<Checker> {
    const cls = this.currentByName.get(name);
    if (cls === undefined) throw new BindError(`no checker class named '${name}' is loaded`);
    if (cls.quarantine !== null) throw new BindError(hostMessage.quarantined(name, cls.quarantine));
    cls.refs.ref();
    const deviceId = this.nextDeviceId++;
    let handle: ContextHandle;
    try {
      handle = cls.openContext(deviceId);
    } catch (e) {
      cls.refs.unref();
      throw new BindError((e as Error).message);
    }
    this.pool.addDevice(deviceId, device);
    const job: Job = { cls, handle, deviceId, spec: device.spec };
    this.hold(job);
    const end = await callPlugin(this.pool, JobKind.INIT, cls.id, handle.slot, handle.gen, deviceId, timeoutMs, (e) => {
      this.account(cls, e, 'pc_init', device.spec);
      this.endJob(job);
    });
    if (end.kind === 'returned' && !end.late && end.raw === 0) {
      cls.checkers++;
      return new Checker(cls, handle, device, deviceId);
    }
    cls.markInitFailed(handle);
    this.releaseHold(job);
    cls.refs.unref();
    if (end.kind === 'returned' && !end.late) throw new BindError(`${cls.name} checker failed to initialize a context (pc_init returned ${end.raw})`);
    throw new BindError(`${cls.name} checker pc_init ${callFailure(end, timeoutMs)}`);
  }

  /**
   * Let go of a path's context and class reference. A check in flight, running or parked, keeps its own
   * until it ends or its deadline passes (the class drains). A second unbind is refused, never a second
   * release.
   */
  unbind(checker: Checker): void {
    if (!checker.bound) throw new Error(`checker for ${checker.device.spec} is already unbound`);
    checker.bound = false;
    checker.cls.checkers--;
    this.releaseHold(checker.job);
    checker.cls.refs.unref();
  }

  /**
   * Take the class reference and the context hold for one check, before anything runs it
   * (DESIGN.md invariant 2). Null when the checker is unbound or its handle is stale.
   */
  beginJob(checker: Checker): Job | null {
    if (!checker.bound) return null;
    return this.hold(checker.job) ? checker.job : null;
  }

  private hold(job: Job): boolean {
    if (!job.cls.contexts.hold(job.handle)) return false;
    job.cls.refs.ref();
    job.cls.jobs++;
    return true;
  }

  /** The job ended, however it ended: release its hold and reference, in that order. */
  endJob(job: Job): void {
    job.cls.jobs--;
    this.releaseHold(job);
    job.cls.refs.unref();
  }

  /**
   * Drop one holder of a context. When the last one lets go, the plugin's pc_free runs on a worker
   * (holding a class reference of its own); then the context's device is dropped and the slot recycled
   * under a new generation.
   */
  private releaseHold(job: Job): void {
    const { cls, handle } = job;
    if (cls.contexts.release(handle) !== 0) return;
    cls.refs.ref();
    const recycle = (end?: JobEnd) => {
      if (end !== undefined) this.account(cls, end, 'pc_free', job.spec);
      // At shutdown a pc_free still queued does not run: nothing failed.
      // A pc_free a quarantine stopped did not fail either: it was not run.
      if (end !== undefined && end.kind !== 'closed' && !(end.kind === 'stale' && cls.quarantine !== null) && !(end.kind === 'returned' && !end.late)) {
        this.emit('event', { type: 'call-failed', name: cls.name, version: cls.version, message: `${cls.name} checker pc_free ${callFailure(end, this.callTimeoutMs)}` });
      }
      cls.contexts.setDevice(handle.slot, 0);
      cls.contexts.recycle(handle);
      this.pool.dropDevice(job.deviceId);
      cls.refs.unref();
    };
    // A quarantined class runs no plugin code at all, pc_free included.
    if (!cls.needsFree(handle) || cls.quarantine !== null) return recycle();
    void callPlugin(this.pool, JobKind.FREE, cls.id, handle.slot, handle.gen, job.deviceId, this.callTimeoutMs, recycle);
  }
}

/** What makes an end a strike against its class, as the end of a sentence; null: no strike. */
function strikeOf(end: JobEnd): string | null {
  switch (end.kind) {
    case 'trapped':
      return `trapped: ${end.reason}`;
    // A late return is no strike: its deadline counts queue and device time too (a call resumed just
    // before it ends just after); a call that really holds its thread is preempted or terminated.
    case 'terminated':
      // A blocking device held the thread: the device's fault, not the class's.
      return end.inDevice ? null : `did not finish: ${end.reason}`;
    case 'preempted':
      return `was preempted: ${end.reason}`;
    case 'bad-wait':
      return `waited on fd ${end.fd} with no command outstanding`;
    default:
      return null;
  }
}
