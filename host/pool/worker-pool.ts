import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { DeviceShare } from '../backends/device.js';
import { Done, DONE_FIELDS, DoneKind, DoneRing } from './done-ring.js';
import { Job, JOB_FIELDS, JobQueue } from './job-queue.js';
import { KILLED, POOL_CELLS, PoolCell, WORKER_CELLS, WorkerCell, type ControlMessage, type WorkerInit, type WorkerReport } from './worker-cells.js';

export type ClassDescriptor = Omit<Extract<ControlMessage, { op: 'class' }>, 'op'>;

/** How a job ended. Exactly one of these reaches each job's listener. */
export type JobEnd =
  | { readonly kind: 'returned'; readonly raw: number; readonly ms: number; readonly late: boolean }
  | { readonly kind: 'trapped'; readonly reason: string; readonly ms: number; readonly late: boolean }
  | { readonly kind: 'stale' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'terminated'; readonly reason: string };

export interface JobListener {
  /** The job's deadline passed and it has not ended (it may still be queued or running). */
  late(): void;
  /** The job ended in any way; after this no thread touches its context. */
  ended(end: JobEnd): void;
}

export type PoolEvent =
  | { readonly type: 'worker-replaced'; readonly worker: number; readonly reason: string }
  | { readonly type: 'stuck-cap'; readonly message: string };

export interface PoolOptions {
  /** Worker threads (default: the machine's cores). */
  readonly size?: number;
  /** Condemned workers that may still be exiting at once; past it, no replacement until one exits (default 4). */
  readonly maxStuck?: number;
  /** How long past its deadline a job may keep running before its worker is terminated (default 2000 ms). */
  readonly stuckAfterMs?: number;
  /** Jobs that may wait in the shared queue (power of two, default 4096). */
  readonly queueCapacity?: number;
  /** Scratch regions each class has; region 0 is the main thread's, workers use 1..n-1. */
  readonly scratchRegions: number;
}

interface PoolWorker {
  readonly index: number;
  readonly thread: Worker;
  readonly cells: Int32Array;
  readonly ring: DoneRing;
  readonly port: MessagePort;
  readonly region: number;
  /** The job this worker was terminated in: its references go back only once the thread is gone. */
  condemnedJob: { readonly id: number; readonly reason: string } | null;
  /** Why the thread failed, if it did (an uncaught error in the worker). */
  error: string | null;
}

interface InFlight {
  readonly listener: JobListener;
  readonly deadline: number;
  late: boolean;
}

const WATCHDOG_MS = 10;
const TERMINATE_WAIT_MS = 2000;

function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  // Under vitest this module is TypeScript source; the worker always runs the built JavaScript.
  return here.endsWith('.ts') ? join(dirname(here), '..', '..', 'dist', 'host', 'pool', 'worker-main.js') : join(dirname(here), 'worker-main.js');
}

/** Absolute time in ms, comparable across threads (each thread's performance.now() has its own origin). */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Host-owned worker threads. Jobs go through a shared queue and come back through per-worker
 * completion rings: no postMessage per check. The pool watches deadlines, cancels late jobs'
 * device waits, terminates and replaces a worker stuck past `stuckAfterMs`, and never lets
 * condemned-but-not-exited workers exceed `maxStuck`.
 */
export class WorkerPool extends EventEmitter<{ event: [PoolEvent] }> {
  readonly size: number;
  private readonly maxStuck: number;
  private readonly stuckAfterMs: number;
  private readonly jobs: JobQueue;
  private readonly cells = new Int32Array(new SharedArrayBuffer(POOL_CELLS * 4));
  private readonly workers: PoolWorker[] = [];
  private readonly exiting = new Set<PoolWorker>();
  private readonly freeRegions: number[] = [];
  private readonly inFlight = new Map<number, InFlight>();
  private readonly classes = new Map<number, ClassDescriptor>();
  private readonly devices = new Map<number, DeviceShare>();
  private readonly record = new Float64Array(JOB_FIELDS);
  private readonly doneRecord = new Int32Array(DONE_FIELDS);
  private nextJob = 1;
  private pendingWakes = 0;
  private nextWorker = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private waiting = false;
  private closed = false;
  private replaced = 0;
  private owed = 0;

  constructor(opts: PoolOptions) {
    super();
    this.size = opts.size ?? availableParallelism();
    this.maxStuck = opts.maxStuck ?? 4;
    this.stuckAfterMs = opts.stuckAfterMs ?? 2000;
    this.jobs = JobQueue.create(opts.queueCapacity ?? 4096);
    for (let r = opts.scratchRegions - 1; r >= 1; r--) this.freeRegions.push(r);
    if (this.freeRegions.length < this.size) throw new RangeError(`pool of ${this.size} workers needs ${this.size} scratch regions, classes have ${this.freeRegions.length}`);
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  /** Make a class known to every worker (each instantiates it lazily, on its first job). */
  addClass(desc: ClassDescriptor): void {
    this.classes.set(desc.id, desc);
    this.broadcast({ op: 'class', ...desc });
  }

  /** Drop every worker's instance of a class; only once nothing can run in it (DESIGN.md invariant 5). */
  dropClass(id: number): void {
    this.classes.delete(id);
    this.broadcast({ op: 'drop-class', id });
  }

  addDevice(id: number, share: DeviceShare): void {
    this.devices.set(id, share);
    this.broadcast({ op: 'device', id, share });
  }

  dropDevice(id: number): void {
    this.devices.delete(id);
    this.broadcast({ op: 'drop-device', id });
  }

  /**
   * Queue a check of context (slot, gen) of class `classId`. The caller holds the class reference and
   * the context before calling (DESIGN.md invariant 2) and releases them in `listener.ended`.
   * Returns false (and calls nothing) when the queue is full or the pool is closed.
   */
  submit(classId: number, slot: number, gen: number, timeoutMs: number, listener: JobListener): boolean {
    if (this.closed) return false;
    const id = this.nextJob;
    const deadline = now() + timeoutMs;
    const r = this.record;
    r[Job.ID] = id;
    r[Job.CLASS] = classId;
    r[Job.SLOT] = slot;
    r[Job.GEN] = gen;
    r[Job.DEADLINE] = deadline;
    if (!this.jobs.push(r)) return false;
    this.nextJob = id === 0x7fffffff ? 1 : id + 1;
    this.inFlight.set(id, { listener, deadline, late: false });
    this.pendingWakes++;
    if (this.pendingWakes === 1) queueMicrotask(this.wakeWorkers);
    this.watch();
    return true;
  }

  /** Resolves once every worker has started and takes jobs (worker start-up is tens of ms), or after `ms`. */
  async ready(ms = 10_000): Promise<boolean> {
    const until = Date.now() + ms;
    while (this.workers.some((w) => Atomics.load(w.cells, WorkerCell.READY) !== 1)) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }

  stats(): { workers: number; busy: number; stuck: number; replaced: number; queued: number; inFlight: number } {
    let busy = 0;
    for (const w of this.workers) if (Atomics.load(w.cells, WorkerCell.CURRENT) > 0) busy++;
    return { workers: this.workers.length, busy, stuck: this.exiting.size, replaced: this.replaced, queued: this.jobs.length, inFlight: this.inFlight.size };
  }

  /**
   * Stop: terminate every worker, end every unfinished job as terminated. Bounded in time even when
   * workers hang. Returns how many jobs were abandoned.
   */
  async close(): Promise<{ abandoned: number }> {
    if (this.closed) return { abandoned: 0 };
    this.closed = true;
    this.stopWatch();
    for (const w of this.workers) this.drain(w);
    const all = [...this.workers, ...this.exiting];
    this.workers.length = 0;
    for (const w of all) Atomics.store(w.cells, WorkerCell.CURRENT, KILLED);
    const abandoned = this.inFlight.size;
    for (const [id] of this.inFlight) this.end(id, { kind: 'terminated', reason: 'pool closed' });
    await Promise.all(all.map((w) => Promise.race([w.thread.terminate(), new Promise((r) => setTimeout(r, TERMINATE_WAIT_MS).unref())])));
    return { abandoned };
  }

  private spawn(): void {
    const region = this.freeRegions.pop()!;
    const cells = new Int32Array(new SharedArrayBuffer(WORKER_CELLS * 4));
    const ring = DoneRing.create(this.jobs.capacity * 2);
    const { port1, port2 } = new MessageChannel();
    const index = this.nextWorker++;
    const init: WorkerInit = {
      index,
      scratchRegion: region,
      jobs: this.jobs.shared,
      jobCapacity: this.jobs.capacity,
      done: ring.shared,
      doneCapacity: ring.capacity,
      poolCells: this.cells,
      workerCells: cells,
      port: port2,
    };
    const thread = new Worker(workerScript(), { workerData: init, transferList: [port2] });
    thread.unref();
    const w: PoolWorker = { index, thread, cells, ring, port: port1, region, condemnedJob: null, error: null };
    for (const desc of this.classes.values()) port1.postMessage({ op: 'class', ...desc });
    for (const [id, share] of this.devices) port1.postMessage({ op: 'device', id, share });
    thread.on('error', (e) => (w.error = e.message.split('\n')[0]!));
    thread.on('exit', (code) => this.exited(w, code));
    this.workers.push(w);
  }

  /**
   * Wake as many sleeping workers as jobs were queued since the last wake: once per burst of
   * submits (one microtask), and only if a worker sleeps. A worker wakes by the WAKE value changing,
   * so bumping it first means a worker about to sleep cannot miss these jobs.
   */
  private readonly wakeWorkers = (): void => {
    const jobs = this.pendingWakes;
    this.pendingWakes = 0;
    Atomics.add(this.cells, PoolCell.WAKE, 1);
    const sleepers = Atomics.load(this.cells, PoolCell.SLEEPERS);
    if (sleepers > 0) Atomics.notify(this.cells, PoolCell.WAKE, Math.min(jobs, sleepers));
  };

  /** Tell every worker; wake the idle ones so that a dropped class's instance and memory go now. */
  private broadcast(msg: ControlMessage): void {
    for (const w of this.workers) w.port.postMessage(msg);
    Atomics.add(this.cells, PoolCell.WAKE, 1);
    Atomics.notify(this.cells, PoolCell.WAKE);
  }

  /** A worker's thread ended: finish its job if it had one, free its scratch region, replace it if owed. */
  private exited(w: PoolWorker, code: number): void {
    this.exiting.delete(w);
    this.freeRegions.push(w.region);
    w.port.close();
    // Only now can nothing run in the condemned job's context: its hold and class reference go back.
    if (w.condemnedJob !== null) this.end(w.condemnedJob.id, { kind: 'terminated', reason: w.condemnedJob.reason });
    if (this.closed) return;
    const i = this.workers.indexOf(w);
    if (i >= 0) {
      // Not condemned by us: it died on its own.
      this.workers.splice(i, 1);
      this.drain(w);
      const cur = Atomics.load(w.cells, WorkerCell.CURRENT);
      if (cur > 0) this.end(cur, { kind: 'terminated', reason: `worker ${w.index} exited with code ${code}${w.error ? `: ${w.error}` : ''}` });
      this.owed++;
    }
    this.replenish(`worker ${w.index} exited${w.error ? `: ${w.error}` : ''}`);
  }

  /** Spawn owed replacements while the cap on exiting (stuck) workers allows. */
  private replenish(reason: string): void {
    while (this.owed > 0 && !this.closed) {
      // Threads alive, condemned ones included, never exceed size + maxStuck.
      if (this.workers.length + this.exiting.size >= this.size + this.maxStuck) {
        this.emit('event', { type: 'stuck-cap', message: `pool: ${this.exiting.size} stuck workers still exiting (cap ${this.maxStuck}); not replacing until one exits` });
        return;
      }
      this.owed--;
      this.replaced++;
      this.spawn();
      this.emit('event', { type: 'worker-replaced', worker: this.nextWorker - 1, reason });
    }
  }

  private end(id: number, end: JobEnd): void {
    const e = this.inFlight.get(id);
    if (e === undefined) return;
    this.inFlight.delete(id);
    e.listener.ended(end);
  }

  private drain(w: PoolWorker): void {
    const r = this.doneRecord;
    while (w.ring.pop(r)) {
      const id = r[Done.ID]!;
      const ms = r[Done.MICROS]! / 1000;
      const late = r[Done.LATE] === 1;
      switch (r[Done.KIND]) {
        case DoneKind.RETURNED:
          this.end(id, { kind: 'returned', raw: r[Done.RAW]!, ms, late });
          break;
        case DoneKind.TRAPPED:
          this.end(id, { kind: 'trapped', reason: this.trapReason(w, id), ms, late });
          break;
        case DoneKind.STALE:
          this.end(id, { kind: 'stale' });
          break;
        default:
          this.end(id, { kind: 'expired' });
      }
    }
  }

  /** A trap's reason was posted on the worker's port before its completion was pushed. */
  private trapReason(w: PoolWorker, id: number): string {
    for (let m = receiveMessageOnPort(w.port); m !== undefined; m = receiveMessageOnPort(w.port)) {
      const report = m.message as WorkerReport;
      if (report.job === id) return report.reason;
    }
    return 'trapped (reason lost)';
  }

  private drainAll(): void {
    for (const w of this.workers) this.drain(w);
  }

  /** While jobs are in flight: wait for completions, and run the deadline watchdog. */
  private watch(): void {
    // Referenced: while a job is in flight, its caller is owed an answer, so the process stays up.
    this.watchdog ??= setInterval(() => this.tick(), WATCHDOG_MS);
    if (this.waiting) return;
    for (;;) {
      const seen = Atomics.load(this.cells, PoolCell.DONE_WAKE);
      this.drainAll();
      if (this.inFlight.size === 0) return this.stopWatch();
      Atomics.store(this.cells, PoolCell.MAIN_WAITING, 1);
      const w = Atomics.waitAsync(this.cells, PoolCell.DONE_WAKE, seen);
      if (!w.async) continue;
      this.waiting = true;
      void w.value.then(() => {
        this.waiting = false;
        Atomics.store(this.cells, PoolCell.MAIN_WAITING, 0);
        if (!this.closed) this.watch();
      });
      return;
    }
  }

  private stopWatch(): void {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private tick(): void {
    this.drainAll();
    const t = now();
    for (const e of this.inFlight.values()) {
      if (!e.late && t > e.deadline) {
        e.late = true;
        e.listener.late();
      }
    }
    for (const w of [...this.workers]) {
      const cur = Atomics.load(w.cells, WorkerCell.CURRENT);
      if (cur <= 0) continue;
      const e = this.inFlight.get(cur);
      if (e === undefined || t <= e.deadline) continue;
      Atomics.store(w.cells, WorkerCell.CANCEL, cur);
      if (t > e.deadline + this.stuckAfterMs) this.condemn(w, cur, t - e.deadline);
    }
    if (this.inFlight.size === 0) this.stopWatch();
  }

  /** Terminate a worker stuck in a job; the job ends now and its references go back to its owner. */
  private condemn(w: PoolWorker, job: number, lateMs: number): void {
    if (Atomics.compareExchange(w.cells, WorkerCell.CURRENT, job, KILLED) !== job) return;
    this.workers.splice(this.workers.indexOf(w), 1);
    this.exiting.add(w);
    this.drain(w);
    // The caller already has its `timeout` (late() came first); the job ends when the thread is gone.
    w.condemnedJob = { id: job, reason: `worker ${w.index} stuck ${Math.round(lateMs)} ms past the deadline, terminated` };
    void w.thread.terminate();
    this.owed++;
    this.replenish(`worker ${w.index} was stuck`);
  }
}
