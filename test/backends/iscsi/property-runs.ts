import type fc from 'fast-check';

/**
 * fast-check parameters for this directory's properties: seeded (a failure replays), bounded in
 * count and in time (a run past the time bound fails rather than passing on fewer cases).
 */
export function runs<T>(numRuns: number): fc.Parameters<T> {
  return { numRuns, seed: 0x15c5_1012, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true };
}
