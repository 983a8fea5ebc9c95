import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { crossThreadNow } from '../backends/cross-thread-now.js';
import type { Device } from '../backends/device.js';
import { IoState } from '../backends/io-slot.js';
import { collectGarbage } from './collect-garbage.js';
import { Corruption, Done, DONE_FIELDS, DoneKind, DoneRing } from './done-ring.js';
import { ContextField, CONTEXT_FIELDS } from './context-layout.js';
import { MemoryGuard } from './memory-guard.js';
import { addedScenarios } from '../backends/sim/scenario.js';
import { Job, JOB_FIELDS, JobKind, JobQueue } from './job-queue.js';
import {
  GATE_CELLS,
  GateCell,
  QUARANTINED_CAP,
  KILLED,
  POOL_CELLS,
  PoolCell,
  WORKER_CELLS,
  WorkerCell,
  type ClassLayout,
  type ClassMetadata,
  type ControlMessage,
  type WorkerInit,
  type WorkerReport,
} from './worker-cells.js';

export type ClassDescriptor = Omit<Extract<ControlMessage, { op: 'class' }>, 'op' | 'gate'>;
type PoolClass = ClassDescriptor & { readonly gate: Int32Array };
export { JobKind } from './job-queue.js';

/**
 * How a job ended. Exactly one of these reaches each job's listener. `ms` is the time from submit to
 * the end, parked time included. `abandoned`: it was parked on a device when its deadline passed; its
 * command may still be outstanding on the device, whose late reply is discarded.
 */
export type JobEnd = { ms: number } & (
  | { readonly kind: 'returned'; readonly raw: number; readonly late: boolean; metadata?: ClassMetadata }
  | { readonly kind: 'trapped'; readonly reason: string; readonly late: boolean }
  | { readonly kind: 'stale' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'abandoned' }
  | { readonly kind: 'bad-wait'; readonly fd: number }
  /** The class memory around the job's context was not as the host left it (see Corruption in done-ring). */
  | { readonly kind: 'corrupt'; readonly how: 'overran' | 'changed' }
  /** The thread running it died or was terminated mid-call; `inDevice`: inside a blocking device call (not the plugin's doing). */
  | { readonly kind: 'terminated'; readonly reason: string; readonly inDevice: boolean }
  /** Its call ran so long while its class held more than its share of the workers that its thread was terminated. */
  | { readonly kind: 'preempted'; readonly reason: string }
  /** The pool closed before it ended. */
  | { readonly kind: 'closed' }
);

export interface JobListener {
  /** The job's deadline passed and it has not ended (it may still be queued or running). */
  late(): void;
  /** The job ended in any way; after this no thread touches its context. */
  ended(end: JobEnd): void;
}

export type PoolEvent =
  | { readonly type: 'worker-replaced'; readonly worker: number; readonly reason: string }
  | { readonly type: 'stuck-cap'; readonly message: string };

/** What the pool tells the registry about a class (not a daemon event by itself). */
export type ClassReport =
  | { readonly type: 'released'; readonly classId: number }
  | { readonly type: 'output'; readonly classId: number; readonly stream: 'stdout' | 'stderr'; readonly text: string; readonly dropped: number };

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
  condemnedJob: { readonly id: number; readonly end: Extract<JobEnd, { kind: 'terminated' | 'preempted' }> } | null;
  /** The job the watchdog last saw this worker run, and since when (how long a call has held the thread). */
  seenJob: number;
  seenAt: number;
  /** Why the thread failed, if it did (an uncaught error in the worker). */
  error: string | null;
}

/**
 * A class's share of the workers. Every class may use all of them while its calls are short; a class
 * seen holding a thread in one call for over HOG_MS becomes suspect, and while it is, at most `cap` of
 * its checks are on the queue or a thread at once (the rest wait in `held`, in order; a worker hands back
 * one that would exceed the cap, see GateCell), and any of its calls beyond that share that run long are
 * preempted: a looping plugin cannot take every worker from the other classes' paths. One-off calls
 * (metadata, pc_init, pc_free) are not held, only preempted (docs/ABI.md "Containment").
 */
interface ClassTraffic {
  /** Its jobs in the shared queue, the backlog or on a thread. */
  dispatched: number;
  readonly held: number[];
  suspectUntil: number;
  cap: number;
  /** No call of it runs any more (see quarantine()). */
  quarantined: boolean;
  readonly id: number;
  /** The class's GateCell cells: `cap` is published there while the class is suspect (0 otherwise). */
  readonly gate: Int32Array;
}

interface InFlight {
  readonly listener: JobListener;
  readonly classId: number;
  readonly traffic: ClassTraffic;
  /** The call it makes next (a parked job continues with PENDING). */
  kind: number;
  /** Counted in traffic.dispatched. */
  dispatched: boolean;
  /** Waiting in traffic.held. */
  held: boolean;
  readonly slot: number;
  readonly gen: number;
  /** The device the job's context checks (host-wide id; 0 for a class-wide job). */
  readonly deviceId: number;
  readonly deadline: number;
  readonly started: number;
  late: boolean;
  /** Waiting for its device: no thread holds it. */
  parked: boolean;
  /** The serial of the command it waits for. */
  serial: number;
}

interface PoolDevice {
  readonly device: Device;
  /** Made once per device: what the device calls when a command it started has completed. */
  readonly done: () => void;
}

const WATCHDOG_MS = 10;
/**
 * A call holding a thread this long is CPU-bound plugin code: a healthy check takes microseconds, and a
 * thread of a loaded 2-core machine is rarely descheduled this long (a longer bound would let a looping
 * class hold every worker longer before it is found).
 */
const HOG_MS = 100;
/** How long a class stays suspect after its last such call was seen (it is seen again on every tick it runs). */
const SUSPECT_MS = 5000;
/** WASI EIO: what a command gets whose device failed to start it. */
const EIO = 29;
const TERMINATE_WAIT_MS = 2000;
/** The main thread's collections after class drops, at most one per this many ms (a burst costs one). */
const MAIN_GC_EVERY_MS = 1000;

function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  // Under vitest this module is TypeScript source; the worker always runs the built JavaScript.
  return here.endsWith('.ts') ? join(dirname(here), '..', '..', 'dist', 'host', 'pool', 'worker-main.js') : join(dirname(here), 'worker-main.js');
}

/**
 * Host-owned worker threads. Jobs go through a shared queue and come back through per-worker
 * completion rings: no postMessage per check. The pool watches deadlines, cancels late jobs'
 * device waits, terminates and replaces a worker stuck past `stuckAfterMs`, and never lets
 * condemned-but-not-exited workers exceed `maxStuck`.
 */
export class WorkerPool extends EventEmitter<{ event: [PoolEvent]; class: [ClassReport] }> {
  readonly size: number;
  private readonly maxStuck: number;
  private readonly stuckAfterMs: number;
  private readonly jobs: JobQueue;
  private readonly cells = new Int32Array(new SharedArrayBuffer(POOL_CELLS * 4));
  private readonly workers: PoolWorker[] = [];
  private readonly exiting = new Set<PoolWorker>();
  private readonly freeRegions: number[] = [];
  private readonly inFlight = new Map<number, InFlight>();
  private readonly classes = new Map<number, PoolClass>();
  private readonly layouts = new Map<number, ClassLayout & { readonly guard: MemoryGuard }>();
  private readonly traffic = new Map<number, ClassTraffic>();
  private readonly devices = new Map<number, PoolDevice>();
  /** Dropped classes, by id: the workers whose acknowledgement is still to come. */
  private readonly releasing = new Map<number, Set<PoolWorker>>();
  /** Job details a worker posted before the job's completion (trap reason, metadata), by job id. */
  private readonly reports = new Map<number, WorkerReport>();
  /** Jobs waiting for their device. */
  private parked = 0;
  /** Jobs the shared queue had no room for, oldest first: pushed as workers free room. */
  private readonly backlog: Float64Array[] = [];
  private readonly record = new Float64Array(JOB_FIELDS);
  private readonly doneRecord = new Int32Array(DONE_FIELDS);
  private nextJob = 1;
  private pendingWakes = 0;
  private nextWorker = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private gcTimer: NodeJS.Timeout | null = null;
  private lastGc = -Infinity;
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
    const gate = new Int32Array(new SharedArrayBuffer(GATE_CELLS * 4));
    this.classes.set(desc.id, { ...desc, gate });
    this.traffic.set(desc.id, this.newTraffic(desc.id, gate));
    this.broadcast({ op: 'class', ...desc, gate });
  }

  /** Where the class's contexts and scratch are, once its metadata is known: before its first context job. */
  setLayout(id: number, layout: ClassLayout): void {
    const desc = this.classes.get(id)!;
    const plain = { ctxBase: layout.ctxBase, ctxStride: layout.ctxStride, ctxBytes: layout.ctxBytes, scratchBase: layout.scratchBase, scratchStride: layout.scratchStride };
    this.layouts.set(id, { ...plain, guard: new MemoryGuard(desc.memory, desc.guardKey) });
    this.broadcast({ op: 'layout', id, ...plain });
  }

  /** Drop every worker's instance of a class; only once nothing can run in it (DESIGN.md invariant 5). */
  dropClass(id: number): void {
    this.classes.delete(id);
    this.layouts.delete(id);
    this.traffic.delete(id);
    this.broadcast({ op: 'drop-class', id });
    this.collectSoon();
    // Condemned workers still exiting may hold an instance too: they acknowledge by exiting.
    const holders = new Set([...this.workers, ...this.exiting]);
    if (holders.size === 0) this.emit('class', { type: 'released', classId: id });
    else this.releasing.set(id, holders);
  }

  /**
   * This thread held the dropped class's memory, module and context table too (collect-garbage.ts):
   * collect on a timer, never inside the unbind or unload that dropped it.
   */
  private collectSoon(): void {
    if (this.gcTimer !== null || this.closed) return;
    const run = (): void => {
      this.gcTimer = null;
      collectGarbage();
      this.lastGc = performance.now();
    };
    this.gcTimer = setTimeout(run, Math.max(0, this.lastGc + MAIN_GC_EVERY_MS - performance.now())).unref();
  }

  /**
   * Run no call of class `id` any more: a worker refuses its queued jobs (STALE), held ones end now,
   * parked ones end when their device answers instead of resuming, and new ones are refused by the
   * caller (the registry does not submit them). Each ends `stale`; what it held goes back.
   */
  quarantine(id: number): void {
    const t = this.traffic.get(id);
    if (t === undefined) return;
    t.quarantined = true;
    Atomics.store(t.gate, GateCell.CAP, QUARANTINED_CAP);
    for (const job of [...t.held]) this.end(job, { ms: 0, kind: 'stale' });
  }

  /** Workers that have not yet acknowledged dropping their instance of class `id` (0 once all have). */
  releasePending(id: number): number {
    return this.releasing.get(id)?.size ?? 0;
  }

  addDevice(id: number, device: Device): void {
    this.devices.set(id, { device, done: () => this.deviceDone(device) });
    this.broadcast({ op: 'device', id, share: device.share() });
  }

  dropDevice(id: number): void {
    this.devices.delete(id);
    this.broadcast({ op: 'drop-device', id });
  }

  /**
   * Queue a job: call `kind` on context (slot, gen) of class `classId`, whose device is `deviceId`.
   * The caller holds the class reference and the context before calling (DESIGN.md invariant 2) and
   * releases them in `listener.ended`. Returns false (and calls nothing) once the pool is closed.
   */
  submit(kind: number, classId: number, slot: number, gen: number, deviceId: number, timeoutMs: number, listener: JobListener): boolean {
    if (this.closed) return false;
    const id = this.nextJob;
    this.nextJob = id === 0x7fffffff ? 1 : id + 1;
    const deadline = crossThreadNow() + timeoutMs;
    // A class the pool does not know (dropped) gets a record of its own: the worker refuses the job as stale.
    const traffic = this.traffic.get(classId) ?? this.newTraffic(classId, new Int32Array(GATE_CELLS));
    const e: InFlight = { listener, classId, traffic, kind, dispatched: false, held: false, slot, gen, deviceId, deadline, started: performance.now(), late: false, parked: false, serial: 0 };
    this.inFlight.set(id, e);
    this.enqueue(id, e, kind);
    this.watch();
    return true;
  }

  /** Queue job `id` to make call `kind`, unless its class is suspect and already has its share out. */
  private newTraffic(id: number, gate: Int32Array): ClassTraffic {
    return { id, dispatched: 0, held: [], suspectUntil: 0, cap: this.size, quarantined: false, gate };
  }

  private enqueue(id: number, e: InFlight, kind: number): void {
    e.kind = kind;
    if (e.traffic.quarantined) return this.end(id, { ms: 0, kind: 'stale' });
    const t = e.traffic;
    // Only checks wait for their class's share (see admit() in worker-main.ts).
    if (t.suspectUntil !== 0 && t.dispatched >= t.cap && (kind === JobKind.CHECK || kind === JobKind.PENDING)) {
      e.held = true;
      t.held.push(id);
      return;
    }
    this.dispatch(id, e);
  }

  private dispatch(id: number, e: InFlight): void {
    e.dispatched = true;
    e.traffic.dispatched++;
    const r = this.record;
    r[Job.ID] = id;
    r[Job.CLASS] = e.classId;
    r[Job.SLOT] = e.slot;
    r[Job.GEN] = e.gen;
    r[Job.DEADLINE] = e.deadline;
    r[Job.KIND] = e.kind;
    if (this.backlog.length > 0 || !this.jobs.push(r)) this.backlog.push(r.slice());
    this.pendingWakes++;
    if (this.pendingWakes === 1) queueMicrotask(this.wakeWorkers);
  }

  /** A job left the queue and its thread (it returned, parked or ended): its class may send the next held one. */
  private undispatch(e: InFlight): void {
    e.dispatched = false;
    const t = e.traffic;
    t.dispatched--;
    this.release(t);
  }

  private holdBack(id: number, e: InFlight): void {
    // Its deadline passed while the worker handed it back: tick() expires only held jobs.
    if (e.late) return this.end(id, { ms: 0, kind: 'expired' });
    // Handed back as its class was quarantined: nothing of it will run.
    if (e.traffic.quarantined) return this.end(id, { ms: 0, kind: 'stale' });
    if (e.dispatched) {
      e.dispatched = false;
      e.traffic.dispatched--;
    }
    e.held = true;
    e.traffic.held.unshift(id);
    // Nothing else of the class is out (its call ended meanwhile): no end of one would release this.
    if (e.traffic.dispatched === 0) this.release(e.traffic);
  }

  private release(t: ClassTraffic): void {
    while (t.held.length > 0 && (t.suspectUntil === 0 || t.dispatched < t.cap)) {
      const id = t.held.shift()!;
      const e = this.inFlight.get(id)!;
      e.held = false;
      this.dispatch(id, e);
    }
  }

  private flushBacklog(): void {
    let n = 0;
    while (n < this.backlog.length && this.jobs.push(this.backlog[n]!)) n++;
    if (n === 0) return;
    this.backlog.splice(0, n);
    this.pendingWakes += n;
    this.wakeWorkers();
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

  stats(): { workers: number; busy: number; stuck: number; replaced: number; queued: number; inFlight: number; parked: number } {
    let busy = 0;
    for (const w of this.workers) if (Atomics.load(w.cells, WorkerCell.CURRENT) > 0) busy++;
    return {
      workers: this.workers.length,
      busy,
      stuck: this.exiting.size,
      replaced: this.replaced,
      queued: this.jobs.length + this.backlog.length,
      inFlight: this.inFlight.size,
      parked: this.parked,
    };
  }

  /**
   * Stop: terminate every worker, end every unfinished job as terminated. Bounded in time even when
   * workers hang. Returns how many jobs were abandoned.
   */
  async close(): Promise<{ abandoned: number }> {
    if (this.closed) return { abandoned: 0 };
    this.closed = true;
    this.stopWatch();
    if (this.gcTimer !== null) clearTimeout(this.gcTimer);
    for (const w of this.workers) this.drain(w);
    const all = [...this.workers, ...this.exiting];
    this.workers.length = 0;
    for (const w of all) Atomics.store(w.cells, WorkerCell.CURRENT, KILLED);
    const abandoned = this.inFlight.size;
    this.backlog.length = 0;
    for (const [id] of this.inFlight) this.end(id, { ms: 0, kind: 'closed' });
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
      scenarios: addedScenarios(),
    };
    const thread = new Worker(workerScript(), { workerData: init, transferList: [port2] });
    thread.unref();
    const w: PoolWorker = { index, thread, cells, ring, port: port1, region, condemnedJob: null, seenJob: 0, seenAt: 0, error: null };
    for (const desc of this.classes.values()) port1.postMessage({ op: 'class', ...desc });
    for (const [id, { guard: _, ...layout }] of this.layouts) port1.postMessage({ op: 'layout', id, ...layout });
    for (const [id, d] of this.devices) port1.postMessage({ op: 'device', id, share: d.device.share() });
    // Rare reports (acknowledgements) arrive with no completion to drain them; the port must not hold the process up.
    port1.on('message', (m: WorkerReport) => this.onReport(w, m));
    port1.unref();
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
    this.pollPort(w);
    w.port.close();
    // A thread that is gone holds no instance of anything.
    for (const id of [...this.releasing.keys()]) this.acknowledge(w, id);
    // Only now can nothing run in the condemned job's context: its hold and class reference go back.
    if (w.condemnedJob !== null) this.endLost(w.condemnedJob.id, w.condemnedJob.end, w);
    if (this.closed) return;
    const i = this.workers.indexOf(w);
    if (i >= 0) {
      // Not condemned by us: it died on its own.
      this.workers.splice(i, 1);
      this.drain(w);
      const cur = Atomics.load(w.cells, WorkerCell.CURRENT);
      const reason = `worker ${w.index} exited with code ${code}${w.error ? `: ${w.error}` : ''}`;
      if (cur > 0) this.endLost(cur, { ms: 0, kind: 'terminated', reason, inDevice: Atomics.load(w.cells, WorkerCell.IN_DEVICE) === 1 }, w);
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

  /**
   * End a job whose thread is gone mid-call. What the call left in its context is the context now:
   * its checksum is taken again, or the next call would read the unfinished call as corruption.
   */
  private endLost(id: number, end: Extract<JobEnd, { kind: 'terminated' | 'preempted' }>, w: PoolWorker): void {
    const e = this.inFlight.get(id);
    // A thread terminated while counted in a class's gate is uncounted here (see GateCell).
    const gated = Atomics.exchange(w.cells, WorkerCell.GATED, 0);
    if (gated !== 0) {
      const gate = this.traffic.get(gated - 1)?.gate;
      if (gate !== undefined) Atomics.sub(gate, GateCell.RUNNING, 1);
    }
    const layout = e === undefined ? undefined : this.layouts.get(e.classId);
    const cells = e === undefined ? undefined : this.classes.get(e.classId)?.contexts;
    if (e !== undefined && layout !== undefined && cells !== undefined && Atomics.load(cells, e.slot * CONTEXT_FIELDS + ContextField.GEN) === e.gen) {
      const at = layout.ctxBase + e.slot * layout.ctxStride;
      Atomics.store(cells, e.slot * CONTEXT_FIELDS + ContextField.SUM, layout.guard.sum(at, layout.ctxBytes));
    }
    this.end(id, end);
  }

  /** End job `id`; `body.ms` (callers write 0) is stamped here. */
  private end(id: number, body: JobEnd): void {
    const e = this.inFlight.get(id);
    if (e === undefined) return;
    this.inFlight.delete(id);
    this.reports.delete(id);
    if (e.parked) this.unpark(e);
    if (e.held) e.traffic.held.splice(e.traffic.held.indexOf(id), 1);
    if (e.dispatched) this.undispatch(e);
    this.settleIo(id, e.deviceId, body.kind === 'terminated' || body.kind === 'preempted' || body.kind === 'closed');
    body.ms = performance.now() - e.started;
    e.listener.ended(body);
  }

  /**
   * Job `id` ended: what it left on its device. An unread reply is discarded; a command it submitted but
   * did not wait for still goes to the device (its reply is discarded when it comes), unless the
   * thread that submitted it died before the device took it. A command of another job (another binding
   * of the same device) is not this job's to settle. A started command nobody waits for any more is
   * abandoned: a backend that can cancel it does, so the device is free before its answer would come.
   */
  private settleIo(id: number, deviceId: number, threadLost: boolean): void {
    const d = this.devices.get(deviceId);
    if (d === undefined) return;
    const io = d.device.io;
    if (io.owner !== id) return;
    const state = io.state;
    // A thread lost while it wrote the command (FILLING) or before handing it over: nobody will finish it.
    if (state === IoState.COMPLETE || (threadLost && (state === IoState.SUBMITTED || state === IoState.FILLING))) return io.release();
    if (state === IoState.SUBMITTED) this.startIo(d);
    if (io.state === IoState.STARTED) d.device.abandon();
  }

  /** Hand a submitted command to the device's I/O side (once: claim() takes it). */
  private startIo(d: PoolDevice): void {
    if (!d.device.io.claim()) return;
    try {
      d.device.start(d.done);
    } catch {
      d.device.io.fail(EIO);
      d.done();
    }
  }

  /**
   * A device completed the command it had started: resume the job that submitted it if that job is
   * parked, or discard the reply (its job ended: abandoned at its deadline, or it did not wait).
   */
  private deviceDone(device: Device): void {
    const io = device.io;
    const id = io.owner;
    const e = this.inFlight.get(id);
    // Job ids wrap: the owner id may by now be another job's, parked on another device or command.
    if (e === undefined || !e.parked || this.devices.get(e.deviceId)?.device !== device || io.serial !== e.serial) {
      io.release();
      return;
    }
    this.unpark(e);
    // Answered, but its class may run nothing any more: the reply is discarded.
    if (e.traffic.quarantined) return this.end(id, { ms: 0, kind: 'stale' });
    this.enqueue(id, e, JobKind.PENDING);
  }

  private park(id: number, e: InFlight): void {
    // Parked is off the thread: it no longer counts against its class's share.
    if (e.dispatched) this.undispatch(e);
    const d = this.devices.get(e.deviceId);
    if (d === undefined) return this.end(id, { ms: 0, kind: 'stale' });
    const io = d.device.io;
    // The worker checked the command was this job's; a late job is given up at once.
    if (e.late) return this.end(id, { ms: 0, kind: 'abandoned' });
    e.parked = true;
    e.serial = io.serial;
    this.parked++;
    // Answered between the plugin's read and now: go on at once. Otherwise the device's I/O side finishes it.
    if (io.state === IoState.COMPLETE) d.done();
    else if (io.state === IoState.SUBMITTED) this.startIo(d);
  }

  private unpark(e: InFlight): void {
    e.parked = false;
    this.parked--;
  }

  private drain(w: PoolWorker): void {
    const r = this.doneRecord;
    while (w.ring.pop(r)) {
      const id = r[Done.ID]!;
      const late = r[Done.LATE] === 1;
      switch (r[Done.KIND]) {
        case DoneKind.RETURNED:
          this.end(id, { ms: 0, kind: 'returned', raw: r[Done.RAW]!, late });
          break;
        case DoneKind.METADATA: {
          const end: JobEnd = { ms: 0, kind: 'returned', raw: 0, late };
          const metadata = this.report(w, id, 'metadata')?.metadata;
          if (metadata !== undefined) end.metadata = metadata;
          this.end(id, end);
          break;
        }
        case DoneKind.PARKED: {
          const e = this.inFlight.get(id);
          if (e !== undefined) this.park(id, e);
          break;
        }
        case DoneKind.BAD_WAIT:
          this.end(id, { ms: 0, kind: 'bad-wait', fd: r[Done.RAW]! });
          break;
        case DoneKind.DEFERRED: {
          // Its class is at its cap of calls on threads: it waits first in line for the next to end.
          const e = this.inFlight.get(id);
          if (e !== undefined) this.holdBack(id, e);
          break;
        }
        case DoneKind.CORRUPT:
          this.end(id, { ms: 0, kind: 'corrupt', how: r[Done.RAW] === Corruption.OVERRAN ? 'overran' : 'changed' });
          break;
        case DoneKind.TRAPPED:
          this.end(id, { ms: 0, kind: 'trapped', reason: this.report(w, id, 'trap')?.reason ?? 'trapped (reason lost)', late });
          break;
        case DoneKind.STALE:
          this.end(id, { ms: 0, kind: 'stale' });
          break;
        default:
          this.end(id, { ms: 0, kind: 'expired' });
      }
    }
  }

  /** A report posted on the worker's port before its completion was pushed (a trap's reason, metadata). */
  private report<K extends 'trap' | 'metadata'>(w: PoolWorker, id: number, op: K): Extract<WorkerReport, { op: K }> | undefined {
    this.pollPort(w);
    const report = this.reports.get(id);
    this.reports.delete(id);
    return report?.op === op ? (report as Extract<WorkerReport, { op: K }>) : undefined;
  }

  private pollPort(w: PoolWorker): void {
    for (let m = receiveMessageOnPort(w.port); m !== undefined; m = receiveMessageOnPort(w.port)) this.onReport(w, m.message as WorkerReport);
  }

  private onReport(w: PoolWorker, report: WorkerReport): void {
    if (report.op === 'released') this.acknowledge(w, report.classId);
    else if (report.op === 'output') this.emit('class', { type: 'output', classId: report.classId, stream: report.stream, text: report.text, dropped: report.dropped });
    else this.reports.set(report.job, report);
  }

  /** Worker `w` holds no instance of dropped class `id` any more; the last one releases the class. */
  private acknowledge(w: PoolWorker, id: number): void {
    const waiting = this.releasing.get(id);
    if (waiting === undefined || !waiting.delete(w) || waiting.size > 0) return;
    this.releasing.delete(id);
    this.emit('class', { type: 'released', classId: id });
  }

  private drainAll(): void {
    for (const w of this.workers) this.drain(w);
    if (this.backlog.length > 0) this.flushBacklog();
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
    const t = crossThreadNow();
    for (const [id, e] of this.inFlight) {
      if (!e.late && t > e.deadline) {
        e.late = true;
        e.listener.late();
        // A parked job past its deadline is given up: no thread to stop, its references go back now.
        if (e.parked) this.end(id, { ms: 0, kind: 'abandoned' });
        // One its class's share held back never ran.
        else if (e.held) this.end(id, { ms: 0, kind: 'expired' });
      }
    }
    this.share(performance.now());
    for (const w of [...this.workers]) {
      const cur = Atomics.load(w.cells, WorkerCell.CURRENT);
      if (cur <= 0) continue;
      const e = this.inFlight.get(cur);
      if (e !== undefined && t > e.deadline + this.stuckAfterMs) {
        // The caller already has its `timeout` (late() came first).
        const reason = `worker ${w.index} stuck ${Math.round(t - e.deadline)} ms past the deadline, terminated`;
        this.condemn(w, cur, { ms: 0, kind: 'terminated', reason, inDevice: Atomics.load(w.cells, WorkerCell.IN_DEVICE) === 1 });
      }
    }
    if (this.inFlight.size === 0) this.stopWatch();
  }

  /**
   * Fair shares (see ClassTraffic): find the calls that have held their thread past HOG_MS (not in a
   * blocking device call: that is the device's time), make their classes suspect, and preempt the
   * newest of a class's long calls beyond its share, where a share is the workers divided among the
   * classes that have work. Long calls of several classes (each within its share) may not hold every
   * worker while another class's jobs wait in the queue either: then the newest of them is preempted.
   */
  private share(now: number): void {
    let long: Map<ClassTraffic, PoolWorker[]> | null = null;
    for (const w of this.workers) {
      const cur = Atomics.load(w.cells, WorkerCell.CURRENT);
      if (cur !== w.seenJob) {
        w.seenJob = cur;
        w.seenAt = now;
        continue;
      }
      // Time in a blocking device call is the device's: the clock of the call restarts after it.
      if (Atomics.load(w.cells, WorkerCell.IN_DEVICE) === 1) w.seenAt = now;
      if (cur <= 0 || now - w.seenAt < HOG_MS) continue;
      const e = this.inFlight.get(cur);
      if (e === undefined) continue;
      long ??= new Map();
      const list = long.get(e.traffic) ?? [];
      list.push(w);
      long.set(e.traffic, list);
    }
    if (long !== null) {
      let longCalls = 0;
      let newest: PoolWorker | null = null;
      let busy = 0;
      for (const t of this.traffic.values()) if (t.dispatched + t.held.length > 0) busy++;
      const share = Math.max(1, Math.floor(this.size / Math.max(1, busy)));
      for (const [t, workers] of long) {
        t.suspectUntil = now + SUSPECT_MS;
        t.cap = share;
        if (!t.quarantined) this.capClass(t, share);
        workers.sort((a, b) => b.seenAt - a.seenAt);
        for (const w of workers.slice(0, workers.length - share)) {
          const reason = `its call ran ${Math.round(now - w.seenAt)} ms on worker ${w.index} while its class held ${workers.length} of ${this.size} workers (its share is ${share})`;
          this.condemn(w, w.seenJob, { ms: 0, kind: 'preempted', reason });
        }
        for (const w of workers.slice(workers.length - share)) {
          longCalls++;
          if (newest === null || w.seenAt > newest.seenAt) newest = w;
        }
      }
      // Every worker is in a long call: another class's dispatched jobs can only be waiting in the queue.
      if (newest !== null && longCalls >= this.workers.length && [...this.traffic.values()].some((t) => t.dispatched > 0 && !long!.has(t))) {
        const reason = `its call ran ${Math.round(now - newest.seenAt)} ms on worker ${newest.index} while long calls held every worker and other jobs waited`;
        this.condemn(newest, newest.seenJob, { ms: 0, kind: 'preempted', reason });
      }
    }
    for (const t of this.traffic.values()) {
      if (t.suspectUntil !== 0 && now > t.suspectUntil) {
        t.suspectUntil = 0;
        if (!t.quarantined) Atomics.store(t.gate, GateCell.CAP, 0);
        this.release(t);
      }
    }
  }

  /**
   * Publish class `t`'s cap. Setting the first one, count the calls of it running now (uncounted while
   * it had none): a worker that read no cap is either seen here by its current job, or reads the cap.
   */
  private capClass(t: ClassTraffic, cap: number): void {
    const first = Atomics.load(t.gate, GateCell.CAP) === 0;
    Atomics.store(t.gate, GateCell.CAP, cap);
    if (!first) return;
    for (const w of this.workers) {
      const e = this.inFlight.get(Atomics.load(w.cells, WorkerCell.CURRENT));
      if (e?.traffic === t && Atomics.compareExchange(w.cells, WorkerCell.GATED, 0, t.id + 1) === 0) Atomics.add(t.gate, GateCell.RUNNING, 1);
    }
  }

  /** Terminate a worker stuck in a job; the job ends (and its references go back) once the thread is gone. */
  private condemn(w: PoolWorker, job: number, end: Extract<JobEnd, { kind: 'terminated' | 'preempted' }>): void {
    if (Atomics.compareExchange(w.cells, WorkerCell.CURRENT, job, KILLED) !== job) return;
    this.workers.splice(this.workers.indexOf(w), 1);
    this.exiting.add(w);
    this.drain(w);
    w.condemnedJob = { id: job, end };
    void w.thread.terminate();
    this.owed++;
    this.replenish(`worker ${w.index} was ${end.kind === 'preempted' ? 'preempted' : 'stuck'}`);
  }

}
