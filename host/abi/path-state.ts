/** Path states, numbered as libmultipath numbers them (checkers.h), so logs and tools line up. */
export const PathState = {
  WILD: 0,
  UNCHECKED: 1,
  DOWN: 2,
  UP: 3,
  SHAKY: 4,
  GHOST: 5,
  PENDING: 6,
  TIMEOUT: 7,
  REMOVED: 8,
  DELAYED: 9,
  DISCONNECTED: 10,
} as const;

export type PathStateValue = (typeof PathState)[keyof typeof PathState];

const NAMES = ['wild', 'unchecked', 'down', 'up', 'shaky', 'ghost', 'pending', 'timeout', 'removed', 'delayed', 'disconnected'] as const;

export type PathStateName = (typeof NAMES)[number];

export function isPathState(n: number): n is PathStateValue {
  return Number.isInteger(n) && n >= 0 && n < NAMES.length;
}

export function stateName(state: PathStateValue): PathStateName {
  return NAMES[state];
}

/** States a storage engineer treats as a usable path: `up`, and `ghost` (standby, usable on failover). */
export function isUsable(state: PathStateValue | PathStateName): boolean {
  const name = typeof state === 'number' ? NAMES[state] : state;
  return name === 'up' || name === 'ghost';
}
