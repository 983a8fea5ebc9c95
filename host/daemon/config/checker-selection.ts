import type { DaemonConfig, PathConfig } from './daemon-config.js';

/**
 * The checker a configured path uses: its own `checker`; else the `path_checker` of the first
 * devices{} entry whose vendor and product regexes both match the path's vendor and product; else
 * `defaults.path_checker`. A path with no vendor or no product configured matches no devices{} entry.
 *
 * Matching is unanchored, as in multipathd (libmultipath's hwe_regmatch calls regexec on the whole
 * string without adding anchors): product "SIM" matches "SIM ok"; write "^SIM ok$" for an exact match.
 */
export function checkerFor(
  config: Pick<DaemonConfig, 'defaults' | 'devices'>,
  path: Pick<PathConfig, 'checker' | 'vendor' | 'product'>,
): string {
  if (path.checker !== undefined) return path.checker;
  const { vendor, product } = path;
  if (vendor !== undefined && product !== undefined) {
    const device = config.devices.find((d) => d.vendor.test(vendor) && d.product.test(product));
    if (device !== undefined) return device.pathChecker;
  }
  return config.defaults.pathChecker;
}
