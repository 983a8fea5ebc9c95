import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openDevice } from '../../backends/device-spec.js';
import { SCENARIOS } from '../../backends/sim/scenario.js';
import { CheckHost } from '../../registry/check-host.js';
import { CHECKERS_DIR } from '../package-paths.js';
import { formatTable } from '../table.js';
import { parseOptions } from '../parse-options.js';
import { UsageError } from '../usage-error.js';

/** Short parameters so the demo runs in seconds: a slow device that still answers, a hang that times out. */
const DEMO_PARAMS: Record<string, string> = { slow: '?latency=150' };
/** Blocks its worker until the pool terminates it (seconds): left out of a quick tour. */
const SLOW_TO_SHOW = new Set(['hang-hard']);
const DEMO_TIMEOUT_MS = 400;

export const SCENARIOS_HELP = `usage: pathcheck scenarios [--checker <name>] [--json]

Every simulated scenario (device models of RDAC, CLARiiON and HP arrays among them) checked once by
each built checker, or by the one named, on a worker pool as the daemon checks: what each fault looks
like to each checker.`;

/** `pathcheck scenarios`: one path per sim scenario and checker, all checked at once, as a table. */
export async function scenariosCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseOptions('scenarios', args, {
    checker: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    out(SCENARIOS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`scenarios: unexpected argument '${positionals[0]}'`);
  const built = await builtCheckers();
  if (values.checker !== undefined && !built.includes(values.checker)) {
    throw new UsageError(`scenarios: no built checker named ${JSON.stringify(values.checker)} (built: ${built.join(', ')})`);
  }
  const checkers = values.checker === undefined ? built : [values.checker];
  const host = new CheckHost({ size: 2 });
  const runs: Promise<{ spec: string; checker: string; r: { state: string; message: string; ms: number } }>[] = [];
  try {
    for (const name of checkers) await host.registry.load(join(CHECKERS_DIR, `${name}.wasm`));
    for (const scenario of SCENARIOS.filter((s) => !SLOW_TO_SHOW.has(s.name))) {
      const spec = `sim:${scenario.name}${DEMO_PARAMS[scenario.name] ?? ''}`;
      for (const checker of checkers) {
        runs.push(
          (async () => {
            const bound = await host.registry.bind(checker, openDevice(spec), DEMO_TIMEOUT_MS);
            const r = await host.runner.check(bound, DEMO_TIMEOUT_MS);
            host.registry.unbind(bound);
            return { spec, checker, r };
          })(),
        );
      }
    }
    await Promise.all(runs);
  } finally {
    await host.close();
  }
  const rows: string[][] = [];
  for (const run of runs) {
    const { spec, checker, r } = await run;
    if (values.json) out(JSON.stringify({ device: spec, checker, state: r.state, message: r.message, ms: r.ms }));
    rows.push([spec, checker, r.state, r.message, r.ms.toFixed(2)]);
  }
  if (!values.json) for (const l of formatTable(['DEVICE', 'CHECKER', 'STATE', 'MESSAGE', 'MS'], rows, ['MS'])) out(l);
  return 0;
}

/** The names of build/checkers/*.wasm, sorted. */
async function builtCheckers(): Promise<string[]> {
  try {
    return (await readdir(CHECKERS_DIR)).filter((f) => f.endsWith('.wasm')).map((f) => f.slice(0, -'.wasm'.length)).sort();
  } catch {
    throw new UsageError(`scenarios: no built checkers in ${CHECKERS_DIR} (run npm run build:checkers)`);
  }
}
