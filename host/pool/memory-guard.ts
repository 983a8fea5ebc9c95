/** Bytes of guard words before and after every scratch region and context slot (docs/ABI.md "Memory layout"). */
export const GUARD_BYTES = 16;
const GUARD_WORDS = GUARD_BYTES / 4;

/**
 * Detects a plugin writing outside its own context slot. Guard words (a per-class random key mixed with
 * their address, so a guard copied elsewhere does not match) sit between all regions of a class memory:
 * a sweep or an overrun through a neighbour is caught by the call that did it, which checks the guards
 * around its own context and scratch. A write into another slot's interior that skips the guards is
 * caught by that slot's checksum, verified before its next call. Both threads share this code: the main
 * thread seals a slot when it opens it, workers check around each call.
 */
export class MemoryGuard {
  private words: Int32Array;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly key: number,
  ) {
    this.words = new Int32Array(memory.buffer);
  }

  /** The memory's words, re-viewed when [.., end) falls past the view (a shared memory grows from any thread). */
  private view(end: number): Int32Array {
    if (end > this.words.byteLength) this.words = new Int32Array(this.memory.buffer);
    return this.words;
  }

  private word(at: number, i: number): number {
    return Math.imul(this.key ^ (at + i * 4), 0x9e3779b1) | 0;
  }

  /** Write the guard at byte address `at` (16-byte aligned). */
  seal(at: number): void {
    const w = this.view(at + GUARD_BYTES);
    for (let i = 0; i < GUARD_WORDS; i++) w[(at >>> 2) + i] = this.word(at, i);
  }

  /** Whether the guards before and after a call's context slot and scratch region are intact: one view for all four. */
  aroundIntact(ctx: number, ctxStride: number, scratch: number, scratchStride: number): boolean {
    const w = this.view(Math.max(ctx + ctxStride, scratch + scratchStride));
    return (
      ctx + ctxStride <= w.byteLength &&
      this.holds(w, ctx - GUARD_BYTES) &&
      this.holds(w, ctx + ctxStride - GUARD_BYTES) &&
      this.holds(w, scratch - GUARD_BYTES) &&
      this.holds(w, scratch + scratchStride - GUARD_BYTES)
    );
  }

  private holds(w: Int32Array, at: number): boolean {
    const i = at >>> 2;
    return w[i] === this.word(at, 0) && w[i + 1] === this.word(at, 1) && w[i + 2] === this.word(at, 2) && w[i + 3] === this.word(at, 3);
  }

  /** A checksum of `bytes` (a multiple of 4) at `at`: what a context slot held when its last call ended. */
  sum(at: number, bytes: number): number {
    const w = this.view(at + bytes);
    let h = 0x811c9dc5 | 0;
    for (let i = at >>> 2, end = (at + bytes) >>> 2; i < end; i++) h = Math.imul(h ^ w[i]!, 0x01000193);
    return h;
  }
}
