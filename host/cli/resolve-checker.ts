import { join } from 'node:path';
import { CHECKERS_DIR } from './package-paths.js';
import { UsageError } from './usage-error.js';

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** `--checker` takes a built checker's name (`tur`) or a path to a .wasm file. */
export function resolveChecker(arg: string): string {
  if (arg.endsWith('.wasm') || arg.includes('/')) return arg;
  if (!NAME.test(arg)) throw new UsageError(`--checker '${arg}' is neither a checker name nor a path to a .wasm file`);
  return join(CHECKERS_DIR, `${arg}.wasm`);
}
