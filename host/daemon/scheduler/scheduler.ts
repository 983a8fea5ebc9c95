import { PathState, type PathStateName } from '../../abi/path-state.js';
import { result, type CheckResult } from '../../registry/check-result.js';
import { MinHeap, type HeapHandle } from './min-heap.js';
import { newScheduledPath, recordCheck, validateOptions, type ScheduledPath, type SchedulerOptions } from './path-schedule.js';

export type { ScheduledPath, SchedulerOptions } from './path-schedule.js';

/** Check one path; `timeoutMs` is checker_timeout. The function resolves a hung check itself (`timeout`). */
export type CheckFn = (key: string, timeoutMs: number) => Promise<CheckResult>;

/**
 * Called after every recorded check, with the state before it, so the caller can emit a state-change
 * event when they differ. The path is already rescheduled when this runs; it may add, remove or
 * reconfigure. An exception it throws is not caught (it surfaces as an unhandled rejection).
 */
export type ResultFn = (path: ScheduledPath, result: CheckResult, previous: PathStateName) => void;

export interface Clock {
  now(): number;
}

/** setTimeout's largest delay; a later due time is reached in more than one wake. */
const MAX_DELAY_MS = 0x7fffffff;
/**
 * Paths due within this many ms of a tick are dispatched in that tick (SchedulerOptions.batchMs). Due
 * times are set from the tick's time, so paths that start apart (bound one by one at start-up, added
 * later) fall into shared ticks, as multipathd checks on its one-second tick: one wake of the workers
 * for many checks instead of one per check. A check is at most this much early.
 */
const BATCH_MS = 10;

interface Entry {
  readonly path: ScheduledPath;
  /** The heap key: a private copy of path.nextCheck, so a caller writing the record can't break the order. */
  due: number;
  /** Tie-break among paths due at the same ms: first scheduled, first checked. */
  order: number;
  handle: HeapHandle<Entry> | null;
  /** The scheduler's epoch when this path's check was dispatched: a stop in between voids its result. */
  epoch: number;
  removed: boolean;
}

const earlier = (a: Entry, b: Entry): boolean => a.due < b.due || (a.due === b.due && a.order < b.order);

/**
 * Decides when each path is checked, multipathd style, independent of how a check is done. Paths
 * wait in a min-heap ordered by their next check time; ONE timer is armed for the earliest. A path
 * leaves the heap while its check is in flight, so it has at most one check in flight, and goes back
 * in when the check ends, due `interval` after that check *started* (at once if that has passed).
 */
export class Scheduler {
  private opts: SchedulerOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new MinHeap<Entry>(earlier);
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the armed timer fires (clock time); meaningful while `timer` is set. */
  private timerDue = 0;
  private running = false;
  private epoch = 0;
  private order = 0;
  private readonly clock: Clock;

  constructor(
    opts: SchedulerOptions,
    private readonly check: CheckFn,
    private readonly onResult: ResultFn,
    clock?: Clock,
  ) {
    validateOptions(opts);
    this.opts = { ...opts };
    // Date.now looked up per call, so a clock faked after construction (tests) is still the one used.
    this.clock = clock ?? { now: () => Date.now() };
  }

  get size(): number {
    return this.entries.size;
  }

  /** Start checking a path: due at once (on the next timer tick). Throws if the key is already here. */
  add(key: string): ScheduledPath {
    if (this.entries.has(key)) throw new Error(`path ${key} is already scheduled`);
    const now = this.clock.now();
    const entry: Entry = {
      path: newScheduledPath(key, this.opts.pollingInterval, now),
      due: now,
      order: 0,
      handle: null,
      epoch: this.epoch,
      removed: false,
    };
    this.entries.set(key, entry);
    this.schedule(entry, now);
    this.arm();
    return entry.path;
  }

  /**
   * Stop checking a path. A check of it in flight runs to its end, but its result is ignored
   * (onResult is not called). Re-adding the key makes a new path; the old check may then still be
   * running alongside the new one's first, which the check function answers (`pending`) as it would.
   */
  remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    entry.removed = true;
    if (entry.handle !== null) {
      this.heap.remove(entry.handle);
      entry.handle = null;
      this.arm();
    }
    return true;
  }

  get(key: string): ScheduledPath | undefined {
    return this.entries.get(key)?.path;
  }

  /** Every path, in the order they were added. */
  paths(): ScheduledPath[] {
    return Array.from(this.entries.values(), (entry) => entry.path);
  }

  /** The settings in use (a copy). */
  options(): SchedulerOptions {
    return { ...this.opts };
  }

  /**
   * New polling settings. Every path's interval goes back to the new polling_interval, and from its
   * next check on the new settings rule. A check already scheduled stays, unless the new
   * polling_interval after the path's last check comes sooner: then it is pulled in to that (so
   * shortening polling_interval is not held up by a long doubled interval). Checks in flight are
   * not touched; their results are recorded under the new settings.
   */
  reconfigure(opts: SchedulerOptions): void {
    validateOptions(opts);
    this.opts = { ...opts };
    const now = this.clock.now();
    const pollMs = opts.pollingInterval * 1000;
    for (const entry of this.entries.values()) {
      const path = entry.path;
      path.interval = opts.pollingInterval;
      if (entry.handle === null || path.lastCheck === null) continue;
      const due = Math.max(path.lastCheck + pollMs, now);
      if (due < entry.due) this.schedule(entry, due);
    }
    this.arm();
  }

  /** Start the timer. Paths overdue (added, or stopped, meanwhile) are checked at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  /**
   * Clear the timer: no check is dispatched until start(). Checks in flight run to their end but
   * report nothing; each such path is due at once when the scheduler runs again.
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.epoch++;
    this.disarm();
  }

  /** Put a waiting path in the heap (or move it there) at `due`. The caller arms the timer. */
  private schedule(entry: Entry, due: number): void {
    entry.due = due;
    entry.path.nextCheck = due;
    entry.order = this.order++;
    if (entry.handle === null) entry.handle = this.heap.push(entry);
    else this.heap.update(entry.handle);
  }

  /** Keep the one timer armed for the earliest due path (or none, when stopped or empty). */
  private arm(): void {
    const top = this.heap.peek();
    if (!this.running || top === undefined) return this.disarm();
    // A timer that fires no later than needed is kept: if it fires early it finds nothing due and
    // re-arms. This spares a clear/set pair on every removal of the earliest path.
    if (this.timer !== null && this.timerDue <= top.due) return;
    this.disarm();
    const now = this.clock.now();
    const delay = Math.min(Math.max(0, top.due - now), MAX_DELAY_MS);
    this.timerDue = now + delay;
    this.timer = setTimeout(this.tick, delay);
  }

  private disarm(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly tick = (): void => {
    this.timer = null;
    const now = this.clock.now();
    const horizon = now + (this.opts.batchMs ?? BATCH_MS);
    for (let top = this.heap.peek(); this.running && top !== undefined && top.due <= horizon; top = this.heap.peek()) {
      this.heap.pop();
      top.handle = null;
      this.dispatch(top, now);
    }
    this.arm();
  };

  private dispatch(entry: Entry, now: number): void {
    const path = entry.path;
    path.inFlight = true;
    path.lastCheck = now;
    entry.epoch = this.epoch;
    let pending: Promise<CheckResult>;
    try {
      pending = Promise.resolve(this.check(path.key, this.opts.checkerTimeout * 1000));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (r) => this.complete(entry, now, isCheckResult(r) ? r : result(PathState.DOWN, 'check function returned no result', this.clock.now() - now)),
      (err: unknown) => this.complete(entry, now, result(PathState.DOWN, errorMessage(err), this.clock.now() - now)),
    );
  }

  private complete(entry: Entry, started: number, r: CheckResult): void {
    entry.path.inFlight = false;
    if (entry.removed) return;
    const now = this.clock.now();
    if (entry.epoch !== this.epoch) {
      // Stopped since this check was dispatched: report nothing, check again as soon as running.
      this.schedule(entry, now);
      this.arm();
      return;
    }
    // The new interval follows multipathd's check_path() (nextInterval in path-schedule.ts).
    const previous = recordCheck(entry.path, r, this.opts);
    // Due `interval` after the check started; a check that outlasted its interval is followed at once.
    this.schedule(entry, Math.max(started + entry.path.interval * 1000, now));
    this.arm();
    this.onResult(entry.path, r, previous);
  }
}

function isCheckResult(r: unknown): r is CheckResult {
  return typeof r === 'object' && r !== null && typeof (r as CheckResult).state === 'string' && typeof (r as CheckResult).code === 'number';
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
