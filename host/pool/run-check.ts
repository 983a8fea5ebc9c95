import { Deadline } from '../backends/deadline.js';
import type { PluginInstance } from './plugin-instance.js';

/** A job as a host thread sees it: where the context and scratch are, which fd, and until when. */
export interface CheckJob {
  readonly ctx: number;
  readonly fd: number;
  readonly scratch: number;
  readonly deadline: Deadline;
}

/** How a call of pc_check ended, before any state interpretation. */
export type CheckOutcome =
  | { readonly kind: 'returned'; readonly raw: number; readonly ms: number; readonly late: boolean }
  | { readonly kind: 'trapped'; readonly reason: string; readonly ms: number; readonly late: boolean };

/**
 * The host's thread entry for one check: the plugin never owns a thread, it is only called from
 * here. A trap is caught and reported; it never escapes into the host thread.
 */
export function runCheck(instance: PluginInstance, job: CheckJob): CheckOutcome {
  const start = performance.now();
  instance.shim.deadline = job.deadline;
  try {
    const raw = instance.exports.pc_check(job.ctx, job.fd, job.scratch);
    return { kind: 'returned', raw, ms: performance.now() - start, late: job.deadline.expired() };
  } catch (e) {
    return { kind: 'trapped', reason: trapReason(e), ms: performance.now() - start, late: job.deadline.expired() };
  } finally {
    instance.shim.deadline = Deadline.NONE;
  }
}

function trapReason(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0]!;
  return String(e);
}
