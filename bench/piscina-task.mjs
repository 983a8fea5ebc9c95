// The piscina side of bench/pool.mjs: the work a pool worker does for one check, as a piscina task.
// Each piscina worker instantiates tur.wasm and attaches one sim:ok device, once, when piscina imports
// this file (bench/in-thread-check.mjs); every task then runs one check on this thread and returns
// the path state.
import { join } from 'node:path';
import { stateName } from '../dist/host/abi/path-state.js';
import { CHECKERS_DIR } from '../dist/host/cli/package-paths.js';
import { inThreadChecker } from './in-thread-check.mjs';

const check = await inThreadChecker(join(CHECKERS_DIR, 'tur.wasm'), 'sim:ok');

/** One check of this worker's sim:ok path by tur; returns the state name ('up' when all is well). */
export default function run() {
  return stateName(check());
}
