import { PathState } from '../abi/path-state.js';
import { hostMessage } from '../abi/message.js';
import { JobKind, type JobEnd, type JobListener, type WorkerPool } from '../pool/worker-pool.js';
import type { Checker, Job } from './checker.js';
import { interpretOutcome, result, type CheckResult } from './check-result.js';
import type { Registry } from './registry.js';

/**
 * The multipath a path belongs to, as its checker class sees it: one word (multipath-tools 0.15.0's
 * `union checker_mpcontext`), -1 while unset. Every path of one multipath shares the object.
 */
export interface MultipathContext {
  word: bigint;
}

/** The word a check gets when its path is in no multipath, or its multipath's is unset. */
export const MPCTX_UNSET = -1n;

/**
 * Checks paths on the worker pool with multipathd's rules: at most one check in flight per path;
 * past the timeout the path is `timeout`; while that job still has not ended, or the device still has
 * the command of an abandoned check outstanding, further checks answer `pending` ("checker thread not
 * responding") without dispatching: nothing else is sent to that device meanwhile. References are
 * taken before the job is queued and released when the pool says it ended, however it ended.
 */
export class CheckRunner {
  /** One listener per path, re-armed for each check: at most one check of a path is in flight. */
  private readonly listeners = new WeakMap<Checker, CheckListener>();

  constructor(
    private readonly registry: Registry,
    private readonly pool: WorkerPool,
  ) {}

  /**
   * `mp`: the path's multipath. A class with a multipath context gets its word in the path's context
   * before the check and, when the check returns in time, the word it left is the multipath's (copied in
   * and out, as 0.15.0's async checkers do: concurrent checks of one multipath's paths do not share memory).
   */
  check(checker: Checker, timeoutMs: number, mp?: MultipathContext): Promise<CheckResult> {
    if (checker.running || checker.device.io.busy) return Promise.resolve(result(PathState.PENDING, hostMessage.pending(), 0));
    // A quarantined class is not dispatched: nothing of it runs until a new version replaces it.
    const quarantine = checker.cls.quarantine;
    if (quarantine !== null) return Promise.resolve(result(PathState.WILD, hostMessage.quarantined(checker.cls.name, quarantine), 0));
    const job = this.registry.beginJob(checker);
    if (job === null) return Promise.resolve(result(PathState.UNCHECKED, `${checker.cls.name} checker is unbound`, 0));
    const listener = this.listenerOf(checker);
    if (job.cls.mpctxOffset >= 0) job.cls.putMultipathWord(job.handle.slot, mp?.word ?? MPCTX_UNSET);
    return new Promise((resolve) => {
      listener.arm(timeoutMs, resolve, mp);
      checker.running = true;
      if (!this.pool.submit(JobKind.CHECK, job.cls.id, job.handle.slot, job.handle.gen, job.deviceId, timeoutMs, listener)) {
        // Not checked at all: no news about the path, so pending (as multipathd when it cannot start a check).
        listener.refused(`${job.cls.name} checker not started: the pool is closed`);
      }
    });
  }

  private listenerOf(checker: Checker): CheckListener {
    let listener = this.listeners.get(checker);
    if (listener === undefined) {
      listener = new CheckListener(this.registry, checker);
      this.listeners.set(checker, listener);
    }
    return listener;
  }
}

class CheckListener implements JobListener {
  private settled = true;
  private timeoutMs = 0;
  private resolve: (r: CheckResult) => void = () => {};
  private mp: MultipathContext | undefined;
  private readonly job: Job;

  constructor(
    private readonly registry: Registry,
    private readonly checker: Checker,
  ) {
    this.job = checker.job;
  }

  arm(timeoutMs: number, resolve: (r: CheckResult) => void, mp: MultipathContext | undefined): void {
    this.settled = false;
    this.timeoutMs = timeoutMs;
    this.resolve = resolve;
    this.mp = mp;
  }

  /** The pool would not take the job: nothing runs, so its references go back at once. */
  refused(message: string): void {
    this.registry.endJob(this.job);
    this.checker.running = false;
    this.settle(result(PathState.PENDING, message, 0));
  }

  late(): void {
    this.settle(result(PathState.TIMEOUT, hostMessage.timeout(this.job.cls.name), this.timeoutMs));
  }

  ended(end: JobEnd): void {
    const cls = this.job.cls;
    // Read while the job still holds its class: a set word of a check that returned in time is the multipath's.
    if (this.mp !== undefined && cls.mpctxOffset >= 0 && end.kind === 'returned' && !this.settled) {
      const word = cls.multipathWord(this.job.handle.slot);
      if (word !== MPCTX_UNSET) this.mp.word = word;
    }
    this.registry.account(cls, end, 'check', this.job.spec);
    this.registry.endJob(this.job);
    this.checker.running = false;
    if (this.settled) return;
    switch (end.kind) {
      case 'returned':
      case 'trapped':
        return this.settle(interpretOutcome(cls, end));
      case 'stale':
        // A quarantine stops calls already queued or parked, as stale ones.
        if (cls.quarantine !== null) return this.settle(result(PathState.WILD, hostMessage.quarantined(cls.name, cls.quarantine), end.ms));
        return this.settle(result(PathState.UNCHECKED, `${cls.name} checker context is stale`, 0));
      case 'expired':
        return this.settle(result(PathState.TIMEOUT, hostMessage.timeout(cls.name), this.timeoutMs));
      case 'abandoned':
        // Only past the deadline, so late() has settled it already.
        return this.settle(result(PathState.TIMEOUT, hostMessage.timeout(cls.name), this.timeoutMs));
      case 'bad-wait':
        return this.settle(result(PathState.WILD, hostMessage.badWait(cls.name, end.fd), end.ms));
      case 'terminated':
        return this.settle(result(PathState.DOWN, `${cls.name} checker: ${end.reason}`, 0));
      case 'preempted':
        return this.settle(result(PathState.TIMEOUT, `${cls.name} checker overran: ${end.reason}`, end.ms));
      case 'closed':
        return this.settle(result(PathState.PENDING, `${cls.name} checker not finished: the pool is closed`, 0));
      case 'corrupt':
        // account() has quarantined the class for it.
        return this.settle(result(PathState.WILD, hostMessage.quarantined(cls.name, cls.quarantine!), end.ms));
    }
  }

  private settle(r: CheckResult): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(r);
  }
}
