import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Run parameters shared by every fuzz surface. `npm test` runs each surface's small slice; `npm run fuzz`
 * (vitest.fuzz.config.ts) sets FUZZ_RUNS=100000. FUZZ_SEED replays a run, FUZZ_PATH one counterexample
 * (fast-check prints both on failure); the seed is fixed by default so a run is reproducible.
 */
export const DEFAULT_SEED = 0x5eed_0011;

function envInt(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, not '${text}'`);
  return n;
}

/** Cases a property runs: its share of FUZZ_RUNS (a surface's properties share 100,000), or its slice for npm test. */
function fuzzCases(o: FuzzOptions): number {
  const full = envInt('FUZZ_RUNS');
  return full === undefined ? o.slice : Math.ceil(full * (o.share ?? 1));
}

/** Whether this is the full run (npm run fuzz), not npm test's slice. */
export const FULL_RUN = envInt('FUZZ_RUNS') !== undefined;

export interface FuzzOptions {
  /** Cases in npm test's slice. */
  readonly slice: number;
  /** Fraction of FUZZ_RUNS this property runs when its surface has several (default 1). */
  readonly share?: number;
  /** Cases one property run checks (a batch): numRuns is cases / perRun, rounded up. */
  readonly perRun?: number;
  /** Bound on the whole property, in ms: past it the run stops and fails (never a silent partial run). */
  readonly budgetMs: number;
  /** Bound on one run of an async property, in ms. */
  readonly runTimeoutMs?: number;
}

/** fast-check parameters for one property: seeded, bounded in count and in time. */
function fuzzParams<T>(o: FuzzOptions): fc.Parameters<T> {
  const path = process.env.FUZZ_PATH;
  return {
    numRuns: Math.ceil(fuzzCases(o) / (o.perRun ?? 1)),
    seed: envInt('FUZZ_SEED') ?? DEFAULT_SEED,
    ...(path !== undefined && path !== '' && { path }),
    interruptAfterTimeLimit: o.budgetMs,
    markInterruptAsFailure: true,
    ...(o.runTimeoutMs !== undefined && { timeout: o.runTimeoutMs }),
  };
}

/** vitest's timeout for a test holding a property with this budget (setup and shrinking on top). */
export function testTimeout(o: FuzzOptions): number {
  return o.budgetMs * 2 + 30_000;
}

/** An error message a user reads: one line, something after the location. */
export function expectOneLine(message: string): void {
  expect(message, 'message must be one line').not.toMatch(/[\n\r]/);
  expect(message.trim().length).toBeGreaterThan(0);
}

/**
 * Check `property` with fuzzParams(o) and log what ran (`fuzz <name>: <cases> cases in <ms> ms, seed <seed>`),
 * the numbers a full run reports. Throws fast-check's report (seed, path, shrunk counterexample) on failure.
 */
export async function runFuzz<T>(name: string, property: fc.IProperty<T> | fc.IAsyncProperty<T>, o: FuzzOptions): Promise<void> {
  const params = fuzzParams<T>(o);
  const t0 = performance.now();
  await fc.assert(property as fc.IAsyncProperty<T>, params);
  const cases = params.numRuns! * (o.perRun ?? 1);
  console.log(`fuzz ${name}: ${cases} cases in ${Math.round(performance.now() - t0)} ms, seed ${params.seed}`);
}
