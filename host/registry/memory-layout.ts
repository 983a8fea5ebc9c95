import { GUARD_BYTES } from '../pool/memory-guard.js';

const ALIGN = 16;
const PAGE = 65536;

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/**
 * Where things live in a class memory (docs/ABI.md "Memory layout"): the module's data, then one
 * scratch region per host thread, then the context slots, with a guard before and after every region:
 * each stride ends in the guard that also precedes the next region.
 */
export class MemoryLayout {
  readonly scratchBase: number;
  readonly scratchStride: number;
  readonly ctxBase: number;
  readonly ctxStride: number;
  /** Bytes of a context slot the host checksums (the plugin's pc_ctx_size, rounded up). */
  readonly ctxBytes: number;

  constructor(
    dataEnd: number,
    scratchSize: number,
    readonly scratchRegions: number,
    ctxSize: number,
  ) {
    this.scratchBase = align(Math.max(dataEnd, ALIGN)) + GUARD_BYTES;
    this.scratchStride = align(scratchSize) + GUARD_BYTES;
    this.ctxBase = this.scratchBase + this.scratchStride * scratchRegions;
    this.ctxBytes = align(ctxSize);
    this.ctxStride = this.ctxBytes + GUARD_BYTES;
  }

  scratch(region: number): number {
    return this.scratchBase + region * this.scratchStride;
  }

  ctx(slot: number): number {
    return this.ctxBase + slot * this.ctxStride;
  }

  /** Pages needed to hold `slots` contexts. */
  pagesFor(slots: number): number {
    return Math.ceil((this.ctxBase + slots * this.ctxStride) / PAGE);
  }
}
