import { CONTEXT_FIELDS, ContextField } from '../pool/context-layout.js';

/** A context slot and the generation it was handed out in: what a job carries (DESIGN.md invariant 3). */
export interface ContextHandle {
  readonly slot: number;
  readonly gen: number;
}

const GEN = ContextField.GEN;
const HOLDERS = ContextField.HOLDERS;
const FIELDS = CONTEXT_FIELDS;

/**
 * Context slots of one class, with a generation and a holder count per slot in shared memory.
 * A slot returns to the free list only when its holders reach zero, and its generation moves on then,
 * so a handle from before is refused from that moment (DESIGN.md invariant 4).
 */
export class ContextTable {
  readonly cells: Int32Array;
  private readonly free: number[] = [];
  private highWater = 0;

  constructor(readonly capacity: number) {
    const bytes = capacity * FIELDS * 4;
    // Growable, so that V8 maps it instead of taking it from the malloc heap: only pages of slots in use
    // become resident, and they go back to the system with the class (a freed heap chunk stays in RSS).
    this.cells = new Int32Array(new SharedArrayBuffer(bytes, { maxByteLength: bytes }));
  }

  /** A fresh slot with one holder (the checker), or null when every slot is in use. */
  acquire(): ContextHandle | null {
    const slot = this.free.length > 0 ? this.free.pop()! : this.highWater < this.capacity ? this.highWater++ : -1;
    if (slot < 0) return null;
    Atomics.store(this.cells, slot * FIELDS + HOLDERS, 1);
    return { slot, gen: Atomics.load(this.cells, slot * FIELDS + GEN) };
  }

  /** Add a holder (an in-flight job) if the handle is still current; false for a stale handle. */
  hold(h: ContextHandle): boolean {
    if (!this.isCurrent(h)) return false;
    Atomics.add(this.cells, h.slot * FIELDS + HOLDERS, 1);
    return true;
  }

  isCurrent(h: ContextHandle): boolean {
    return (
      h.slot >= 0 &&
      h.slot < this.highWater &&
      Atomics.load(this.cells, h.slot * FIELDS + GEN) === h.gen &&
      Atomics.load(this.cells, h.slot * FIELDS + HOLDERS) > 0
    );
  }

  /**
   * Drop a holder. Returns the holders left, or -1 for a stale handle (nothing changes). At zero the
   * caller must free the context and then call recycle().
   */
  release(h: ContextHandle): number {
    if (!this.isCurrent(h)) return -1;
    return Atomics.sub(this.cells, h.slot * FIELDS + HOLDERS, 1) - 1;
  }

  /** Make a freed slot available again, under a new generation. */
  recycle(h: ContextHandle): void {
    Atomics.add(this.cells, h.slot * FIELDS + GEN, 1);
    this.free.push(h.slot);
  }

  /** The device a context checks, as a host-wide device id (0: none). */
  setDevice(slot: number, deviceId: number): void {
    Atomics.store(this.cells, slot * FIELDS + ContextField.DEVICE, deviceId);
  }

  /** The checksum of the context as the host left it (MemoryGuard.sum), before its first call. */
  setSum(slot: number, sum: number): void {
    Atomics.store(this.cells, slot * FIELDS + ContextField.SUM, sum);
  }

  device(slot: number): number {
    return Atomics.load(this.cells, slot * FIELDS + ContextField.DEVICE);
  }

  holders(slot: number): number {
    return Atomics.load(this.cells, slot * FIELDS + HOLDERS);
  }

  /** Slots currently held by anyone. */
  get inUse(): number {
    return this.highWater - this.free.length;
  }
}
