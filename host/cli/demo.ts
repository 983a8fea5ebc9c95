#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../daemon/logger.js';
import { runDaemon } from '../control/run-daemon.js';
import type { DaemonEvent } from '../daemon/daemon-event.js';
import { CHECKERS_DIR, PACKAGE_ROOT } from './package-paths.js';
import { BOUNDS } from '../daemon/bounds.js';
import { boundedInt, parseOptions } from './parse-options.js';
import { FoldedEvents } from './demo-events.js';
import { renderScreen } from './demo-screen.js';
import { colourWanted } from './terminal-text.js';

const HELP = `usage: npm start [-- --duration S] [--json]

The demo appliance: pathcheckd on config/demo.conf (controllers A and B, 16 LUNs each, A active,
B standby) with a scripted fault schedule: controller A fails over to B, a LUN hangs and recovers,
the tur checker is hot-reloaded mid-run, then the controllers fail back. Repeats every ${'20'} s.
On a terminal: a live table of the paths with the latest events below it, fitted to the terminal
(and redrawn when it is resized); NO_COLOR=1 turns colour off. Otherwise one line per event. Path
events of one type in a row share a line (a failover's 32 faults: "fault x32 ctrlA-lun00..ctrlA-lun15
-> standby, ..."); --json prints every event, unfolded. Ctrl-C stops it cleanly.`;

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

async function main(): Promise<void> {
  const { values } = parseOptions('demo', process.argv.slice(2), {
    duration: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, false);
  if (values.help) return void console.log(HELP);
  const duration = values.duration === undefined ? undefined : boundedInt('demo', '--duration', values.duration, BOUNDS.durationS);
  const live = process.stdout.isTTY === true && !values.json;
  const dir = mkdtempSync(join(tmpdir(), 'pathcheck-demo-'));
  const socketPath = join(dir, 'pathcheckd.sock');
  const log = new Logger(2, !live, live ? () => {} : (l) => process.stderr.write(`${l}\n`));
  // The demo prints every event itself; of the daemon's own log it shows warnings and errors only.
  const running = await runDaemon({ configFile: join(PACKAGE_ROOT, 'config', 'demo.conf'), socketPath, log, defaultCheckerDir: CHECKERS_DIR, extraVerbosity: -1 });
  const { daemon } = running;
  const shown = new FoldedEvents();
  // Not live: lines are printed once the events of one tick are in, so a burst (a step's 32 faults) folds too.
  let pending: NodeJS.Immediate | undefined;
  const printPending = () => {
    pending = undefined;
    for (const line of shown.take()) console.log(line);
  };
  const record = (add: () => void) => {
    add();
    if (!live) pending ??= setImmediate(printPending);
  };
  daemon.on('event', (e: DaemonEvent) => (values.json ? console.log(JSON.stringify(e)) : record(() => shown.add(e))));
  const narrate = (text: string) => (values.json ? console.log(`# ${text}`) : record(() => shown.note(live ? `>>> ${text}` : `# ${text}`)));
  const started = Date.now();
  const colour = colourWanted(process.stdout.isTTY);
  const draw = () => {
    const columns = process.stdout.columns || 80;
    const rows = process.stdout.rows || 24;
    const t = (Date.now() - started) / 1000;
    const lines = renderScreen({ paths: daemon.showPaths(), events: shown.lines(rows), columns, rows, colour, t, socket: socketPath });
    // Repaint in place, every row cleared as it is written; no newline after the last row (it would scroll).
    const screen = [...lines, ...Array<string>(rows - lines.length).fill('')].map((l) => `\x1b[2K${l}`).join('\n');
    process.stdout.write(`\x1b[?25l\x1b[H${screen}`);
  };
  let step = 0;
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
      // Drawn once this tick's steps have acted (their actions run as microtasks), faults included.
      if (live) queueMicrotask(draw);
    }, 250),
  ];
  if (live) {
    // Whatever ends the process, the terminal gets its cursor back.
    process.once('exit', () => process.stdout.write('\x1b[?25h'));
    process.stdout.on('resize', draw);
  } else {
    console.log(`# demo appliance: ${daemon.showPaths().length} paths; control socket ${socketPath} (try: pathcheck --socket ${socketPath} show paths)`);
  }
  const stop = () => void running.stop();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  if (duration !== undefined) timers.push(setTimeout(stop, duration * 1000));
  const abandoned = await running.stopped;
  timers.forEach((t) => clearTimeout(t));
  if (live) {
    process.stdout.off('resize', draw);
    process.stdout.write('\n');
  } else if (pending !== undefined) {
    clearImmediate(pending);
    printPending();
  }
  console.log(`demo stopped; ${abandoned} checks abandoned`);
  rmSync(dir, { recursive: true, force: true });
}

await main();
