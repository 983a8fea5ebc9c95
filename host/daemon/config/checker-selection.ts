import { statSync } from 'node:fs';
import { LoadError } from '../../registry/load-error.js';
import type { DaemonConfig, DeviceConfig, PathConfig } from './daemon-config.js';

/**
 * The checker a configured path uses: its own `checker`; else the `path_checker` of the first
 * devices{} entry whose vendor and product patterns (POSIX extended regular expressions, see
 * posix-ere.ts) both match the path's vendor and product; else `defaults.path_checker`. A path with
 * no vendor or no product configured matches no devices{} entry.
 *
 * Matching is unanchored, as in multipathd (libmultipath's hwe_regmatch calls regexec on the whole
 * string without adding anchors): product "SIM" matches "SIM ok"; write "^SIM ok$" for an exact match.
 * It takes time linear in the vendor and product, whatever the patterns.
 */
export function checkerFor(
  config: Pick<DaemonConfig, 'defaults' | 'devices'>,
  path: Pick<PathConfig, 'checker' | 'vendor' | 'product'>,
): string {
  return path.checker ?? deviceFor(config, path)?.pathChecker ?? config.defaults.pathChecker;
}

function deviceFor(
  config: Pick<DaemonConfig, 'devices'>,
  { vendor, product }: Pick<PathConfig, 'vendor' | 'product'>,
): DeviceConfig | undefined {
  if (vendor === undefined || product === undefined) return undefined;
  return config.devices.find((d) => d.vendor.test(vendor) && d.product.test(product));
}

/**
 * The config line to blame when configured `path` cannot be used at start. `cause` is the LoadError
 * that kept its checker's module from loading; anything else (a bad device spec, a failed binding)
 * blames the path. A module blames the keyword that chose it: the pin's `sha256` or `path`, a
 * `checker_dir` that is not a directory, else the keyword that named the checker.
 */
export function lineToBlame(config: DaemonConfig, path: PathConfig, cause: unknown): number {
  if (!(cause instanceof LoadError)) return path.line;
  const name = checkerFor(config, path);
  const pin = config.checkers.find((c) => c.name === name);
  if (pin !== undefined) return (cause.code === 'sha256' ? pin.lines.sha256 : pin.lines.path) ?? pin.line;
  const { checkerDir, lines } = config.defaults;
  if (cause.code === 'unreadable' && checkerDir !== undefined && lines.checker_dir !== undefined && !isDirectory(checkerDir)) {
    return lines.checker_dir;
  }
  const named = path.checker !== undefined ? path.lines.checker : (deviceFor(config, path)?.lines.path_checker ?? lines.path_checker);
  return named ?? path.line;
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
