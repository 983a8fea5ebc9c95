import { defineConfig } from 'vitest/config';

/**
 * `npm run fuzz`: every fuzz surface in test/fuzz with 100,000 cases each (FUZZ_RUNS; FUZZ_SEED and
 * FUZZ_PATH replay a failure). `npm test` runs the same files with each surface's small slice.
 */
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.test.ts'],
    env: { FUZZ_RUNS: process.env.FUZZ_RUNS ?? '100000' },
    // Each property bounds its own time (fuzz-params.ts); these are the outer bounds on top.
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Surfaces run one at a time: the daemon stream's latency numbers mean nothing next to a busy CPU.
    fileParallelism: false,
  },
});
