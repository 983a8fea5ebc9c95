/** Longest single Atomics.wait: a cancelled wait is noticed within this many milliseconds. */
const SLICE_MS = 20;
/** Never written: sleeping is a timed wait on a cell nobody wakes. One per thread, made once. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** A cell another thread may set to `value` to cancel the wait of exactly one job. */
export interface CancelCell {
  readonly cells: Int32Array;
  readonly index: number;
}

/**
 * When a blocking device wait must give up. `at` is a performance.now() time (Infinity: never).
 * With a cancel cell, the wait also ends once `cells[index]` holds `cancelValue`: a job id, so a
 * late cancel of a finished job can never cancel the next one. A host thread re-arms one Deadline
 * per job instead of making a new one.
 */
export class Deadline {
  static readonly NONE = new Deadline(Infinity);

  constructor(
    public at: number,
    private readonly cancel?: CancelCell,
    public cancelValue = 0,
  ) {}

  static after(ms: number): Deadline {
    return new Deadline(performance.now() + ms);
  }

  /** Reuse this deadline for the next job. */
  arm(at: number, cancelValue: number): void {
    this.at = at;
    this.cancelValue = cancelValue;
  }

  remaining(): number {
    return this.at - performance.now();
  }

  cancelled(): boolean {
    return this.cancel !== undefined && Atomics.load(this.cancel.cells, this.cancel.index) === this.cancelValue;
  }

  /** True once the deadline passed or the job was cancelled. */
  expired(): boolean {
    return this.remaining() <= 0 || this.cancelled();
  }

  /**
   * Block until `cells[index]` no longer holds `value`. Returns true when it changed, false when the
   * deadline or cancellation came first. Waits in slices so cancellation is seen promptly.
   */
  waitChange(cells: Int32Array, index: number, value: number): boolean {
    for (;;) {
      if (Atomics.load(cells, index) !== value) return true;
      if (this.expired()) return false;
      Atomics.wait(cells, index, value, Math.min(SLICE_MS, this.remaining()));
    }
  }

  /** Block for `ms`; false when the deadline or cancellation cut the sleep short. */
  sleep(ms: number): boolean {
    const until = performance.now() + ms;
    for (;;) {
      const left = until - performance.now();
      if (left <= 0) return true;
      if (this.expired()) return false;
      Atomics.wait(SLEEP_CELL, 0, 0, Math.min(SLICE_MS, left, Math.max(this.remaining(), 0)));
    }
  }
}
