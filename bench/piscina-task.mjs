// The piscina side of bench/pool.mjs: the work a pool worker does for one check, as a piscina task.
// Each piscina worker loads tur.wasm into its own Registry (from dist/) and binds one sim:ok device,
// once, when piscina imports this file; every task then runs one check on this thread and returns
// the path state. No pool: the registry's class and device live in this worker only.
import { join } from 'node:path';
import { openDevice } from '../dist/host/backends/device-spec.js';
import { CHECKERS_DIR } from '../dist/host/cli/package-paths.js';
import { checkInThread } from '../dist/host/registry/check-in-thread.js';
import { Registry } from '../dist/host/registry/registry.js';

const registry = new Registry({ scratchRegions: 1 });
await registry.load(join(CHECKERS_DIR, 'tur.wasm'));
const bound = registry.bind('tur', openDevice('sim:ok'));

/** One check of this worker's sim:ok path by tur; returns the state name ('up' when all is well). */
export default function check() {
  return checkInThread(registry, bound, 30_000).state;
}
