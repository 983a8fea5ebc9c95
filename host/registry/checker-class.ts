import { ABI_VERSION } from '../abi/abi-version.js';
import { CHECKER_NAME } from '../abi/checker-name.js';
import { MessageTable } from '../abi/message.js';
import { MAX_MESSAGES } from '../pool/read-metadata.js';
import type { ClassMetadata } from '../pool/worker-cells.js';
import { ContextTable, type ContextHandle } from './context-table.js';
import { LoadError } from './load-error.js';
import { MemoryLayout } from './memory-layout.js';
import { GUARD_BYTES, type MemoryGuard } from '../pool/memory-guard.js';
import { RefCount } from './refcount.js';
import { StrikeWindow } from './strike-window.js';
import { missingExports, type ValidatedModule } from './validate-module.js';

const MAX_CTX_SIZE = 65536;
const MAX_SCRATCH_SIZE = 65536;

export type ClassState = 'current' | 'draining' | 'quarantined' | 'unloaded';

export interface ClassOptions {
  readonly origin: string;
  readonly maxPages: number;
  readonly scratchRegions: number;
  /** Strikes within `strikeWindowMs` that quarantine the class. */
  readonly strikeLimit: number;
  readonly strikeWindowMs: number;
  readonly onUnloaded: (cls: CheckerClass) => void;
  readonly onRefcountError: (cls: CheckerClass, count: number) => void;
}

function isSize(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
}

/**
 * A loaded checker class: its compiled module, its shared memory, its contexts, its reference count
 * and what its metadata exports answered (read on a worker: no plugin code runs on this thread).
 */
export class CheckerClass {
  readonly name: string;
  readonly abiVersion: number;
  readonly ctxSize: number;
  readonly scratchSize: number;
  /** Where in a path's context the multipath context word goes (docs/ABI.md "Multipath context"); -1: the class has none. */
  readonly mpctxOffset: number;
  readonly messages: MessageTable;
  readonly layout: MemoryLayout;
  readonly refs: RefCount;
  state: ClassState = 'current';
  /** Bound checkers and in-flight jobs, for introspection (the refcount is what governs lifetime). */
  checkers = 0;
  jobs = 0;
  /** Load sequence number of this name, given by the registry once the name is known. */
  version = 0;
  /** Why no check of this class is dispatched any more, or null; only a new version lifts it. */
  quarantine: string | null = null;
  readonly strikes: StrikeWindow;
  private mem: WebAssembly.Memory | null;
  /** Null once unloaded, with the memory it guards. */
  private guard: MemoryGuard | null;
  /** Contexts whose pc_init failed: pc_free is not called for them (their plugin may be stuck in it). */
  private readonly initFailed = new Set<number>();

  /** Throws LoadError with one line when the metadata is not acceptable. */
  constructor(
    readonly id: number,
    readonly validated: ValidatedModule,
    metadata: ClassMetadata,
    guard: MemoryGuard,
    memory: WebAssembly.Memory,
    readonly contexts: ContextTable,
    private readonly opts: ClassOptions,
  ) {
    const origin = opts.origin;
    if (metadata.abiVersion !== ABI_VERSION) {
      throw new LoadError('abi-version', `${origin}: plugin ABI version ${String(metadata.abiVersion)}, this host implements version ${ABI_VERSION} (rebuild the checker against the v2 SDK)`);
    }
    if (validated.missing.length > 0) throw new LoadError('missing-export', missingExports(origin, validated.missing));
    const name = metadata.name;
    if (name === null || !CHECKER_NAME.test(name)) {
      throw new LoadError('bad-export', `${origin}: pc_name must be 1-32 characters of a-z, 0-9, '_' or '-', got ${JSON.stringify(name)}`);
    }
    if (!isSize(metadata.ctxSize, MAX_CTX_SIZE)) throw new LoadError('bad-export', `${origin}: pc_ctx_size ${String(metadata.ctxSize)} is outside 0..${MAX_CTX_SIZE}`);
    if (!isSize(metadata.scratchSize, MAX_SCRATCH_SIZE)) throw new LoadError('bad-export', `${origin}: pc_scratch_size ${String(metadata.scratchSize)} is outside 0..${MAX_SCRATCH_SIZE}`);
    if (!isSize(metadata.msgCount, MAX_MESSAGES)) throw new LoadError('bad-export', `${origin}: pc_msg_count ${String(metadata.msgCount)} is outside 0..${MAX_MESSAGES}`);
    const mp = metadata.mpctxOffset;
    if (mp !== -1 && !(isSize(mp, Number(metadata.ctxSize) - 8) && mp % 8 === 0)) {
      throw new LoadError('bad-export', `${origin}: pc_mpctx_offset ${String(mp)} must be -1 or a multiple of 8 from 0 to pc_ctx_size - 8 (${Number(metadata.ctxSize) - 8})`);
    }
    const bad = metadata.messages.findIndex((m) => m === null);
    if (bad >= 0) throw new LoadError('bad-export', `${origin}: message ${100 + bad} is not a valid UTF-16 string in memory`);
    this.name = name;
    this.abiVersion = metadata.abiVersion;
    this.ctxSize = metadata.ctxSize;
    this.scratchSize = metadata.scratchSize;
    this.mpctxOffset = mp as number;
    this.messages = new MessageTable(name, metadata.messages as string[]);
    this.layout = new MemoryLayout(validated.dataEnd, this.scratchSize, opts.scratchRegions, this.ctxSize);
    const maximum = Math.min(validated.memory.max!, opts.maxPages);
    if (this.layout.pagesFor(0) > maximum) {
      throw new LoadError('memory', `${origin}: data and scratch need ${this.layout.pagesFor(0)} pages, over the memory maximum of ${maximum}`);
    }
    this.strikes = new StrikeWindow(opts.strikeLimit, opts.strikeWindowMs);
    this.refs = new RefCount(() => this.unload(), (count) => opts.onRefcountError(this, count));
    this.mem = memory;
    this.guard = guard;
    this.growTo(0);
    // The guard after the data, and after each scratch region (the last one precedes context 0).
    guard.seal(this.layout.scratchBase - GUARD_BYTES);
    for (let r = 0; r < opts.scratchRegions; r++) guard.seal(this.layout.scratch(r + 1) - GUARD_BYTES);
  }

  get origin(): string {
    return this.opts.origin;
  }

  get sha256(): string {
    return this.validated.sha256;
  }

  get memory(): WebAssembly.Memory | null {
    return this.mem;
  }

  /** Bytes of class memory currently committed (0 once unloaded). */
  get memoryBytes(): number {
    return this.mem?.buffer.byteLength ?? 0;
  }

  /**
   * A new context slot for a path on device `deviceId`, zeroed, with one holder (the checker); pc_init
   * runs next, on a worker. The caller has already taken the class reference this context stands for.
   */
  openContext(deviceId: number): ContextHandle {
    const handle = this.contexts.acquire();
    if (handle === null) throw new Error(`${this.name}: all ${this.contexts.capacity} context slots are in use`);
    try {
      this.growTo(handle.slot + 1);
    } catch (e) {
      this.contexts.release(handle);
      this.contexts.recycle(handle);
      throw e;
    }
    const at = this.layout.ctx(handle.slot);
    new Uint8Array(this.mem!.buffer, at, this.layout.ctxBytes).fill(0);
    // The guard after the slot is the one before the next slot, whose calls may be checking it right
    // now: it is written with the same words it holds when intact (sealing is idempotent), never cleared.
    this.guard!.seal(at + this.layout.ctxStride - GUARD_BYTES);
    this.contexts.setSum(handle.slot, this.guard!.sum(at, this.layout.ctxBytes));
    this.initFailed.delete(handle.slot);
    this.contexts.setDevice(handle.slot, deviceId);
    return handle;
  }

  /**
   * Put the multipath context word into a path's context before its check (no call runs on it then), and
   * take the context's checksum again: the host's own write is no corruption.
   */
  putMultipathWord(slot: number, word: bigint): void {
    const at = this.layout.ctx(slot);
    new BigInt64Array(this.mem!.buffer, at + this.mpctxOffset, 1)[0] = word;
    this.contexts.setSum(slot, this.guard!.sum(at, this.layout.ctxBytes));
  }

  /** The multipath context word as the path's check left it. */
  multipathWord(slot: number): bigint {
    return new BigInt64Array(this.mem!.buffer, this.layout.ctx(slot) + this.mpctxOffset, 1)[0]!;
  }

  markInitFailed(handle: ContextHandle): void {
    this.initFailed.add(handle.slot);
  }

  /** Whether the plugin's pc_free should run for this context once its last holder lets go. */
  needsFree(handle: ContextHandle): boolean {
    return !this.initFailed.has(handle.slot);
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

  /** Refcount reached zero: release the memory, tell the registry (which drops the workers' instances). Once only. */
  private unload(): void {
    if (this.state === 'unloaded') return;
    this.state = 'unloaded';
    this.mem = null;
    this.guard = null;
    this.opts.onUnloaded(this);
  }
}
