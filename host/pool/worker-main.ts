import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { attachDevice } from '../backends/device-spec.js';
import type { Device } from '../backends/device.js';
import { Deadline } from '../backends/deadline.js';
import { DeviceNamespace } from '../shim/device-namespace.js';
import { ContextField, CONTEXT_FIELDS } from './context-layout.js';
import { DoneKind, DoneRing } from './done-ring.js';
import { Job, JOB_FIELDS, JobQueue } from './job-queue.js';
import { PluginInstance } from './plugin-instance.js';
import { runCheck, type CheckJob } from './run-check.js';
import { KILLED, PoolCell, WorkerCell, type ControlMessage, type WorkerInit } from './worker-cells.js';

/**
 * The host's thread entry (DESIGN.md: the thread belongs to the host, never to a plugin). A worker
 * takes jobs from the shared queue, runs pc_check on its own instance of the job's class, and
 * reports to its completion ring. A job names only a class id and a context handle; everything else
 * (context pointer, device) is looked up here, and a stale generation is refused.
 */
const init = workerData as WorkerInit;
const jobs = new JobQueue(init.jobs, init.jobCapacity);
const done = new DoneRing(init.done, init.doneCapacity);
const pool = init.poolCells;
const mine = init.workerCells;
const namespace = new DeviceNamespace();
const deadline = new Deadline(Infinity, { cells: mine, index: WorkerCell.CANCEL });
const record = new Float64Array(JOB_FIELDS);
/** Reused for every job; runCheck reads it synchronously. */
const job: { ctx: number; fd: number; scratch: number; deadline: Deadline } = { ctx: 0, fd: -1, scratch: 0, deadline };

interface WorkerClass {
  readonly desc: Extract<ControlMessage, { op: 'class' }>;
  instance: PluginInstance | null;
  readonly fds: Map<number, number>;
}
const classes = new Map<number, WorkerClass>();
const devices = new Map<number, Device>();

function control(msg: ControlMessage): void {
  switch (msg.op) {
    case 'class':
      classes.set(msg.id, { desc: msg, instance: null, fds: new Map() });
      return;
    case 'drop-class':
      classes.delete(msg.id);
      return;
    case 'device':
      devices.set(msg.id, attachDevice(msg.share));
      return;
    case 'drop-device':
      devices.delete(msg.id);
      for (const c of classes.values()) {
        const fd = c.fds.get(msg.id);
        if (fd !== undefined) c.instance?.shim.fds.close(fd);
        c.fds.delete(msg.id);
      }
      return;
  }
}

function drainControl(): void {
  for (let m = receiveMessageOnPort(init.port); m !== undefined; m = receiveMessageOnPort(init.port)) control(m.message as ControlMessage);
}

/** This worker's instance of a class, made on first use against the class's shared memory. */
function instanceOf(c: WorkerClass): PluginInstance {
  c.instance ??= PluginInstance.create(c.desc.module, c.desc.memory, namespace);
  return c.instance;
}

function fdFor(c: WorkerClass, instance: PluginInstance, deviceId: number): number {
  let fd = c.fds.get(deviceId);
  if (fd === undefined) {
    // The device message was posted before the job: if it is not here yet, it is on the port.
    if (!devices.has(deviceId)) drainControl();
    const device = devices.get(deviceId);
    if (device === undefined) return -1;
    fd = instance.shim.fds.openDevice(device);
    c.fds.set(deviceId, fd);
  }
  return fd;
}

/** Run one job and report how it ended through the ring. */
function execute(id: number): void {
  const classId = record[Job.CLASS]!;
  const slot = record[Job.SLOT]!;
  const gen = record[Job.GEN]!;
  const at = record[Job.DEADLINE]! - performance.timeOrigin;
  let c = classes.get(classId);
  if (c === undefined) {
    drainControl();
    c = classes.get(classId);
  }
  const cells = c?.desc.contexts;
  const base = slot * CONTEXT_FIELDS;
  if (c === undefined || cells === undefined || Atomics.load(cells, base + ContextField.GEN) !== gen || Atomics.load(cells, base + ContextField.HOLDERS) <= 0) {
    finish(id, DoneKind.STALE, 0, 0, 0);
    return;
  }
  if (at <= performance.now()) {
    finish(id, DoneKind.EXPIRED, 0, 0, 1);
    return;
  }
  let instance: PluginInstance;
  try {
    instance = instanceOf(c);
  } catch (e) {
    init.port.postMessage({ op: 'trap', job: id, reason: `cannot instantiate: ${(e as Error).message}` });
    finish(id, DoneKind.TRAPPED, 0, 0, 0);
    return;
  }
  const d = c.desc;
  job.ctx = d.ctxBase + slot * d.ctxStride;
  job.fd = fdFor(c, instance, Atomics.load(cells, base + ContextField.DEVICE));
  job.scratch = d.scratchBase + init.scratchRegion * d.scratchStride;
  deadline.arm(at, id);
  const outcome = runCheck(instance, job as CheckJob);
  const micros = Math.round(outcome.ms * 1000);
  const late = outcome.late ? 1 : 0;
  if (outcome.kind === 'trapped') {
    init.port.postMessage({ op: 'trap', job: id, reason: outcome.reason });
    finish(id, DoneKind.TRAPPED, 0, micros, late);
  } else {
    finish(id, DoneKind.RETURNED, outcome.raw, micros, late);
  }
}

/**
 * Report a job, unless the main thread has condemned this worker meanwhile: then stop touching
 * shared state at all and wait to be terminated, so a kill can never land inside a queue operation.
 */
function finish(id: number, kind: number, raw: number, micros: number, late: number): void {
  if (Atomics.compareExchange(mine, WorkerCell.CURRENT, id, 0) !== id) {
    for (;;) Atomics.wait(mine, WorkerCell.CURRENT, KILLED);
  }
  done.push(id, kind, raw, micros, late);
  Atomics.add(pool, PoolCell.DONE_WAKE, 1);
  // The main thread sets MAIN_WAITING before it waits on the value it read before draining: if it
  // was not set when we looked, our add above already changed that value and its wait returns.
  if (Atomics.load(pool, PoolCell.MAIN_WAITING) === 1) Atomics.notify(pool, PoolCell.DONE_WAKE);
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
    Atomics.add(pool, PoolCell.SLEEPERS, 1);
    Atomics.wait(pool, PoolCell.WAKE, wake);
    Atomics.sub(pool, PoolCell.SLEEPERS, 1);
  }
}
