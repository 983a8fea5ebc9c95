import type { DaemonProcess, PathRow } from './daemon-process.js';

/** 20 healthy paths on the built tur checker: what the hostile-plugin tests run next to their plugins. */
export const HEALTHY: readonly string[] = Array.from({ length: 20 }, (_, i) => `sim:ok?id=h${i}`);

export interface ResponsiveOptions {
  /** Stop sampling after this long even if `during` has not settled (default 15 s). */
  readonly maxMs?: number;
  /** Keep sampling until at least this many samples were taken (default 5). */
  readonly minSamples?: number;
  /** Pause between samples (default 100 ms). */
  readonly pauseMs?: number;
}

/**
 * One sample: when (performance.now()), the best of 3 `show paths` latencies, each healthy path's
 * last-check age, and the healthy paths not `up` (`<device>: <state>: <message>`): a check that timed
 * out in a queue behind a stuck worker still stamps lastCheck, so the age alone does not tell.
 */
export interface ResponsiveSample {
  readonly at: number;
  readonly latencyMs: number;
  readonly ages: readonly number[];
  readonly notUp: readonly string[];
}

export interface Responsiveness {
  /** The worst sample's `show paths` latency (each sample the best of 3 back-to-back requests). */
  readonly worstMs: number;
  /** The largest last-check age of a healthy path seen. */
  readonly worstAgeMs: number;
  readonly samples: number;
  /** Every sample, in order. */
  readonly timeline: readonly ResponsiveSample[];
}

/**
 * While `during` runs: `show paths` answers promptly (each sample the best of 3 back-to-back requests,
 * so one scheduling hiccup on a shared machine is not read as a frozen daemon) and every healthy path
 * keeps being checked every polling interval (the age of its last check, as `show paths` reports it).
 * Bounded: at most `maxMs`, at least `minSamples` samples.
 */
export async function staysResponsive(
  d: DaemonProcess,
  during: Promise<unknown>,
  healthy: readonly string[] = HEALTHY,
  opts: ResponsiveOptions = {},
): Promise<Responsiveness> {
  let done = false;
  void during.finally(() => (done = true)).catch(() => {});
  const wanted = new Set(healthy);
  const minSamples = opts.minSamples ?? 5;
  let worstMs = 0;
  let worstAgeMs = 0;
  const timeline: ResponsiveSample[] = [];
  const until = Date.now() + (opts.maxMs ?? 15_000);
  // A connection of its own: the daemon answers one connection's requests in order, so on the shared one
  // `show paths` would queue behind the very command under test.
  const client = await d.connect();
  const paths = async () => (await client.request('show paths', {}, { timeoutMs: 10_000 })) as PathRow[];
  while ((!done || timeline.length < minSamples) && Date.now() < until) {
    let best = Infinity;
    let rows = await paths();
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      rows = await paths();
      best = Math.min(best, performance.now() - t);
    }
    worstMs = Math.max(worstMs, best);
    const now = Date.now();
    const mine = rows.filter((p) => wanted.has(p.device));
    const ages = mine.map((r) => now - Date.parse(r.lastCheck!));
    for (const a of ages) worstAgeMs = Math.max(worstAgeMs, a);
    const notUp = mine.filter((r) => r.state !== 'up').map((r) => `${r.device}: ${r.state}: ${r.message}`);
    timeline.push({ at: performance.now(), latencyMs: best, ages, notUp });
    await new Promise((r) => setTimeout(r, opts.pauseMs ?? 100));
  }
  await client.close();
  return { worstMs, worstAgeMs, samples: timeline.length, timeline };
}

/** The q-quantile (0..1) of `values` (nearest rank); NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
