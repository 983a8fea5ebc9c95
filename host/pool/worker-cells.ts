import type { MessagePort } from 'node:worker_threads';
import type { ScenarioSource } from '../backends/sim/scenario.js';
import type { DeviceShare } from '../backends/device.js';

/**
 * Small shared cells between the main thread and the pool's workers. Pool-wide: WAKE (bumped on every
 * job or control message, workers sleep on it) and DONE_WAKE (bumped by workers on every completion,
 * the main thread waits on it), SLEEPERS (workers blocked on WAKE) and MAIN_WAITING (the main thread is
 * waiting on DONE_WAKE): waking a thread costs microseconds, so nobody notifies a thread that is not
 * asleep. Per worker: CURRENT (the job it is running, 0 idle, KILLED once the main thread has condemned
 * it), READY (1 once the worker takes jobs) and IN_DEVICE (1 while a blocking backend holds the thread in
 * a device call: time spent there is the device's, never the plugin class's).
 */
export const PoolCell = { WAKE: 0, DONE_WAKE: 1, SLEEPERS: 2, MAIN_WAITING: 3 } as const;
export const POOL_CELLS = 4;
export const WorkerCell = { CURRENT: 0, READY: 1, IN_DEVICE: 2, GATED: 3 } as const;
export const WORKER_CELLS = 4;
/**
 * Per class: CAP (0: no limit) is set by the main thread while the class is suspect of holding threads
 * (see ClassTraffic in worker-pool.ts); while it is, a worker counts itself in RUNNING for each call of
 * the class and hands the job back (DEFERRED) if the class is at its cap, and the main thread, when it
 * sets a cap, counts the calls already running. A worker's GATED cell holds the class id + 1 whose
 * RUNNING it is counted in (0: none); whoever clears it (the worker when the call ends, the main thread
 * for a worker terminated mid-call) takes the count off, so every count is taken off exactly once.
 */
export const GateCell = { CAP: 0, RUNNING: 1 } as const;
/** CAP of a quarantined class: no call of it of any kind starts (the worker answers STALE). */
export const QUARANTINED_CAP = -1;
export const GATE_CELLS = 2;
export const KILLED = -1;

/** Messages the main thread posts to a worker's control port (never one per check). */
export type ControlMessage =
  | {
      readonly op: 'class';
      readonly id: number;
      readonly module: WebAssembly.Module;
      readonly memory: WebAssembly.Memory;
      readonly contexts: Int32Array;
      /** The class's MemoryGuard key. */
      readonly guardKey: number;
      /** GateCell cells: how many of its calls may be on threads at once, and how many are. */
      readonly gate: Int32Array;
    }
  | ({ readonly op: 'layout'; readonly id: number } & ClassLayout)
  | { readonly op: 'drop-class'; readonly id: number }
  | { readonly op: 'device'; readonly id: number; readonly share: DeviceShare }
  | { readonly op: 'drop-device'; readonly id: number };

/** Where a class's contexts and scratch regions are: known once its metadata has been read. */
export interface ClassLayout {
  readonly ctxBase: number;
  readonly ctxStride: number;
  readonly ctxBytes: number;
  readonly scratchBase: number;
  readonly scratchStride: number;
}

/** What a class's metadata exports answered (docs/ABI.md "Exports"); the main thread validates it. */
export interface ClassMetadata {
  readonly abiVersion: unknown;
  readonly name: string | null;
  readonly ctxSize: unknown;
  readonly scratchSize: unknown;
  readonly msgCount: unknown;
  /** Message texts 100.., null for one that is not a valid string; empty when msgCount is out of range. */
  readonly messages: readonly (string | null)[];
  /** pc_mpctx_offset's answer; -1 when the class has no such export. */
  readonly mpctxOffset: unknown;
}

/** What a worker posts back on its port: a job's details before its completion, and rare class events. */
export type WorkerReport =
  | { readonly op: 'trap'; readonly job: number; readonly reason: string }
  | { readonly op: 'metadata'; readonly job: number; readonly metadata: ClassMetadata }
  /** The worker has dropped its instance of a dropped class (and asked its heap to collect it). */
  | { readonly op: 'released'; readonly classId: number }
  /** What a plugin wrote to stdout/stderr, as the shim's limiter let it through (docs/ABI.md). */
  | { readonly op: 'output'; readonly classId: number; readonly stream: 'stdout' | 'stderr'; readonly text: string; readonly dropped: number };

export interface WorkerInit {
  readonly index: number;
  readonly scratchRegion: number;
  readonly jobs: SharedArrayBuffer;
  readonly jobCapacity: number;
  readonly done: SharedArrayBuffer;
  readonly doneCapacity: number;
  readonly poolCells: Int32Array;
  readonly workerCells: Int32Array;
  readonly port: MessagePort;
  /** The user's sim scenario files the main thread added before this worker started: added here too. */
  readonly scenarios: readonly ScenarioSource[];
}
