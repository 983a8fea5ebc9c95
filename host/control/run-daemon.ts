import { CommandError, ControlServer } from './control-server.js';
import { daemonHandler } from './daemon-commands.js';
import { ConfigError } from '../daemon/config/config-error.js';
import { loadConfig } from '../daemon/config/daemon-config.js';
import { loadScenarios } from '../daemon/load-scenarios.js';
import { Daemon } from '../daemon/daemon.js';
import type { Logger } from '../daemon/logger.js';

export interface RunDaemonOptions {
  readonly configFile: string;
  readonly socketPath: string;
  readonly log: Logger;
  readonly defaultCheckerDir: string;
  /** Extra verbosity from -v flags, on top of the config's. */
  readonly extraVerbosity?: number;
}

export interface RunningDaemon {
  readonly daemon: Daemon;
  readonly server: ControlServer;
  /** Graceful, bounded stop (idempotent); resolves with the checks abandoned. */
  stop(): Promise<number>;
  /** Re-read the config file and apply it; a bad file keeps the running config. */
  reconfigure(): Promise<void>;
  /** Resolves when the daemon has stopped, for whatever reason (signal, `shutdown` command). */
  readonly stopped: Promise<number>;
}

/** Load the config, start the daemon and its control socket. A bad config throws ConfigError. */
export async function runDaemon(opts: RunDaemonOptions): Promise<RunningDaemon> {
  // A socket path that cannot work is reported before the config is even read.
  const socketProblem = ControlServer.pathProblem(opts.socketPath);
  if (socketProblem !== null) throw new Error(socketProblem);
  const config = await loadConfig(opts.configFile);
  const scenarioFile = config.defaults.scenarioFile;
  // Before the daemon's workers start: each adds the scenarios the main thread has at its start.
  if (scenarioFile !== undefined) {
    await loadScenarios(scenarioFile).catch((e: Error) => {
      throw new ConfigError(config.file, config.defaults.lines.scenario_file ?? 0, `keyword 'scenario_file': ${e.message}`);
    });
  }
  opts.log.verbosity = config.defaults.verbosity + (opts.extraVerbosity ?? 0);
  const daemon = new Daemon({ config, log: opts.log, defaultCheckerDir: opts.defaultCheckerDir });
  let stopping: Promise<number> | null = null;
  let resolveStopped!: (n: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));
  const stop = (): Promise<number> => {
    stopping ??= (async () => {
      const abandoned = await daemon.stop();
      await server.close();
      resolveStopped(abandoned);
      return abandoned;
    })();
    return stopping;
  };
  // The socket is claimed first (a second pathcheckd fails before it touches any device), but
  // commands wait until the paths are bound: no command ever sees a half-started daemon.
  let markStarted!: () => void;
  const started = new Promise<void>((r) => (markStarted = r));
  const handle = daemonHandler(daemon, opts.log, () => void stop());
  const server: ControlServer = new ControlServer({
    path: opts.socketPath,
    handler: async (req, client): Promise<unknown> => {
      await started;
      // While stopping, the pool is going away: a command would be answered but never acted on.
      if (stopping !== null) throw new CommandError('pathcheckd is shutting down');
      const result = await handle(req, client);
      // The control socket's own counters (clients, caps, drops by kind) belong with the daemon's.
      return req.command === 'show stats' ? { ...(result as object), control: server.stats() } : result;
    },
    log: (level, message) => opts.log[level](message),
  });
  daemon.on('event', (e) => server.publish(e));
  try {
    await server.listen();
    await daemon.start();
    markStarted();
  } catch (e) {
    await stop();
    throw e;
  }
  const caps = server.stats().limits;
  opts.log.notice(
    `control socket ${opts.socketPath}: at most ${caps.clients} clients, ${caps.watchers} of them watching; a client with nothing in flight is closed after ${caps.idleTimeoutMs / 1000} s`,
  );
  const reconfigure = async () => {
    try {
      await daemon.reconfigure(await loadConfig(opts.configFile));
    } catch (e) {
      opts.log.error(`reconfigure failed, keeping the running config: ${(e as Error).message}`);
    }
  };
  return { daemon, server, stop, reconfigure, stopped };
}
