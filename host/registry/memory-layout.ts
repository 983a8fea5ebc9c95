const ALIGN = 16;
const PAGE = 65536;

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/**
 * Where things live in a class memory (docs/ABI.md "Memory layout"): the module's data, then one
 * scratch region per host thread, then the context slots.
 */
export class MemoryLayout {
  readonly scratchBase: number;
  readonly scratchStride: number;
  readonly ctxBase: number;
  readonly ctxStride: number;

  constructor(
    dataEnd: number,
    scratchSize: number,
    readonly scratchRegions: number,
    ctxSize: number,
  ) {
    this.scratchBase = align(Math.max(dataEnd, ALIGN));
    this.scratchStride = align(scratchSize);
    this.ctxBase = this.scratchBase + this.scratchStride * scratchRegions;
    this.ctxStride = Math.max(ALIGN, align(ctxSize));
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
