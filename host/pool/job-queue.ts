import { ringMask } from './ring-mask.js';

/** Number fields per job record. */
export const JOB_FIELDS = 6;
/** Field order of a job record. */
export const Job = { ID: 0, CLASS: 1, SLOT: 2, GEN: 3, DEADLINE: 4, KIND: 5 } as const;
/**
 * Which plugin call a job makes: read the class's metadata exports, pc_init, pc_check, pc_pending
 * (continue a parked init or check) or pc_free.
 */
export const JobKind = { PROBE: 0, INIT: 1, CHECK: 2, PENDING: 3, FREE: 4 } as const;

const HEAD = 0;
const TAIL = 1;
const HEADER = 2;

/**
 * A bounded multi-consumer queue of job records in shared memory (Vyukov's sequence-per-cell
 * design): the main thread pushes, every worker pops, nothing allocates. A record is number fields
 * (Float64), so an absolute deadline fits. Capacity must be a power of two.
 */
export class JobQueue {
  readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly mask: number;

  constructor(
    readonly shared: SharedArrayBuffer,
    readonly capacity: number,
  ) {
    this.mask = ringMask(capacity, 'queue');
    const seqBytes = (HEADER + capacity) * 4;
    this.i32 = new Int32Array(shared, 0, HEADER + capacity);
    this.f64 = new Float64Array(shared, Math.ceil(seqBytes / 8) * 8, capacity * JOB_FIELDS);
  }

  static create(capacity: number): JobQueue {
    const bytes = Math.ceil(((HEADER + capacity) * 4) / 8) * 8 + capacity * JOB_FIELDS * 8;
    const q = new JobQueue(new SharedArrayBuffer(bytes), capacity);
    for (let i = 0; i < capacity; i++) q.i32[HEADER + i] = i;
    return q;
  }

  /** Append a record; false when the queue is full. */
  push(record: Float64Array): boolean {
    for (;;) {
      const pos = Atomics.load(this.i32, TAIL);
      const cell = pos & this.mask;
      const dif = (Atomics.load(this.i32, HEADER + cell) - pos) | 0;
      if (dif < 0) return false;
      if (dif === 0 && Atomics.compareExchange(this.i32, TAIL, pos, (pos + 1) | 0) === pos) {
        this.f64.set(record, cell * JOB_FIELDS);
        Atomics.store(this.i32, HEADER + cell, (pos + 1) | 0);
        return true;
      }
    }
  }

  /** Take the oldest record into `into`; false when the queue is empty. */
  pop(into: Float64Array): boolean {
    for (;;) {
      const pos = Atomics.load(this.i32, HEAD);
      const cell = pos & this.mask;
      const dif = (Atomics.load(this.i32, HEADER + cell) - ((pos + 1) | 0)) | 0;
      if (dif < 0) return false;
      if (dif === 0 && Atomics.compareExchange(this.i32, HEAD, pos, (pos + 1) | 0) === pos) {
        const at = cell * JOB_FIELDS;
        for (let i = 0; i < JOB_FIELDS; i++) into[i] = this.f64[at + i]!;
        Atomics.store(this.i32, HEADER + cell, (pos + this.capacity) | 0);
        return true;
      }
    }
  }

  get length(): number {
    return (Atomics.load(this.i32, TAIL) - Atomics.load(this.i32, HEAD)) | 0;
  }
}
