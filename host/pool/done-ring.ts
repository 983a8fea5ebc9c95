import { ringMask } from './ring-mask.js';

/** Number fields per completion record. */
export const DONE_FIELDS = 4;
/**
 * Field order of a completion record: job id, how the call ended, the plugin's raw result (for
 * BAD_WAIT the fd it waited on), 1 if past its deadline.
 */
export const Done = { ID: 0, KIND: 1, RAW: 2, LATE: 3 } as const;
/**
 * How a job's call ended on a worker. PARKED: it waits for a device; the job goes on later.
 * METADATA: a metadata read returned, its report is on the worker's port. CORRUPT: the class memory
 * around the job's context is not what the host left there (the raw field says how, see Corruption).
 * DEFERRED: not run, its class was at its cap of calls on threads (GateCell); the main thread holds it.
 */
export const DoneKind = { RETURNED: 0, TRAPPED: 1, STALE: 2, EXPIRED: 3, PARKED: 4, BAD_WAIT: 5, METADATA: 6, CORRUPT: 7, DEFERRED: 8 } as const;
/** OVERRAN: this call broke a guard around its own context or scratch. CHANGED: its context changed since its last call. */
export const Corruption = { OVERRAN: 1, CHANGED: 2 } as const;

const HEAD = 0;
const TAIL = 1;
const HEADER = 2;

/**
 * One worker's completions, single producer (the worker) and single consumer (the main thread).
 * One ring per worker, so a worker that is terminated mid-push can never wedge another's results.
 */
export class DoneRing {
  readonly i32: Int32Array;
  private readonly data: Int32Array;
  private readonly mask: number;

  constructor(
    readonly shared: SharedArrayBuffer,
    readonly capacity: number,
  ) {
    this.mask = ringMask(capacity, 'ring');
    this.i32 = new Int32Array(shared, 0, HEADER);
    this.data = new Int32Array(shared, HEADER * 4, capacity * DONE_FIELDS);
  }

  static create(capacity: number): DoneRing {
    return new DoneRing(new SharedArrayBuffer((HEADER + capacity * DONE_FIELDS) * 4), capacity);
  }

  /** Append (worker side); blocks while the ring is full, which only a stalled main thread causes. */
  push(id: number, kind: number, raw: number, late: number): void {
    const tail = this.i32[TAIL]!;
    for (;;) {
      const head = Atomics.load(this.i32, HEAD);
      if (((tail - head) | 0) < this.capacity) break;
      Atomics.wait(this.i32, HEAD, head, 50);
    }
    const at = (tail & this.mask) * DONE_FIELDS;
    this.data[at + Done.ID] = id;
    this.data[at + Done.KIND] = kind;
    this.data[at + Done.RAW] = raw;
    this.data[at + Done.LATE] = late;
    Atomics.store(this.i32, TAIL, (tail + 1) | 0);
  }

  /** Take the oldest completion into `into` (main side); false when empty. */
  pop(into: Int32Array): boolean {
    const head = this.i32[HEAD]!;
    const tail = Atomics.load(this.i32, TAIL);
    if (head === tail) return false;
    const at = (head & this.mask) * DONE_FIELDS;
    for (let i = 0; i < DONE_FIELDS; i++) into[i] = this.data[at + i]!;
    Atomics.store(this.i32, HEAD, (head + 1) | 0);
    // Only a full ring has a worker waiting for room.
    if (((tail - head) | 0) === this.capacity) Atomics.notify(this.i32, HEAD);
    return true;
  }
}
