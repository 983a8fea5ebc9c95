import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { attachDevice } from '../backends/device-spec.js';
import type { Device } from '../backends/device.js';
import { IoState } from '../backends/io-slot.js';
import { addScenarios } from '../backends/sim/scenario.js';
import { DeviceNamespace } from '../shim/device-namespace.js';
import { collectGarbage } from './collect-garbage.js';
import { ContextField, CONTEXT_FIELDS } from './context-layout.js';
import { Corruption, DoneKind, DoneRing } from './done-ring.js';
import { MemoryGuard } from './memory-guard.js';
import { Job, JOB_FIELDS, JobKind, JobQueue } from './job-queue.js';
import { readMetadata } from './read-metadata.js';
import { PluginInstance } from './plugin-instance.js';
import { GateCell, KILLED, QUARANTINED_CAP, PoolCell, WorkerCell, type ClassLayout, type ControlMessage, type WorkerInit } from './worker-cells.js';

/**
 * The host's thread entry (DESIGN.md: the thread belongs to the host, never to a plugin). A worker
 * takes jobs from the shared queue, makes one plugin call on its own instance of the job's class, and
 * reports to its completion ring. A job names only a class id, a context handle and which call; the
 * context pointer, scratch and device fd are this thread's, looked up here; a stale generation is
 * refused. A call that waits for a device (`WAIT | fd`, docs/ABI.md) is reported PARKED and this
 * thread moves on: no device wait happens here. Besides the idle wait for jobs, a worker waits only
 * when the main thread has condemned it (to be terminated) or has not drained its full completion ring.
 */
const init = workerData as WorkerInit;
// Before any device is attached: a sim device's state names its scenario by index.
for (const source of init.scenarios) addScenarios(source);
const jobs = new JobQueue(init.jobs, init.jobCapacity);
const done = new DoneRing(init.done, init.doneCapacity);
const pool = init.poolCells;
const mine = init.workerCells;
const namespace = new DeviceNamespace();
const record = new Float64Array(JOB_FIELDS);
/** Bit 31 of a call's result: the plugin waits for the fd in bits 0..15. */
const WAIT_MASK = 0x80000000 | 0;

interface WorkerClass {
  readonly desc: Extract<ControlMessage, { op: 'class' }>;
  layout: ClassLayout | null;
  /** Made with the layout: contexts exist from then on. */
  guard: MemoryGuard | null;
  instance: PluginInstance | null;
  /** When this thread last reported the class's dropped output (at most once a second). */
  lastFlush: number;
}
const classes = new Map<number, WorkerClass>();
const devices = new Map<number, Device>();

function control(msg: ControlMessage): void {
  switch (msg.op) {
    case 'class':
      classes.set(msg.id, { desc: msg, layout: null, guard: null, instance: null, lastFlush: -Infinity });
      return;
    case 'layout': {
      const c = classes.get(msg.id);
      if (c !== undefined) {
        c.layout = msg;
        c.guard = new MemoryGuard(c.desc.memory, c.desc.guardKey);
      }
      return;
    }
    case 'drop-class':
      classes.delete(msg.id);
      init.port.postMessage({ op: 'released', classId: msg.id });
      gcOwed = true;
      return;
    case 'device': {
      const device = attachDevice(msg.share);
      // A backend that blocks the submitting thread (sim hang-hard) marks the time as the device's.
      const submitted = device.submitted.bind(device);
      device.submitted = () => {
        Atomics.store(mine, WorkerCell.IN_DEVICE, 1);
        try {
          submitted();
        } finally {
          Atomics.store(mine, WorkerCell.IN_DEVICE, 0);
        }
      };
      devices.set(msg.id, device);
      return;
    }
    case 'drop-device': {
      const device = devices.get(msg.id);
      devices.delete(msg.id);
      if (device !== undefined) for (const c of classes.values()) c.instance?.shim.fds.dropCallDevice(device);
      return;
    }
  }
}

/**
 * An idle worker allocates nothing, so its heap never collects by itself: a dropped class's instance
 * would keep the class memory and compiled code alive in this thread for good. Collect after a drop, at
 * most every WORKER_GC_EVERY_MS (a burst of reloads costs one collection), and only when idle: never
 * inside a job, whose class would be charged for it.
 */
const WORKER_GC_EVERY_MS = 100;
let lastGc = -Infinity;
let gcOwed = false;

function collectIfDue(): void {
  if (!gcOwed || performance.now() - lastGc < WORKER_GC_EVERY_MS) return;
  gcOwed = false;
  collectGarbage();
  lastGc = performance.now();
}

function drainControl(): void {
  for (let m = receiveMessageOnPort(init.port); m !== undefined; m = receiveMessageOnPort(init.port)) control(m.message as ControlMessage);
}

/** This worker's instance of a class, made on first use against the class's shared memory. */
function instanceOf(c: WorkerClass): PluginInstance {
  const classId = c.desc.id;
  c.instance ??= PluginInstance.create(c.desc.module, c.desc.memory, namespace, (stream, text, dropped) => init.port.postMessage({ op: 'output', classId, stream, text, dropped }));
  return c.instance;
}

/** Point the instance's call fd at the context's device: the only path device this call can reach. */
function fdFor(instance: PluginInstance, deviceId: number): number {
  // The device message was posted before the job: if it is not here yet, it is on the port.
  if (deviceId !== 0 && !devices.has(deviceId)) drainControl();
  return instance.shim.fds.setCallDevice(devices.get(deviceId) ?? null);
}

function trapReason(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0]!;
  return String(e);
}

function trapped(id: number, reason: string, late: number): void {
  init.port.postMessage({ op: 'trap', job: id, reason });
  finish(id, DoneKind.TRAPPED, 0, late);
}

/** The class of a job and whether its context handle is still good; null (reported STALE) if not. */
function classFor(id: number, kind: number): WorkerClass | null {
  const classId = record[Job.CLASS]!;
  let c = classes.get(classId);
  if (c === undefined || (kind !== JobKind.PROBE && c.layout === null)) {
    drainControl();
    c = classes.get(classId);
  }
  if (c === undefined) return null;
  if (kind === JobKind.PROBE) return c;
  if (c.layout === null) return null;
  const base = record[Job.SLOT]! * CONTEXT_FIELDS;
  const cells = c.desc.contexts;
  if (Atomics.load(cells, base + ContextField.GEN) !== record[Job.GEN]) return null;
  // pc_free runs once the last holder let go; every other call needs a holder.
  if (kind !== JobKind.FREE && Atomics.load(cells, base + ContextField.HOLDERS) <= 0) return null;
  return c;
}

/**
 * Whether a call of the class may start on this thread now. A call of a class with no cap is not
 * counted (no shared write per check): the main thread counts the calls running when it sets a cap.
 * Only checks wait for the cap: a path's pc_init or pc_free and the metadata read are one-off calls,
 * and the pool preempts one that holds the last worker.
 */
function admit(c: WorkerClass, cap: number, capped: boolean): boolean {
  if (cap === 0) return true;
  const gate = c.desc.gate;
  // Settle a count the main thread made for this worker's previous call first (see GateCell).
  uncount();
  // GATED first: a thread terminated between the two leaves the count one low (a cap let through once), never one high for good.
  Atomics.store(mine, WorkerCell.GATED, c.desc.id + 1);
  const running = Atomics.add(gate, GateCell.RUNNING, 1);
  if (capped && running >= Atomics.load(gate, GateCell.CAP)) {
    uncount();
    return false;
  }
  return true;
}

/** Whoever clears GATED (this thread, or the main thread) takes the count it stands for off that class's gate. */
function uncount(): void {
  const g = Atomics.exchange(mine, WorkerCell.GATED, 0);
  if (g !== 0) {
    const gate = classes.get(g - 1)?.desc.gate;
    if (gate !== undefined) Atomics.sub(gate, GateCell.RUNNING, 1);
  }
}

/** Run one job and report how it ended through the ring. */
function execute(id: number): void {
  const kind = record[Job.KIND]!;
  const at = record[Job.DEADLINE]! - performance.timeOrigin;
  const c = classFor(id, kind);
  if (c === null) return finish(id, DoneKind.STALE, 0, 0);
  if (at <= performance.now()) return finish(id, DoneKind.EXPIRED, 0, 1);
  const cap = Atomics.load(c.desc.gate, GateCell.CAP);
  if (cap === QUARANTINED_CAP) return finish(id, DoneKind.STALE, 0, 0);
  if (!admit(c, cap, kind === JobKind.CHECK || kind === JobKind.PENDING)) return finish(id, DoneKind.DEFERRED, 0, 0);
  let instance: PluginInstance;
  try {
    instance = instanceOf(c);
  } catch (e) {
    return trapped(id, `cannot instantiate: ${(e as Error).message}`, 0);
  }
  // Every call, pc_free and the metadata read included, owns what it submits.
  instance.shim.owner = id;
  // Class-wide calls (the metadata read, pc_free) reach no device at all.
  if (kind === JobKind.PROBE || kind === JobKind.FREE) instance.shim.fds.setCallDevice(null);
  if (kind === JobKind.PROBE) return probe(id, instance, at);
  const layout = c.layout!;
  const guard = c.guard!;
  const slot = record[Job.SLOT]!;
  const ctx = layout.ctxBase + slot * layout.ctxStride;
  const sumCell = slot * CONTEXT_FIELDS + ContextField.SUM;
  // Changed since its last call ended: another call of the class wrote into it.
  if (Atomics.load(c.desc.contexts, sumCell) !== guard.sum(ctx, layout.ctxBytes)) return finish(id, DoneKind.CORRUPT, Corruption.CHANGED, 0);
  const scratch = layout.scratchBase + init.scratchRegion * layout.scratchStride;
  let reason: string | null = null;
  try {
    run(id, c, instance, kind, slot, ctx, scratch, at);
  } catch (e) {
    reason = trapReason(e);
  }
  // What a call wrote around its own context or scratch is on its own account, trap or not.
  if (!guard.aroundIntact(ctx, layout.ctxStride, scratch, layout.scratchStride)) {
    return finish(id, DoneKind.CORRUPT, Corruption.OVERRAN, late(at));
  }
  Atomics.store(c.desc.contexts, sumCell, guard.sum(ctx, layout.ctxBytes));
  // The clock is read only with a drop to report: a healthy check just looks at two counters.
  if (instance.shim.outputDropping) {
    const now = performance.now();
    if (now - c.lastFlush >= OUTPUT_FLUSH_MS) {
      c.lastFlush = now;
      instance.shim.flushOutput();
    }
  }
  if (reason !== null) return trapped(id, reason, late(at));
  finish(id, ended.kind, ended.raw, ended.kind === DoneKind.RETURNED ? late(at) : 0);
}

/** A flood's dropped-bytes count is reported at most this often per class and thread. */
const OUTPUT_FLUSH_MS = 1000;

/** How run() ended when it did not throw (a field pair, so a check allocates nothing). */
const ended = { kind: 0, raw: 0 };

/** Make the job's plugin call, and go on with it while the device it waits for has answered already. */
function run(id: number, c: WorkerClass, instance: PluginInstance, kind: number, slot: number, ctx: number, scratch: number, at: number): void {
  const x = instance.exports;
  ended.kind = DoneKind.RETURNED;
  ended.raw = 0;
  if (kind === JobKind.FREE) return x.pc_free(ctx);
  const fd = fdFor(instance, Atomics.load(c.desc.contexts, slot * CONTEXT_FIELDS + ContextField.DEVICE));
  let raw = kind === JobKind.CHECK ? x.pc_check(ctx, fd, scratch) : kind === JobKind.PENDING ? x.pc_pending(ctx, fd, scratch) : x.pc_init(ctx, fd, scratch);
  // A wait on an fd that is readable already goes on here, within the deadline. Only a command of
  // this job counts: the device's slot is shared with the path's other bindings. A continuation
  // starts with its reply readable: waiting again without reading it would wait for good.
  let unread = kind === JobKind.PENDING ? serialOf(instance, fd) : null;
  while ((raw & WAIT_MASK) !== 0 && at > performance.now()) {
    const entry = (raw & 0xffff) === fd ? instance.shim.fds.get(fd) : undefined;
    const io = entry?.kind === 'device' ? entry.device.io : null;
    const state = io === null || io.owner !== id ? IoState.IDLE : io.state;
    // Waiting on nothing, or again on a reply it left unread: it would wait for good.
    if (state === IoState.IDLE || state === IoState.FILLING || (state === IoState.COMPLETE && io!.serial === unread)) {
      ended.kind = DoneKind.BAD_WAIT;
      ended.raw = raw & 0xffff;
      return;
    }
    if (state !== IoState.COMPLETE) {
      ended.kind = DoneKind.PARKED;
      return;
    }
    unread = io!.serial;
    raw = x.pc_pending(ctx, fd, scratch);
  }
  ended.raw = raw;
}

/** The serial of the command on the device behind `fd` (what a continuation was resumed for). */
function serialOf(instance: PluginInstance, fd: number): number | null {
  const entry = instance.shim.fds.get(fd);
  return entry?.kind === 'device' ? entry.device.io.serial : null;
}

function late(at: number): number {
  return at <= performance.now() ? 1 : 0;
}

/** Read the class's metadata exports; the main thread validates what they answered. */
function probe(id: number, instance: PluginInstance, at: number): void {
  let metadata;
  try {
    metadata = readMetadata(instance);
  } catch (e) {
    return trapped(id, trapReason(e), late(at));
  }
  init.port.postMessage({ op: 'metadata', job: id, metadata });
  finish(id, DoneKind.METADATA, 0, late(at));
}

/**
 * Report a job, unless the main thread has condemned this worker meanwhile: then stop touching
 * shared state at all and wait to be terminated, so a kill can never land inside a queue operation.
 */
function finish(id: number, kind: number, raw: number, isLate: number): void {
  // Uncounted before the completion is seen: the main thread may hand out the class's next call at once.
  uncount();
  if (Atomics.compareExchange(mine, WorkerCell.CURRENT, id, 0) !== id) {
    for (;;) Atomics.wait(mine, WorkerCell.CURRENT, KILLED);
  }
  done.push(id, kind, raw, isLate);
  Atomics.add(pool, PoolCell.DONE_WAKE, 1);
  // The main thread sets MAIN_WAITING before it waits on the value it read before draining: if it
  // was not set when we looked, our add above already changed that value and its wait returns. The
  // first completion to see it set clears it and wakes the main thread; the rest of a burst finds it
  // awake (it drains every ring) and makes no futex call.
  if (Atomics.compareExchange(pool, PoolCell.MAIN_WAITING, 1, 0) === 1) Atomics.notify(pool, PoolCell.DONE_WAKE);
}

Atomics.store(mine, WorkerCell.READY, 1);
for (;;) {
  const wake = Atomics.load(pool, PoolCell.WAKE);
  drainControl();
  if (jobs.pop(record)) {
    const id = record[Job.ID]!;
    Atomics.store(mine, WorkerCell.CURRENT, id);
    execute(id);
  } else {
    collectIfDue();
    Atomics.add(pool, PoolCell.SLEEPERS, 1);
    // A collection still owed (rate-limited) wakes this thread when it is due.
    Atomics.wait(pool, PoolCell.WAKE, wake, gcOwed ? WORKER_GC_EVERY_MS : undefined);
    Atomics.sub(pool, PoolCell.SLEEPERS, 1);
  }
}
