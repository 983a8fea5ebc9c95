import { DeviceSpecError } from '../backends/device-spec.js';
import { ConfigError } from '../daemon/config/config-error.js';
import { escapeControls } from '../daemon/logger.js';
import { BindError } from '../registry/bind-error.js';
import { LoadError } from '../registry/load-error.js';
import { checkCommand } from './commands/check.js';
import { checkersCommand } from './commands/checkers.js';
import { scenariosCommand } from './commands/scenarios.js';
import { CONTROL_HELP, controlCommand, UnreachableError } from './commands/control-verbs.js';
import { UsageError } from './usage-error.js';

const HELP = `usage: pathcheck <command> [options]

Commands:
  check <device>     check one path once, here (pathcheck check --help)
  checkers           list the built checker plugins
  scenarios          every simulated fault scenario, checked once by tur and none

${CONTROL_HELP}

Every command takes --help.`;

type Command = (args: string[], out: (line: string) => void, err: (line: string) => void) => Promise<number>;
const COMMANDS: Record<string, Command> = { check: checkCommand, checkers: checkersCommand, scenarios: scenariosCommand };

/** Each line of `text` with its control characters escaped: no output may move the admin's cursor or forge a line. */
const safe = (text: string) => text.split('\n').map(escapeControls).join('\n');

/**
 * Run the CLI; returns the exit status. Errors a user can fix are one line on stderr and status 2;
 * under --json that line is a JSON object, `{"error": "...", "status": N}`.
 */
export async function main(argv: string[], print = (l: string) => console.log(l), printErr = (l: string) => console.error(l)): Promise<number> {
  const out = (l: string) => print(safe(l));
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).includes('--json');
  const fail = (message: string, status: number): number => {
    printErr(json ? escapeControls(JSON.stringify({ error: message, status })) : safe(`pathcheck: ${message}`));
    return status;
  };
  const err = (l: string) => printErr(safe(l));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    // Anything that is not a local command is a verb for the daemon (show, add, del, fault, ...).
    return command === undefined ? await controlCommand(argv, out) : await command(rest, out, err);
  } catch (e) {
    if (e instanceof UsageError || e instanceof LoadError || e instanceof DeviceSpecError || e instanceof ConfigError) return fail(e.message, 2);
    if (e instanceof UnreachableError || e instanceof BindError) return fail(e.message, 1);
    throw e;
  }
}

