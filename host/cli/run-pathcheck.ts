import { DeviceSpecError } from '../backends/device-spec.js';
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

/** Run the CLI; returns the exit status. Errors a user can fix are one line on stderr and status 2. */
export async function main(argv: string[], out = (l: string) => console.log(l), err = (l: string) => console.error(l)): Promise<number> {
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
    if (e instanceof UsageError || e instanceof LoadError || e instanceof DeviceSpecError) {
      err(`pathcheck: ${e.message}`);
      return 2;
    }
    if (e instanceof UnreachableError || e instanceof BindError) {
      err(`pathcheck: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

