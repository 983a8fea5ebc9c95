import { join } from 'node:path';
import { openDevice } from '../../host/backends/device-spec.js';
import type { SimDevice } from '../../host/backends/sim/sim-device.js';
import { CHECKERS_DIR } from '../../host/cli/package-paths.js';
import { CheckHost, type CheckHostOptions } from '../../host/registry/check-host.js';
import type { PoolEvent } from '../../host/pool/worker-pool.js';
import type { RegistryEvent } from '../../host/registry/registry.js';

export const TUR = join(CHECKERS_DIR, 'tur.wasm');

export function sim(spec: string): SimDevice {
  return openDevice(spec) as SimDevice;
}

/** A CheckHost with every registry and pool event recorded. */
export async function host(opts: CheckHostOptions = {}) {
  const h = new CheckHost({ size: 2, ...opts });
  const events: (RegistryEvent | PoolEvent)[] = [];
  h.registry.on('event', (e) => events.push(e));
  h.pool.on('event', (e) => events.push(e));
  // Timing-sensitive tests must not count worker start-up against a check's timeout.
  if (!(await h.pool.ready())) throw new Error('pool workers did not start within 10 s');
  return { h, events, registry: h.registry, runner: h.runner, pool: h.pool };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `cond` holds or `ms` pass; returns whether it held. */
export async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(5);
  }
  return cond();
}
