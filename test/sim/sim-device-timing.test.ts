import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { Device } from '../../host/backends/device.js';
import { IoState, type IoSlot } from '../../host/backends/io-slot.js';
import { COUNTER_INDEX, RELEASE_INDEX, SimDevice } from '../../host/backends/sim/sim-device.js';
import { SimSpecError } from '../../host/backends/sim/sim-spec-error.js';
import { TUR, fixedSense, scsi, scsiReply, started, submit, submitRead, take, type Reply } from './helpers.js';

/*
 * Bounds sit far from scheduling noise on either side: a 200 ms latency is not answered at 50 ms and is
 * answered within 2 s; "does not block" means well under the latency.
 */
const LATENCY = 200;
const EIO = 29;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Milliseconds `f` blocked this thread, and its result. */
function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const result = f();
  return [result, performance.now() - t0];
}

/** `p`, or a failure if it has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`not answered within ${ms} ms`)))]);
}

/** A promise and whether it has settled yet, to see that nothing completed too early. */
function watched(p: Promise<void>): { promise: Promise<void>; settled: () => boolean } {
  let settled = false;
  void p.then(() => (settled = true));
  return { promise: p, settled: () => settled };
}

/** The two kinds of command a device takes, submitted as the shim does. */
const SENDS: Array<{ kind: string; send: (d: Device) => IoSlot; reply: Reply }> = [
  { kind: 'SCSI command', send: (d) => submit(d, TUR), reply: scsiReply(0) },
  { kind: 'plain read', send: (d) => submitRead(d, 510, 3), reply: { data: [254, 255, 0] } },
];

/**
 * A worker that releases the device the way any thread can, through the shared cells only: it waits
 * until the main thread's command has been counted, gives it a moment to start waiting, then bumps the
 * release generation and notifies. Eval workers cannot import TypeScript, hence the raw indices.
 */
const RELEASER = `
const { workerData } = require('node:worker_threads');
const cells = new Int32Array(workerData.shared);
while (Atomics.load(cells, workerData.counter) === workerData.before) Atomics.wait(cells, workerData.counter, workerData.before, 5);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
Atomics.add(cells, workerData.release, 1);
Atomics.notify(cells, workerData.release);
`;

async function startReleaser(d: SimDevice): Promise<Worker> {
  const worker = new Worker(RELEASER, {
    eval: true,
    workerData: { shared: d.shared, counter: COUNTER_INDEX, release: RELEASE_INDEX, before: d.commandCount },
  });
  await once(worker, 'online');
  return worker;
}

describe('latency', () => {
  it.each(SENDS)('a $kind is readable after the latency, not before, and nothing waits for it', async ({ send, reply }) => {
    const d = SimDevice.fromSpec(`sim:slow?latency=${LATENCY}`);
    const t0 = performance.now();
    const [io, submitMs] = timed(() => send(d));
    expect(submitMs).toBeLessThan(LATENCY / 2);
    expect(io.state).toBe(IoState.SUBMITTED);
    const [done, startMs] = timed(() => watched(started(d)));
    expect(startMs).toBeLessThan(LATENCY / 2);
    // This thread's own timer runs meanwhile: the latency is a timer, not a wait.
    await sleep(50);
    expect(done.settled()).toBe(false);
    expect(io.state).toBe(IoState.STARTED);
    await within(done.promise, 2_000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(LATENCY * 0.75);
    expect(take(io)).toEqual(reply);
  });

  it('runs from the submission: a command the I/O side starts late is answered at once', async () => {
    const d = SimDevice.fromSpec('sim:slow?latency=400');
    submit(d);
    await sleep(450);
    const t0 = performance.now();
    await within(started(d), 2_000);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(take(d.io)).toEqual(scsiReply(0));
  });

  it('latency=0 is answered at once', () => {
    expect(submit(SimDevice.fromSpec('sim:slow?latency=0')).state).toBe(IoState.COMPLETE);
  });
});

describe('hang', () => {
  it.each(SENDS)('a $kind stays unanswered, without blocking, until release(); then it answers like ok', async ({ send, reply }) => {
    const d = SimDevice.fromSpec('sim:hang');
    const [io, submitMs] = timed(() => send(d));
    expect(submitMs).toBeLessThan(50);
    const done = watched(started(d));
    await sleep(100);
    expect(done.settled()).toBe(false);
    expect(io.state).toBe(IoState.STARTED);
    d.release();
    await within(done.promise, 2_000);
    expect(take(io)).toEqual(reply);
  });

  it('a release between the submission and the start is not missed', async () => {
    const d = SimDevice.fromSpec('sim:hang');
    submit(d);
    d.release();
    await within(started(d), 2_000);
    expect(take(d.io)).toEqual(scsiReply(0));
  });

  it('release() wakes only commands already hung: a later command hangs again', async () => {
    const d = SimDevice.fromSpec('sim:hang');
    d.release();
    submit(d);
    const done = watched(started(d));
    await sleep(50);
    expect(done.settled()).toBe(false);
    d.release();
    await within(done.promise, 2_000);
    expect(take(d.io)).toEqual(scsiReply(0));
  });

  // Else a path abandoned on a hung command would stay pending after its device recovered.
  it('a scenario change releases a hung command, which answers like ok; a refused change does not', async () => {
    const d = SimDevice.fromSpec('sim:hang');
    submit(d);
    const done = watched(started(d));
    expect(() => d.setScenario('stanby')).toThrow(SimSpecError);
    await sleep(50);
    expect(done.settled()).toBe(false);
    d.setScenario('standby');
    await within(done.promise, 2_000);
    expect(take(d.io)).toEqual(scsiReply(0));
    expect(scsi(d)).toEqual(scsiReply(2, 0, fixedSense(0x2, 0x04, 0x0b)));
  });

  it('is released by another thread through the shared cells, also when submitted through an attached object', async () => {
    const a = SimDevice.fromSpec('sim:ok?id=x');
    const b = SimDevice.fromShared(a.share());
    a.setScenario('hang');
    const worker = await startReleaser(a);
    submit(b);
    await within(started(b), 5_000);
    expect(take(a.io)).toEqual(scsiReply(0));
    await once(worker, 'exit');
  });
});

describe('hang-hard', () => {
  // Blocks the submitting thread, as a call stuck in a driver would: here the test's thread, until a worker releases it.
  it.each(SENDS)('a $kind blocks the submitting thread until released, then answers like ok', async ({ send, reply }) => {
    const d = SimDevice.fromSpec('sim:hang-hard');
    const worker = await startReleaser(d);
    try {
      const [io, ms] = timed(() => send(d));
      expect(ms).toBeGreaterThanOrEqual(50);
      expect(io.state).toBe(IoState.COMPLETE);
      expect(take(io)).toEqual(reply);
    } finally {
      await worker.terminate();
    }
  });
});

describe('the I/O side', () => {
  it('completes with EIO a command whose submitter died before handing it to the device', async () => {
    const d = SimDevice.fromSpec('sim:ok');
    d.io.submitScsi(TUR.cdb, TUR.dataOut, 0, 0, 36); // and no submitted(): the thread was terminated in between
    await within(started(d), 2_000);
    expect(take(d.io)).toEqual({ errno: EIO });
    expect(d.commandCount).toBe(0);
  });
});
