#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../daemon/logger.js';
import { runDaemon } from '../control/run-daemon.js';
import type { DaemonEvent } from '../daemon/daemon-event.js';
import { describeEvent } from './commands/control-verbs.js';
import { CHECKERS_DIR, PACKAGE_ROOT } from './package-paths.js';
import { parseOptions, positiveInt } from './parse-options.js';
import { formatTable } from './table.js';

const HELP = `usage: npm start [-- --duration S] [--json]

The demo appliance: pathcheckd on config/demo.conf (controllers A and B, 16 LUNs each, A active,
B standby) with a scripted fault schedule: controller A fails over to B, a LUN hangs and recovers,
the tur checker is hot-reloaded mid-run, then the controllers fail back. Repeats every ${'20'} s.
On a terminal: a live table of paths and the latest events; otherwise one line per event.
Ctrl-C stops it cleanly.`;

const LUNS = 16;
const lun = (ctrl: 'A' | 'B', n: number, scenario: 'ok' | 'standby') => `sim:${scenario}?id=ctrl${ctrl}-lun${String(n).padStart(2, '0')}`;
const ctrlA = Array.from({ length: LUNS }, (_, n) => lun('A', n, 'ok'));
const ctrlB = Array.from({ length: LUNS }, (_, n) => lun('B', n, 'standby'));
const HUNG = ctrlA[5]!;

/** [second in the cycle, what happens, action]: the scripted life of the appliance. */
type Step = [number, string, (d: Awaited<ReturnType<typeof runDaemon>>['daemon']) => unknown];
const SCHEDULE: Step[] = [
  [3, 'controller A goes to standby, B takes over', (d) => (ctrlA.forEach((p) => d.fault(p, 'standby')), ctrlB.forEach((p) => d.fault(p, 'ok')))],
  [7, `LUN ${HUNG} hangs`, (d) => d.fault(HUNG, 'hang')],
  [11, `LUN ${HUNG} recovers`, (d) => d.fault(HUNG, 'standby')],
  [13, 'checker tur hot-reloaded', (d) => d.reloadChecker('tur')],
  [16, 'fail back: A active, B standby', (d) => (ctrlA.forEach((p) => d.fault(p, 'ok')), ctrlB.forEach((p) => d.fault(p, 'standby')))],
];
const CYCLE_S = 20;

const COLOURS: Record<string, string> = { up: '32', ghost: '36', down: '31', timeout: '33', pending: '33', unchecked: '90' };
const colour = (state: string, text: string) => `\x1b[${COLOURS[state] ?? '35'}m${text}\x1b[0m`;

async function main(): Promise<void> {
  const { values } = parseOptions('demo', process.argv.slice(2), {
    duration: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, false);
  if (values.help) return void console.log(HELP);
  const duration = values.duration === undefined ? undefined : positiveInt('demo', '--duration', values.duration);
  const live = process.stdout.isTTY && !values.json;
  const dir = mkdtempSync(join(tmpdir(), 'pathcheck-demo-'));
  const socketPath = join(dir, 'pathcheckd.sock');
  const log = new Logger(2, !live, live ? () => {} : (l) => process.stderr.write(`${l}\n`));
  // The demo prints every event itself; of the daemon's own log it shows warnings and errors only.
  const running = await runDaemon({ configFile: join(PACKAGE_ROOT, 'config', 'demo.conf'), socketPath, log, defaultCheckerDir: CHECKERS_DIR, extraVerbosity: -1 });
  const { daemon } = running;
  const recent: string[] = [];
  daemon.on('event', (e: DaemonEvent) => {
    const line = values.json ? JSON.stringify(e) : describeEvent(e as unknown as Record<string, unknown>);
    if (live) recent.splice(0, Math.max(0, recent.push(line) - 8));
    else console.log(line);
  });
  const started = Date.now();
  let step = 0;
  const narrate = (text: string) => (live ? recent.splice(0, Math.max(0, recent.push(`>>> ${text}`) - 8)) : console.log(`# ${text}`));
  const timers = [
    setInterval(() => {
      const t = (Date.now() - started) / 1000;
      // Step k runs at cycle floor(k / steps) plus its second in the cycle.
      const at = (k: number) => Math.floor(k / SCHEDULE.length) * CYCLE_S + SCHEDULE[k % SCHEDULE.length]![0];
      while (at(step) <= t) {
        const [, text, act] = SCHEDULE[step % SCHEDULE.length]!;
        narrate(text);
        Promise.resolve()
          .then(() => act(daemon))
          .catch((e: Error) => narrate(`failed: ${e.message}`));
        step++;
      }
      if (live) draw(daemon.showPaths(), recent, socketPath, t);
    }, 250),
  ];
  if (!live) console.log(`# demo appliance: ${daemon.showPaths().length} paths; control socket ${socketPath} (try: pathcheck --socket ${socketPath} show paths)`);
  const stop = () => void running.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (duration !== undefined) timers.push(setTimeout(stop, duration * 1000));
  const abandoned = await running.stopped;
  timers.forEach((t) => clearTimeout(t));
  if (live) process.stdout.write('\x1b[?25h\n');
  console.log(`demo stopped; ${abandoned} checks abandoned`);
  rmSync(dir, { recursive: true, force: true });
}

function draw(paths: ReturnType<Awaited<ReturnType<typeof runDaemon>>['daemon']['showPaths']>, recent: string[], socketPath: string, t: number): void {
  const rows = paths.map((p) => [p.device, p.checker, colour(p.state, p.state.padEnd(9)), p.message, `${p.interval}s`]);
  const lines = [
    `pathcheck demo appliance  t=${t.toFixed(0)}s  ${paths.length} paths  (Ctrl-C to stop; socket ${socketPath})`,
    '',
    ...formatTable(['DEVICE', 'CHECKER', 'STATE    ', 'MESSAGE', 'INTERVAL'], rows, ['INTERVAL']),
    '',
    'events:',
    ...recent,
  ];
  process.stdout.write(`\x1b[?25l\x1b[H\x1b[2J${lines.join('\n')}\n`);
}

await main();
