#!/usr/bin/env node
import { Logger, stderrLogSink } from '../daemon/logger.js';
import { runDaemon } from '../control/run-daemon.js';
import { defaultSocketPath } from '../daemon/socket-path.js';
import { CHECKERS_DIR } from './package-paths.js';
import { BOUNDS } from '../daemon/bounds.js';
import { boundedInt, parseOptions } from './parse-options.js';
import { UsageError } from './usage-error.js';

const HELP = `usage: pathcheckd [--config FILE] [--socket PATH] [--foreground] [-v...] [--duration S]

The pathcheck daemon: checks every configured path with multipathd's polling rules and answers
the pathcheck client on a Unix control socket (mode 0600).

  --config FILE    multipath.conf-style or JSON config (default /etc/pathcheck/pathcheck.conf)
  --socket PATH    control socket (default ${defaultSocketPath()}; $PATHCHECK_SOCKET overrides)
  --foreground     log readable lines even when stderr is not a terminal (default there: NDJSON)
  -v               more verbose; repeat for more (adds to the config's verbosity)
  --duration S     stop by itself after S seconds (1..2147483)

SIGTERM/SIGINT: graceful stop (bounded even with hung checks). SIGHUP: re-read the config.
Exit status: 0 after a clean stop, 2 for bad usage or a bad config (FILE:LINE: what is wrong).`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions('pathcheckd', argv, {
    config: { type: 'string', default: '/etc/pathcheck/pathcheck.conf' },
    socket: { type: 'string' },
    foreground: { type: 'boolean', default: false },
    v: { type: 'boolean', short: 'v', multiple: true },
    duration: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`pathcheckd: unexpected argument '${positionals[0]}'`);
  const duration = values.duration === undefined ? undefined : boundedInt('pathcheckd', '--duration', values.duration, BOUNDS.durationS);
  const log = new Logger(2, !(values.foreground || process.stderr.isTTY));
  // Signal handlers before the socket exists: a SIGTERM during start-up stops cleanly once started.
  let running: Awaited<ReturnType<typeof runDaemon>> | null = null;
  let stopRequested = false;
  const stop = () => {
    stopRequested = true;
    void running?.stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => void running?.reconfigure());
  running = await runDaemon({
    configFile: values.config,
    socketPath: values.socket ?? defaultSocketPath(),
    log,
    defaultCheckerDir: CHECKERS_DIR,
    extraVerbosity: values.v?.length ?? 0,
  });
  // Whatever ends the process (an uncaught exception included), the socket file goes with it.
  const server = running.server;
  process.once('exit', () => server.unlinkSocket());
  if (stopRequested) void running.stop();
  if (duration !== undefined) setTimeout(stop, duration * 1000).unref();
  await running.stopped;
  return 0;
}

// Nothing but --help writes stdout; a reader that closed it (`| head -1`) is no reason to crash.
process.stdout.on('error', () => {});
// Now, not at the first Logger: a usage error printed to a closed stderr must not crash either.
stderrLogSink();

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Usage, config and start-up failures (socket in use, a checker that will not load): one line, exit 2.
  const msg = (e as Error).message.split('\n')[0];
  console.error(e instanceof UsageError ? msg : `pathcheckd: ${msg}`);
  process.exitCode = 2;
}
