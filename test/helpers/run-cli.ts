import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../host/cli/package-paths.js';

export const PATHCHECK_BIN = join(PACKAGE_ROOT, 'dist', 'host', 'cli', 'pathcheck.js');

/** Run the built `pathcheck` bin as a user would; the suite's pretest step builds dist/. */
export function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PATHCHECK_BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
