/** Longest single Atomics.wait: a cancelled wait is noticed within this many milliseconds. */
const SLICE_MS = 20;
/** Never written: sleeping is a timed wait on a cell nobody wakes. One per thread, made once. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/**
 * When a blocking device wait must give up. `at` is a performance.now() time (Infinity: never).
 * An optional cancel cell lets another thread end the wait early by storing a non-zero value.
 */
export class Deadline {
  static readonly NONE = new Deadline(Infinity);

  constructor(
    readonly at: number,
    private readonly cancel?: { readonly cells: Int32Array; readonly index: number },
  ) {}

  static after(ms: number): Deadline {
    return new Deadline(performance.now() + ms);
  }

  remaining(): number {
    return this.at - performance.now();
  }

  /** True once the deadline passed or the cancel cell was set. */
  expired(): boolean {
    return this.remaining() <= 0 || (this.cancel !== undefined && Atomics.load(this.cancel.cells, this.cancel.index) !== 0);
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
