import { isUsable, PathState, type PathStateName, type PathStateValue } from '../../abi/path-state.js';
import type { CheckResult } from '../../registry/check-result.js';

/** multipathd's polling settings, in seconds (multipath.conf `defaults`). */
export interface SchedulerOptions {
  /** polling_interval: the base interval, used after a change and for paths that are not usable. */
  pollingInterval: number;
  /** max_polling_interval: the cap a steady, usable path's interval doubles up to. */
  maxPollingInterval: number;
  /** checker_timeout: how long one check may take; passed to the check function in ms. */
  checkerTimeout: number;
  /** Paths due within this many ms of a tick are checked in it (default 10; see scheduler.ts). */
  batchMs?: number;
}

/** One path as the scheduler keeps it. Times are ms since the epoch (the scheduler's clock). */
export interface ScheduledPath {
  readonly key: string;
  /** The state of the last check; `unchecked` until the first one ends. */
  state: PathStateName;
  code: PathStateValue;
  message: string;
  /** Seconds from the start of one check to the start of the next. */
  interval: number;
  /** When the last (or the running) check started; null before the first. */
  lastCheck: number | null;
  /**
   * When the next check is due. While a check is in flight this is still the time that check was
   * due: the next one is scheduled only once it ends.
   */
  nextCheck: number;
  /** Checks ended and recorded. */
  checks: number;
  /** Checks whose state differed from the one before (the first check out of `unchecked` counts). */
  changes: number;
  /** A check of this path has been dispatched and has not ended: at most one at a time. */
  inFlight: boolean;
}

/** A new path: unchecked, due at `now`, at the base interval. */
export function newScheduledPath(key: string, pollingInterval: number, now: number): ScheduledPath {
  return {
    key,
    state: 'unchecked',
    code: PathState.UNCHECKED,
    message: '',
    interval: pollingInterval,
    lastCheck: null,
    nextCheck: now,
    checks: 0,
    changes: 0,
    inFlight: false,
  };
}

/**
 * The interval (seconds) until the check after this one, as multipathd's check_path() sets
 * `pp->checkint`: a path that stays in the same usable state (`up`, `ghost`) is checked less and
 * less often, the interval doubling up to max_polling_interval
 * (`if checkint < max/2: checkint *= 2 else checkint = max`); a state change, or any state that is
 * not usable (down, timeout, pending, ...), puts it back to polling_interval, so a failed path is
 * re-checked at the base rate and its recovery is seen fast.
 */
export function nextInterval(
  oldState: PathStateName,
  newState: PathStateName,
  interval: number,
  pollingInterval: number,
  maxPollingInterval: number,
): number {
  if (newState === oldState && isUsable(newState)) {
    return interval < maxPollingInterval / 2 ? interval * 2 : maxPollingInterval;
  }
  return pollingInterval;
}

/**
 * Record an ended check on the path: state, code, message, counters and the new interval. Returns
 * the state before, for the caller's state-change event. Scheduling the next check is the caller's.
 */
export function recordCheck(
  path: ScheduledPath,
  result: CheckResult,
  opts: Pick<SchedulerOptions, 'pollingInterval' | 'maxPollingInterval'>,
): PathStateName {
  const previous = path.state;
  path.interval = nextInterval(previous, result.state, path.interval, opts.pollingInterval, opts.maxPollingInterval);
  path.state = result.state;
  path.code = result.code;
  path.message = result.message;
  path.checks++;
  if (result.state !== previous) path.changes++;
  return previous;
}

/** Throws a RangeError naming the first setting that is not usable. */
export function validateOptions(opts: SchedulerOptions): void {
  const positive = (name: string, v: number): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new RangeError(`${name} must be a positive number of seconds, got ${String(v)}`);
    }
  };
  positive('polling_interval', opts.pollingInterval);
  positive('max_polling_interval', opts.maxPollingInterval);
  positive('checker_timeout', opts.checkerTimeout);
  if (opts.batchMs !== undefined && !(Number.isFinite(opts.batchMs) && opts.batchMs >= 0)) throw new RangeError(`batchMs must be a non-negative number, got ${String(opts.batchMs)}`);
  if (opts.maxPollingInterval < opts.pollingInterval) {
    throw new RangeError(
      `max_polling_interval (${opts.maxPollingInterval}) must not be less than polling_interval (${opts.pollingInterval})`,
    );
  }
}
