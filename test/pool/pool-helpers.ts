import { join } from 'node:path';
import { openDevice } from '../../host/backends/device-spec.js';
import type { SimDevice } from '../../host/backends/sim/sim-device.js';
import { CHECKERS_DIR } from '../../host/cli/package-paths.js';
import { CheckHost, type CheckHostOptions } from '../../host/registry/check-host.js';
import type { PoolEvent } from '../../host/pool/worker-pool.js';
import type { JobEnd, WorkerPool } from '../../host/pool/worker-pool.js';
import type { CheckerClass } from '../../host/registry/checker-class.js';
import type { RegistryEvent } from '../../host/registry/registry.js';

export const TUR = join(CHECKERS_DIR, 'tur.wasm');

export function sim(spec: string): SimDevice {
  return openDevice(spec) as SimDevice;
}

/** A CheckHost with every registry and pool event recorded. */
export async function host(opts: CheckHostOptions = {}) {
  const h = new CheckHost({ size: 2, ...opts });
  const events: (RegistryEvent | PoolEvent)[] = [];
  h.registry.on('event', (e) => events.push(e));
  h.pool.on('event', (e) => events.push(e));
  // Timing-sensitive tests must not count worker start-up against a check's timeout.
  if (!(await h.pool.ready())) throw new Error('pool workers did not start within 10 s');
  return { h, events, registry: h.registry, runner: h.runner, pool: h.pool };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `cond` holds or `ms` pass; returns whether it held. */
export async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(5);
  }
  return cond();
}

// ---------------------------------------------------------------- containment tests (additions)

/** One job's end as the pool reported it to its listener, with what the job was. */
export interface RecordedEnd {
  readonly kind: number;
  readonly classId: number;
  readonly slot: number;
  readonly end: JobEnd;
}

/**
 * Record how every job submitted from now on ends (the JobEnd the registry and runner see), by wrapping
 * the pool's submit: a test can then tell 'corrupt'/'overran' from 'trapped' or 'preempted' directly.
 */
export function recordEnds(pool: WorkerPool): RecordedEnd[] {
  const ends: RecordedEnd[] = [];
  const submit = pool.submit.bind(pool);
  pool.submit = (kind, classId, slot, gen, deviceId, timeoutMs, listener) =>
    submit(kind, classId, slot, gen, deviceId, timeoutMs, {
      late: () => listener.late(),
      ended: (end) => {
        ends.push({ kind, classId, slot, end });
        listener.ended(end);
      },
    });
  return ends;
}

/** An i32 of a class memory, read from the main thread (a counter a plugin keeps below the scratch base). */
export function word(cls: CheckerClass, at: number): number {
  return new Int32Array(cls.memory!.buffer)[at >>> 2]!;
}

export function setWord(cls: CheckerClass, at: number, value: number): void {
  Atomics.store(new Int32Array(cls.memory!.buffer), at >>> 2, value);
}

/** The import a busy-waiting check needs (pass it in fakePlugin's `extra`). */
export const CLOCK_IMPORT = '(import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))';

/**
 * A pc_check body that holds its thread for `ms` by polling CLOCK_MONOTONIC (plugin CPU time, not a
 * device wait), then answers up. Uses 8 bytes at ctx+0 (ctxSize >= 8).
 */
export function busyCheck(ms: number): string {
  return `(local $until i64)
    (drop (call $clock_time_get (i32.const 1) (i64.const 0) (local.get $ctx)))
    (local.set $until (i64.add (i64.load (local.get $ctx)) (i64.const ${ms * 1_000_000})))
    (loop $spin
      (drop (call $clock_time_get (i32.const 1) (i64.const 0) (local.get $ctx)))
      (br_if $spin (i64.lt_u (i64.load (local.get $ctx)) (local.get $until))))
    (i32.or (i32.const 3) (i32.shl (i32.const 4) (i32.const 8)))`;
}
