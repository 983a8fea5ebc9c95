import { ABI_VERSION } from '../abi/abi-version.js';
import { FIRST_MSGID, MessageTable } from '../abi/message.js';
import type { Device } from '../backends/device.js';
import type { DeviceNamespace } from '../shim/device-namespace.js';
import type { LogSink } from '../shim/wasi.js';
import { PluginInstance } from '../pool/plugin-instance.js';
import { ContextTable, type ContextHandle } from './context-table.js';
import { LoadError } from './load-error.js';
import { MemoryLayout } from './memory-layout.js';
import { RefCount } from './refcount.js';
import type { ValidatedModule } from './validate-module.js';
import { CHECKER_NAME } from '../abi/checker-name.js';

const MAX_CTX_SIZE = 65536;
const MAX_SCRATCH_SIZE = 65536;
/** Checker-specific ids must fit the 8 message bits of a check result. */
const MAX_MESSAGES = 256 - FIRST_MSGID;

export type ClassState = 'current' | 'draining' | 'unloaded';

export interface ClassOptions {
  readonly origin: string;
  readonly maxPages: number;
  readonly maxContexts: number;
  readonly scratchRegions: number;
  readonly namespace: DeviceNamespace;
  readonly log?: LogSink;
  readonly onUnloaded: (cls: CheckerClass) => void;
  /** A context was freed: the device it checked (by host-wide id) is no longer used by it. */
  readonly onContextFreed: (deviceId: number) => void;
  readonly onRefcountError: (cls: CheckerClass, count: number) => void;
}

/**
 * A loaded checker class: its compiled module, its shared memory, its contexts and its reference
 * count. The main thread keeps one instance of it (the control instance) for metadata, init and free.
 */
export class CheckerClass {
  readonly name: string;
  readonly abiVersion: number;
  readonly ctxSize: number;
  readonly scratchSize: number;
  readonly messages: MessageTable;
  readonly layout: MemoryLayout;
  readonly contexts: ContextTable;
  readonly refs: RefCount;
  state: ClassState = 'current';
  /** Bound checkers and in-flight jobs, for introspection (the refcount is what governs lifetime). */
  checkers = 0;
  jobs = 0;
  /** Host-wide class id, what a job names; given by the registry. */
  id = 0;
  /** Load sequence number of this name, given by the registry once the name is known. */
  version = 0;
  private controlInstance: PluginInstance | null;
  private mem: WebAssembly.Memory | null;
  private readonly fds = new Map<number, number>();

  constructor(
    readonly validated: ValidatedModule,
    private readonly opts: ClassOptions,
  ) {
    const { memory: lim, module, dataEnd } = validated;
    const origin = opts.origin;
    const maximum = Math.min(lim.max!, opts.maxPages);
    const memory = new WebAssembly.Memory({ initial: Math.min(Math.max(lim.min, 1), maximum), maximum, shared: true });
    let control: PluginInstance;
    try {
      control = PluginInstance.create(module, memory, opts.namespace, opts.log);
    } catch (e) {
      throw new LoadError('instantiate', `${origin}: cannot instantiate: ${(e as Error).message}`);
    }
    const x = control.exports;
    this.abiVersion = x.pc_abi_version();
    if (this.abiVersion !== ABI_VERSION) {
      throw new LoadError('abi-version', `${origin}: plugin ABI version ${this.abiVersion}, this host implements version ${ABI_VERSION}`);
    }
    const name = control.readString(x.pc_name(), x.pc_name_len());
    if (name === null || !CHECKER_NAME.test(name)) {
      throw new LoadError('bad-export', `${origin}: pc_name must be 1-32 characters of a-z, 0-9, '_' or '-', got ${JSON.stringify(name)}`);
    }
    this.name = name;
    this.ctxSize = x.pc_ctx_size();
    this.scratchSize = x.pc_scratch_size();
    if (!(this.ctxSize >= 0 && this.ctxSize <= MAX_CTX_SIZE)) throw new LoadError('bad-export', `${origin}: pc_ctx_size ${this.ctxSize} is outside 0..${MAX_CTX_SIZE}`);
    if (!(this.scratchSize >= 0 && this.scratchSize <= MAX_SCRATCH_SIZE)) throw new LoadError('bad-export', `${origin}: pc_scratch_size ${this.scratchSize} is outside 0..${MAX_SCRATCH_SIZE}`);
    this.messages = new MessageTable(name, readMessages(control, origin));
    this.layout = new MemoryLayout(dataEnd, this.scratchSize, opts.scratchRegions, this.ctxSize);
    if (this.layout.pagesFor(0) > maximum) {
      throw new LoadError('memory', `${origin}: data and scratch need ${this.layout.pagesFor(0)} pages, over the memory maximum of ${maximum}`);
    }
    this.contexts = new ContextTable(opts.maxContexts);
    this.refs = new RefCount(() => this.unload(), (count) => opts.onRefcountError(this, count));
    this.controlInstance = control;
    this.mem = memory;
    this.growTo(0);
  }

  get origin(): string {
    return this.opts.origin;
  }

  get sha256(): string {
    return this.validated.sha256;
  }

  /** The main thread's instance; gone once the class is unloaded. */
  get control(): PluginInstance {
    if (this.controlInstance === null) throw new Error(`${this.name} checker class v${this.version} is unloaded`);
    return this.controlInstance;
  }

  get memory(): WebAssembly.Memory | null {
    return this.mem;
  }

  /** Bytes of class memory currently committed (0 once unloaded). */
  get memoryBytes(): number {
    return this.mem?.buffer.byteLength ?? 0;
  }

  /**
   * A new context for a path on `device`: a slot, the device opened in the control instance, and
   * the plugin's pc_init. The caller has already taken the class reference this context stands for.
   */
  openContext(device: Device, deviceId: number): ContextHandle {
    const handle = this.contexts.acquire();
    if (handle === null) throw new Error(`${this.name}: all ${this.contexts.capacity} context slots are in use`);
    const undo = () => {
      this.contexts.release(handle);
      this.contexts.recycle(handle);
    };
    try {
      this.growTo(handle.slot + 1);
    } catch (e) {
      undo();
      throw e;
    }
    const ptr = this.layout.ctx(handle.slot);
    this.control.memory.bytes(ptr, this.layout.ctxStride).fill(0);
    const rc = this.control.exports.pc_init(ptr);
    if (rc !== 0) {
      undo();
      throw new Error(`${this.name} checker failed to initialize a context (pc_init returned ${rc})`);
    }
    this.fds.set(handle.slot, this.control.shim.fds.openDevice(device));
    this.contexts.setDevice(handle.slot, deviceId);
    return handle;
  }

  fdOf(handle: ContextHandle): number {
    return this.fds.get(handle.slot) ?? -1;
  }

  /**
   * Drop one holder of a context. When the last holder lets go, the plugin frees it, its device fd
   * is closed and the slot is recycled under a new generation. Returns false for a stale handle.
   */
  releaseContext(handle: ContextHandle): boolean {
    const left = this.contexts.release(handle);
    if (left < 0) return false;
    if (left === 0) {
      this.control.exports.pc_free(this.layout.ctx(handle.slot));
      this.control.shim.fds.close(this.fds.get(handle.slot)!);
      this.fds.delete(handle.slot);
      const deviceId = this.contexts.device(handle.slot);
      this.contexts.setDevice(handle.slot, 0);
      this.contexts.recycle(handle);
      this.opts.onContextFreed(deviceId);
    }
    return true;
  }

  private growTo(slots: number): void {
    const memory = this.mem!;
    const have = memory.buffer.byteLength / 65536;
    const need = this.layout.pagesFor(slots);
    if (need <= have) return;
    try {
      memory.grow(need - have);
    } catch {
      throw new Error(`${this.name}: class memory cap of ${this.opts.maxPages} pages reached (${slots} contexts)`);
    }
  }

  /** What a host worker thread needs to run this class (pool/worker-main). */
  descriptor() {
    const l = this.layout;
    return {
      id: this.id,
      module: this.validated.module,
      memory: this.mem!,
      contexts: this.contexts.cells,
      ctxBase: l.ctxBase,
      ctxStride: l.ctxStride,
      scratchBase: l.scratchBase,
      scratchStride: l.scratchStride,
    };
  }

  /** Refcount reached zero: drop the instance, close what is open, release the memory. Once only. */
  private unload(): void {
    if (this.state === 'unloaded') return;
    this.state = 'unloaded';
    for (const fd of this.fds.values()) this.controlInstance?.shim.fds.close(fd);
    this.fds.clear();
    this.controlInstance = null;
    this.mem = null;
    this.opts.onUnloaded(this);
  }
}

function readMessages(control: PluginInstance, origin: string): string[] {
  const x = control.exports;
  const count = x.pc_msg_count();
  if (!(count >= 0 && count <= MAX_MESSAGES)) throw new LoadError('bad-export', `${origin}: pc_msg_count ${count} is outside 0..${MAX_MESSAGES}`);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = FIRST_MSGID + i;
    const text = control.readString(x.pc_msg(id), x.pc_msg_len(id));
    if (text === null) throw new LoadError('bad-export', `${origin}: message ${id} is not a valid UTF-16 string in memory`);
    texts.push(text);
  }
  return texts;
}
