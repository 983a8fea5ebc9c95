import { CommandError, type ControlHandler, type ControlRequest } from './control-server.js';
import { ConfigError } from '../daemon/config/config-error.js';
import { loadConfig } from '../daemon/config/daemon-config.js';
import { DaemonCommandError, type Daemon } from '../daemon/daemon.js';

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

/**
 * The control handler: every command answers from the daemon's state at once; none waits on a
 * device (DESIGN.md "Control socket"). Refusals become one-line error responses.
 */
export function daemonHandler(daemon: Daemon, onShutdown: () => void): ControlHandler {
  return async (req) => {
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
  };
}
