import { join } from 'node:path';
import { CHECKERS_DIR } from './package-paths.js';
import { UsageError } from './usage-error.js';
import { CHECKER_NAME } from '../abi/checker-name.js';


/** `--checker` takes a built checker's name (`tur`) or a path to a .wasm file. */
export function resolveChecker(arg: string): string {
  if (arg.endsWith('.wasm') || arg.includes('/')) return arg;
  if (!CHECKER_NAME.test(arg)) throw new UsageError(`--checker '${arg}' is neither a checker name nor a path to a .wasm file`);
  return join(CHECKERS_DIR, `${arg}.wasm`);
}
