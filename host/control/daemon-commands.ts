import { CommandError, type ControlHandler, type ControlRequest } from './control-server.js';
import { oneLine } from './protocol.js';
import { ConfigError } from '../daemon/config/config-error.js';
import { loadConfig } from '../daemon/config/daemon-config.js';
import { DaemonCommandError, type Daemon } from '../daemon/daemon.js';
import type { Logger } from '../daemon/logger.js';
import { describePeer } from './peer-credentials.js';

/** The verbs pathcheckd answers on its control socket (`watch` is the server's own). */
export const COMMANDS = ['show paths', 'show checkers', 'show stats', 'show metrics', 'add path', 'del path', 'reconfigure', 'reload checker', 'unload checker', 'fault', 'shutdown'] as const;

function stringArg(req: ControlRequest, name: string, required: true): string;
function stringArg(req: ControlRequest, name: string, required: false): string | undefined;
function stringArg(req: ControlRequest, name: string, required: boolean): string | undefined {
  const v = req.args[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new CommandError(`${req.command}: '${name}' must be a non-empty string`);
  return v;
}

/** Commands that change the daemon: each is logged at notice with who sent it. */
const MUTATIONS: ReadonlySet<string> = new Set(['add path', 'del path', 'reconfigure', 'reload checker', 'unload checker', 'fault', 'shutdown']);

/** `add path spec=sim:ok?id=a checker=tur`: the command and its arguments as the log shows them, at most 500 characters (a request line may be 64 KiB). */
function what(req: ControlRequest): string {
  return oneLine([req.command, ...Object.entries(req.args).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)].join(' '), 500);
}

/**
 * The control handler: every command answers from the daemon's state at once; none waits on a
 * device (DESIGN.md "Control socket"). Refusals become one-line error responses. A mutation is
 * logged before it runs, with the peer's pid and uid (looked up once per connection, bounded), and
 * again if it is refused: the log says who changed what, and who tried.
 */
export function daemonHandler(daemon: Daemon, log: Logger, onShutdown: () => void): ControlHandler {
  return async (req, client) => {
    let who = '';
    if (MUTATIONS.has(req.command)) {
      who = `client ${client.id} (${describePeer(await client.peer())})`;
      log.notice(`${who}: ${what(req)}`);
    } else if (log.enabled('debug')) {
      log.debug(`client ${client.id}: ${what(req)}`);
    }
    try {
      return await run(daemon, req, onShutdown);
    } catch (e) {
      if (who !== '') log.notice(`${who}: ${req.command} refused: ${(e as Error).message}`);
      throw e;
    }
  };
}

async function run(daemon: Daemon, req: ControlRequest, onShutdown: () => void): Promise<unknown> {
  try {
    switch (req.command) {
      case 'show paths':
        return daemon.showPaths();
      case 'show checkers':
        return daemon.showCheckers();
      case 'show stats':
        return daemon.stats();
      case 'show metrics':
        return daemon.metricsText();
      case 'add path': {
        const spec = stringArg(req, 'spec', true);
        await daemon.addPath(spec, stringArg(req, 'checker', false));
        return { added: spec };
      }
      case 'del path': {
        const spec = stringArg(req, 'spec', true);
        daemon.delPath(spec);
        return { removed: spec };
      }
      case 'reconfigure':
        return await daemon.reconfigure(await loadConfig(daemon.configFile));
      case 'reload checker': {
        const name = stringArg(req, 'name', true);
        return { checker: name, version: await daemon.reloadChecker(name) };
      }
      case 'unload checker': {
        const name = stringArg(req, 'name', true);
        return { checker: name, version: await daemon.unloadChecker(name) };
      }
      case 'fault': {
        const spec = stringArg(req, 'spec', true);
        const scenario = stringArg(req, 'scenario', true);
        daemon.fault(spec, scenario);
        return { path: spec, scenario };
      }
      case 'shutdown':
        setImmediate(onShutdown);
        return 'shutting down';
      default:
        throw new CommandError(`unknown command '${req.command}' (commands: ${[...COMMANDS, 'watch'].join(', ')})`);
    }
  } catch (e) {
    if (e instanceof DaemonCommandError || e instanceof ConfigError) throw new CommandError(e.message);
    throw e;
  }
}
