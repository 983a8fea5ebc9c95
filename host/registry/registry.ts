import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Device } from '../backends/device.js';
import { DeviceNamespace } from '../shim/device-namespace.js';
import type { LogSink } from '../shim/wasi.js';
import { CheckerClass } from './checker-class.js';
import { Checker, type Job } from './checker.js';
import { LoadError } from './load-error.js';
import { validateModule } from './validate-module.js';
import type { WorkerPool } from '../pool/worker-pool.js';

export interface RegistryOptions {
  /** Class memory cap in 64 KiB pages (default 4096: 256 MiB). */
  readonly maxPages?: number;
  /** Context slots per class (default 65536). */
  readonly maxContexts?: number;
  /** Scratch regions per class: one per host thread that may run it (default: cores + 1). */
  readonly scratchRegions?: number;
  readonly namespace?: DeviceNamespace;
  readonly log?: LogSink;
  /** Host worker threads to run checks on; told about every class and device it may meet. */
  readonly pool?: WorkerPool;
}

export interface LoadOptions {
  /** Refuse the module unless its sha256 (hex) is this. */
  readonly sha256?: string;
  /** How the module is named in errors (default: its path, or `<bytes>`). */
  readonly origin?: string;
}

export interface ClassInfo {
  readonly name: string;
  readonly version: number;
  readonly abiVersion: number;
  readonly sha256: string;
  readonly origin: string;
  readonly state: 'current' | 'draining' | 'unloaded';
  readonly refcount: number;
  readonly checkers: number;
  readonly contexts: number;
  readonly inFlight: number;
  readonly memoryBytes: number;
}

export type RegistryEvent =
  | { readonly type: 'loaded'; readonly name: string; readonly version: number; readonly sha256: string }
  | { readonly type: 'unloaded'; readonly name: string; readonly version: number }
  | { readonly type: 'refcount-error'; readonly name: string; readonly version: number; readonly count: number };

/**
 * Checker classes by name. The registry holds one reference on each class while it is the current
 * version of its name; bound checkers and in-flight jobs hold the others (DESIGN.md invariant 1).
 */
export class Registry extends EventEmitter<{ event: [RegistryEvent] }> {
  readonly namespace: DeviceNamespace;
  private readonly currentByName = new Map<string, CheckerClass>();
  private readonly live = new Set<CheckerClass>();
  private readonly versions = new Map<string, number>();
  private nextClassId = 1;
  private nextDeviceId = 1;
  private readonly maxPages: number;
  private readonly maxContexts: number;
  private readonly scratchRegions: number;

  constructor(private readonly opts: RegistryOptions = {}) {
    super();
    this.namespace = opts.namespace ?? new DeviceNamespace();
    this.maxPages = opts.maxPages ?? 4096;
    this.maxContexts = opts.maxContexts ?? 65536;
    this.scratchRegions = opts.scratchRegions ?? availableParallelism() + 1;
  }

  /**
   * Load a class from a .wasm path or bytes. It becomes the current version of its name at once;
   * an older version stops taking new checkers and drains (hot reload, DESIGN.md invariant 7).
   */
  async load(source: string | Uint8Array<ArrayBuffer>, opts: LoadOptions = {}): Promise<CheckerClass> {
    const origin = opts.origin ?? (typeof source === 'string' ? source : '<bytes>');
    const bytes = typeof source === 'string' ? await readModule(source) : source;
    const validated = await validateModule(bytes, origin, { ...(opts.sha256 !== undefined && { sha256: opts.sha256 }), maxPages: this.maxPages });
    const cls: CheckerClass = new CheckerClass(validated, {
      origin,
      maxPages: this.maxPages,
      maxContexts: this.maxContexts,
      scratchRegions: this.scratchRegions,
      namespace: this.namespace,
      ...(this.opts.log !== undefined && { log: this.opts.log }),
      onUnloaded: (c) => {
        this.opts.pool?.dropClass(c.id);
        this.live.delete(c);
        if (this.currentByName.get(c.name) === c) this.currentByName.delete(c.name);
        this.emit('event', { type: 'unloaded', name: c.name, version: c.version });
      },
      onContextFreed: (deviceId) => this.opts.pool?.dropDevice(deviceId),
      onRefcountError: (c, count) => this.emit('event', { type: 'refcount-error', name: c.name, version: c.version, count }),
    });
    const version = (this.versions.get(cls.name) ?? 0) + 1;
    this.versions.set(cls.name, version);
    cls.version = version;
    cls.id = this.nextClassId++;
    this.opts.pool?.addClass(cls.descriptor());
    cls.refs.ref();
    this.live.add(cls);
    const previous = this.currentByName.get(cls.name);
    this.currentByName.set(cls.name, cls);
    this.emit('event', { type: 'loaded', name: cls.name, version, sha256: cls.sha256 });
    if (previous !== undefined) this.retire(previous);
    return cls;
  }

  current(name: string): CheckerClass | undefined {
    return this.currentByName.get(name);
  }

  /** What `show checkers` prints: one row per live class. */
  describe(): ClassInfo[] {
    return this.classes().map((c) => ({
      name: c.name,
      version: c.version,
      abiVersion: c.abiVersion,
      sha256: c.sha256,
      origin: c.origin,
      state: c.state,
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

  private retire(cls: CheckerClass): void {
    cls.state = 'draining';
    cls.refs.unref();
  }

  /** Bind a path on `device` to the current class of `name`: one class reference, one context. */
  bind(name: string, device: Device): Checker {
    const cls = this.currentByName.get(name);
    if (cls === undefined) throw new Error(`no checker class named '${name}' is loaded`);
    cls.refs.ref();
    const deviceId = this.nextDeviceId++;
    try {
      const share = this.opts.pool === undefined ? null : device.share();
      const handle = cls.openContext(device, deviceId);
      if (share !== null) this.opts.pool!.addDevice(deviceId, share);
      cls.checkers++;
      return new Checker(cls, handle, device);
    } catch (e) {
      cls.refs.unref();
      throw e;
    }
  }

  /** Let go of a path's context and class reference. A second unbind is refused, never a second release. */
  unbind(checker: Checker): void {
    if (!checker.bound) throw new Error(`checker for ${checker.device.spec} is already unbound`);
    checker.bound = false;
    checker.cls.checkers--;
    checker.cls.releaseContext(checker.handle);
    checker.cls.refs.unref();
  }

  /**
   * Take the class reference and the context hold for one check, before anything runs it
   * (DESIGN.md invariant 2). Null when the checker is unbound or its handle is stale.
   */
  beginJob(checker: Checker): Job | null {
    if (!checker.bound) return null;
    const { cls, handle } = checker;
    if (!cls.contexts.hold(handle)) return null;
    cls.refs.ref();
    cls.jobs++;
    return checker.job;
  }

  /** The job ended, however it ended: release its hold and reference, in that order. */
  endJob(job: Job): void {
    job.cls.jobs--;
    job.cls.releaseContext(job.handle);
    job.cls.refs.unref();
  }
}

async function readModule(path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new LoadError('unreadable', `cannot read checker module ${path}: ${why}`);
  }
}
