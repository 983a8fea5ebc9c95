/**
 * Every numeric setting's range, in one place: the config keywords and the command-line options that
 * mean the same thing share a bound, so a value the CLI takes is one the config takes too.
 */
export interface Bound {
  readonly min: number;
  readonly max: number;
  /** Shown in errors and help after the range, e.g. `s`, `ms`. */
  readonly unit?: string;
}

/** setTimeout holds at most 2^31-1 ms; past that Node fires the timer at once (TimeoutOverflowWarning). */
const TIMER_MAX_MS = 2 ** 31 - 1;

/** max_polling_interval defaults to this many polling_intervals, as in multipathd. */
export const MAX_POLLING_FACTOR = 4;

export const BOUNDS = {
  /** multipathd's polling_interval range. */
  pollingInterval: { min: 1, max: 3600, unit: 's' },
  maxPollingInterval: { min: 1, max: MAX_POLLING_FACTOR * 3600, unit: 's' },
  checkerTimeout: { min: 1, max: 3600, unit: 's' },
  /** `pathcheck check --timeout`: checker_timeout, in ms. */
  checkTimeoutMs: { min: 1, max: 3600 * 1000, unit: 'ms' },
  verbosity: { min: 0, max: 6 },
  workers: { min: 1, max: 64 },
  /** `--duration` of pathcheckd and the demo: a timer's reach. */
  durationS: { min: 1, max: Math.floor(TIMER_MAX_MS / 1000), unit: 's' },
  /** `pathcheck --timeout`: how long the client waits for an answer. */
  replyTimeoutMs: { min: 1, max: TIMER_MAX_MS, unit: 'ms' },
} as const satisfies Record<string, Bound>;

export function rangeText(b: Bound): string {
  return `an integer from ${b.min} to ${b.max}${b.unit === undefined ? '' : ` (${b.unit})`}`;
}
