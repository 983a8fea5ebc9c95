import { MPCTX_UNSET, type MultipathContext } from '../registry/check-runner.js';
import type { DaemonConfig } from './config/daemon-config.js';

/**
 * The multipaths of a config: the paths{} entries that name the same `wwid` form one, and share its
 * checker context (emc_clariion's "inactive snapshot"). A new config makes new multipaths, their
 * contexts unset, as multipathd's reconfigure makes new maps; a path without a wwid (or added by a
 * client) is in none.
 */
export class Multipaths {
  private readonly wwidOf: ReadonlyMap<string, string>;
  private readonly contexts = new Map<string, MultipathContext>();

  constructor(config: DaemonConfig) {
    this.wwidOf = new Map(config.paths.flatMap((p) => (p.wwid === undefined ? [] : [[p.device, p.wwid] as const])));
  }

  /** The context of the multipath path `spec` is in, or undefined. */
  of(spec: string): MultipathContext | undefined {
    const wwid = this.wwidOf.get(spec);
    if (wwid === undefined) return undefined;
    let mp = this.contexts.get(wwid);
    if (mp === undefined) this.contexts.set(wwid, (mp = { word: MPCTX_UNSET }));
    return mp;
  }
}
