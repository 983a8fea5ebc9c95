import { Deadline } from '../backends/deadline.js';
import { runCheck } from '../pool/run-check.js';
import type { Checker } from './checker.js';
import { interpretOutcome, result, type CheckResult } from './check-result.js';
import type { Registry } from './registry.js';
import { PathState } from '../abi/path-state.js';

/** Scratch region of the main thread's control instance; host worker threads use the ones after it. */
export const CONTROL_SCRATCH_REGION = 0;

/**
 * Run one check synchronously on the calling thread, through the same shim and device a worker
 * would use: the in-thread limit later work is measured against. References are taken before the
 * call and released after it, whatever happens.
 */
export function checkInThread(registry: Registry, checker: Checker, timeoutMs: number): CheckResult {
  const job = registry.beginJob(checker);
  if (job === null) return result(PathState.UNCHECKED, `${checker.cls.name} checker is unbound`, 0);
  try {
    const outcome = runCheck(job.cls.control, {
      ctx: job.ctx,
      fd: job.fd,
      scratch: job.cls.layout.scratch(CONTROL_SCRATCH_REGION),
      deadline: Deadline.after(timeoutMs),
    });
    return interpretOutcome(job.cls, outcome);
  } finally {
    registry.endJob(job);
  }
}
