import type { Device } from '../backends/device.js';
import type { CheckerClass } from './checker-class.js';
import type { ContextHandle } from './context-table.js';

/** A path bound to a checker class: it holds one class reference and one context hold until unbound. */
export class Checker {
  bound = true;
  /** A check of this path is in flight (at most one is, DESIGN.md invariant 6). */
  running = false;
  /** The job every check of this path hands out: made once, since at most one is in flight. */
  readonly job: Job;

  constructor(
    readonly cls: CheckerClass,
    readonly handle: ContextHandle,
    readonly device: Device,
    deviceId: number,
  ) {
    this.job = { cls, handle, deviceId, spec: device.spec };
  }
}

/**
 * One in-flight plugin call on a context. It carries only what a host thread needs (DESIGN.md
 * invariant 3): never the Checker, which may be unbound and gone while the job still runs.
 */
export interface Job {
  readonly cls: CheckerClass;
  readonly handle: ContextHandle;
  /** The host-wide id under which the pool knows the context's device. */
  readonly deviceId: number;
  /** The device's spec: how a quarantine reason names the path. */
  readonly spec: string;
}
