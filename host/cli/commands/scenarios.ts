import { join } from 'node:path';
import { openDevice } from '../../backends/device-spec.js';
import { SCENARIOS } from '../../backends/sim/scenario.js';
import { checkInThread } from '../../registry/check-in-thread.js';
import { Registry } from '../../registry/registry.js';
import { CHECKERS_DIR } from '../package-paths.js';
import { formatTable } from '../table.js';
import { parseOptions } from '../parse-options.js';
import { UsageError } from '../usage-error.js';

/** Short parameters so the demo runs in seconds: a slow device that still answers, a hang that times out. */
const DEMO_PARAMS: Record<string, string> = { slow: '?latency=150' };
/** Blocks the checking thread by design; only the worker pool can get past it. */
const IN_THREAD_UNSAFE = new Set(['hang-hard']);
const DEMO_TIMEOUT_MS = 400;
const CHECKERS = ['tur', 'none'];

export const SCENARIOS_HELP = `usage: pathcheck scenarios [--json]

Every simulated scenario checked once, on this thread, by each built-in checker: what each fault
looks like to tur and to none.`;

/** `pathcheck scenarios`: one path per sim scenario, checked in-thread, as a table. */
export async function scenariosCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseOptions('scenarios', args, {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    out(SCENARIOS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`scenarios: unexpected argument '${positionals[0]}'`);
  const registry = new Registry({ scratchRegions: 1 });
  for (const name of CHECKERS) await registry.load(join(CHECKERS_DIR, `${name}.wasm`));
  const rows: string[][] = [];
  for (const scenario of SCENARIOS.filter((s) => !IN_THREAD_UNSAFE.has(s.name))) {
    const spec = `sim:${scenario.name}${DEMO_PARAMS[scenario.name] ?? ''}`;
    for (const checker of CHECKERS) {
      const bound = registry.bind(checker, openDevice(spec));
      const r = checkInThread(registry, bound, DEMO_TIMEOUT_MS);
      registry.unbind(bound);
      if (values.json) out(JSON.stringify({ device: spec, checker, state: r.state, message: r.message, ms: r.ms }));
      rows.push([spec, checker, r.state, r.message, r.ms.toFixed(2)]);
    }
  }
  if (!values.json) for (const l of formatTable(['DEVICE', 'CHECKER', 'STATE', 'MESSAGE', 'MS'], rows, ['MS'])) out(l);
  return 0;
}
