import { WorkerPool, type PoolOptions } from '../pool/worker-pool.js';
import { CheckRunner } from './check-runner.js';
import { Registry, type RegistryOptions } from './registry.js';

export interface CheckHostOptions extends Omit<PoolOptions, 'scratchRegions'>, Omit<RegistryOptions, 'pool' | 'scratchRegions'> {}

/**
 * A registry, a worker pool and a runner wired together: what the CLI and the daemon check with.
 * Scratch regions: one per worker, one per worker that may be stuck exiting (region 0 is unused:
 * the main thread runs no plugin code).
 */
export class CheckHost {
  readonly pool: WorkerPool;
  readonly registry: Registry;
  readonly runner: CheckRunner;

  constructor(opts: CheckHostOptions = {}) {
    const size = opts.size ?? 2;
    const maxStuck = opts.maxStuck ?? 4;
    const scratchRegions = 1 + size + maxStuck;
    this.pool = new WorkerPool({ ...opts, size, maxStuck, scratchRegions });
    this.registry = new Registry({ ...opts, pool: this.pool, scratchRegions });
    this.runner = new CheckRunner(this.registry, this.pool);
  }

  /** Bounded shutdown, even with hung checks: returns how many checks were abandoned. */
  close(): Promise<{ abandoned: number }> {
    return this.pool.close();
  }
}
