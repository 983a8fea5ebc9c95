import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

/** The package root, whether running from dist/host/cli or (under vitest) from host/cli. */
const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_ROOT = resolve(here, here.includes('/dist/') ? '../../..' : '../..');
export const CHECKERS_DIR = join(PACKAGE_ROOT, 'build', 'checkers');
