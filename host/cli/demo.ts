#!/usr/bin/env node
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDevice } from '../backends/device-spec.js';
import { SCENARIOS } from '../backends/sim/scenario.js';
import { checkInThread } from '../registry/check-in-thread.js';
import { Registry } from '../registry/registry.js';
import { CHECKERS_DIR } from './package-paths.js';

/** Short parameters so the demo runs in seconds: a slow device that still answers, a hang that times out. */
const DEMO_PARAMS: Record<string, string> = { slow: '?latency=150' };
/** Blocks the checking thread by design; only the worker pool can get past it. */
const IN_THREAD_UNSAFE = new Set(['hang-hard']);
const DEMO_TIMEOUT_MS = 400;
const CHECKERS = ['tur', 'none'];

/**
 * `npm start`: every simulated scenario checked once by each built-in checker, as a table. Until the
 * daemon exists, this is the demo appliance: one path per scenario.
 */
async function demo(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
  const registry = new Registry({ scratchRegions: 1 });
  for (const name of CHECKERS) await registry.load(join(CHECKERS_DIR, `${name}.wasm`));
  const rows: string[][] = [];
  for (const scenario of SCENARIOS.filter((s) => !IN_THREAD_UNSAFE.has(s.name))) {
    const spec = `sim:${scenario.name}${DEMO_PARAMS[scenario.name] ?? ''}`;
    for (const checker of CHECKERS) {
      const bound = registry.bind(checker, openDevice(spec));
      const r = checkInThread(registry, bound, DEMO_TIMEOUT_MS);
      registry.unbind(bound);
      if (values.json) console.log(JSON.stringify({ device: spec, checker, state: r.state, message: r.message, ms: r.ms }));
      rows.push([spec, checker, r.state, r.message, r.ms.toFixed(2)]);
    }
  }
  if (!values.json) printTable(['DEVICE', 'CHECKER', 'STATE', 'MESSAGE', 'MS'], rows);
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

await demo();
