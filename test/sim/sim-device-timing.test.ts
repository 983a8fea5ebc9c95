import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../host/backends/deadline.js';
import { COUNTER_INDEX, RELEASE_INDEX, SimDevice } from '../../host/backends/sim/sim-device.js';
import { TUR, errnoOf, outcome } from './helpers.js';

const ETIMEDOUT = 73;

/** Milliseconds `f` blocked this thread, and its result. */
function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const result = f();
  return [result, performance.now() - t0];
}

/**
 * A worker that releases the device the way any thread can, through the shared cells only: it waits
 * until the main thread's command has been counted, gives it a moment to start waiting, then bumps the
 * release generation and notifies. Eval workers cannot import TypeScript, hence the raw indices.
 */
const RELEASER = `
const { workerData } = require('node:worker_threads');
const cells = new Int32Array(workerData.shared);
while (Atomics.load(cells, workerData.counter) === workerData.before) Atomics.wait(cells, workerData.counter, workerData.before, 5);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
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
  it('slow answers GOOD after its latency', () => {
    const d = SimDevice.fromSpec('sim:slow?latency=100');
    const [result, ms] = timed(() => d.scsi(TUR, Deadline.NONE));
    expect(outcome(result).status).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(100);
    const [data, readMs] = timed(() => d.read(0, 16, Deadline.NONE));
    expect(data).toBeInstanceOf(Uint8Array);
    expect(readMs).toBeGreaterThanOrEqual(100);
  });

  it('a deadline shorter than the latency gives ETIMEDOUT', () => {
    const d = SimDevice.fromSpec('sim:slow');
    const [result, ms] = timed(() => d.scsi(TUR, Deadline.after(50)));
    expect(errnoOf(result)).toBe(ETIMEDOUT);
    expect(ms).toBeGreaterThanOrEqual(50);
    expect(errnoOf(d.read(0, 1, Deadline.after(20)))).toBe(ETIMEDOUT);
  });
});

describe('hang', () => {
  it('ends at the deadline with ETIMEDOUT', () => {
    const d = SimDevice.fromSpec('sim:hang');
    const [result, ms] = timed(() => d.scsi(TUR, Deadline.after(100)));
    expect(errnoOf(result)).toBe(ETIMEDOUT);
    expect(ms).toBeGreaterThanOrEqual(100);
  });

  it('is released by another thread and then answers like ok', async () => {
    const d = SimDevice.fromSpec('sim:hang');
    const worker = await startReleaser(d);
    const o = outcome(d.scsi(TUR, Deadline.after(20_000)));
    expect({ status: o.status, host: o.hostStatus, sense: o.sense.length }).toEqual({ status: 0, host: 0, sense: 0 });
    await once(worker, 'exit');
  });

  it('a released read returns data', async () => {
    const d = SimDevice.fromSpec('sim:hang');
    const worker = await startReleaser(d);
    expect([...(d.read(300, 2, Deadline.after(20_000)) as Uint8Array)]).toEqual([44, 45]);
    await once(worker, 'exit');
  });

  it('release() wakes only commands already hung: a later command hangs again', () => {
    const d = SimDevice.fromSpec('sim:hang');
    const cells = new Int32Array(d.shared);
    d.release();
    expect(Atomics.load(cells, RELEASE_INDEX)).toBe(1);
    expect(errnoOf(d.scsi(TUR, Deadline.after(30)))).toBe(ETIMEDOUT);
  });

  it('a device attached on another thread is released through the same buffer', async () => {
    const a = SimDevice.fromSpec('sim:ok?id=x');
    const b = SimDevice.fromShared('sim:ok?id=x', a.shared);
    a.setScenario('hang');
    const worker = await startReleaser(b);
    expect(outcome(b.scsi(TUR, Deadline.after(20_000))).status).toBe(0);
    await once(worker, 'exit');
  });
});
