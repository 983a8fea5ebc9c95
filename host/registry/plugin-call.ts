import type { JobEnd, JobListener, WorkerPool } from '../pool/worker-pool.js';

/** How a one-off plugin call (metadata, pc_init, pc_free) went: its end, or `late` at its deadline. */
export type CallEnd = JobEnd | { readonly kind: 'late'; readonly ms: number };

/**
 * Run one plugin call on a worker and wait for it, as a promise. It settles at the deadline if the
 * call has not ended by then (the worker is replaced later, if it stays stuck); `ended` always runs
 * when the job really ends, which is where the caller lets go of what the job held.
 */
export function callPlugin(pool: WorkerPool, kind: number, classId: number, slot: number, gen: number, deviceId: number, timeoutMs: number, ended: (end: JobEnd) => void = () => {}): Promise<CallEnd> {
  return new Promise((resolve) => {
    const listener: JobListener = {
      late: () => resolve({ kind: 'late', ms: timeoutMs }),
      ended: (end) => {
        ended(end);
        resolve(end);
      },
    };
    if (!pool.submit(kind, classId, slot, gen, deviceId, timeoutMs, listener)) {
      const end: JobEnd = { ms: 0, kind: 'closed' };
      ended(end);
      resolve(end);
    }
  });
}

/** Why a one-off call did not succeed, in words: the end of a sentence "<name> checker <call> ...". */
export function callFailure(end: CallEnd, timeoutMs: number): string {
  switch (end.kind) {
    case 'trapped':
      return `trapped: ${end.reason}`;
    case 'late':
    case 'expired':
    case 'abandoned':
      return `did not return within ${timeoutMs} ms`;
    case 'terminated':
    case 'preempted':
      return `did not finish: ${end.reason}`;
    case 'closed':
      return 'did not finish: the pool is closed';
    case 'corrupt':
      return end.how === 'overran' ? 'wrote outside its context slot' : 'found its context changed by another call of the class';
    case 'bad-wait':
      return `waited on fd ${end.fd} with no command outstanding`;
    case 'stale':
      return 'ran on a stale context';
    case 'returned':
      return end.late ? `did not return within ${timeoutMs} ms` : `returned ${end.raw}`;
  }
}
