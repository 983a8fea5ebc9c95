import { DeviceSpecError } from '../backends/device-spec.js';
import { LoadError } from '../registry/load-error.js';
import { checkCommand } from './commands/check.js';
import { checkersCommand } from './commands/checkers.js';
import { UsageError } from './usage-error.js';

const HELP = `usage: pathcheck <command> [options]

Commands:
  check <device>     check one path once (pathcheck check --help)
  checkers           list the built checker plugins

Every command takes --help.`;

type Command = (args: string[], out: (line: string) => void) => Promise<number>;
const COMMANDS: Record<string, Command> = { check: checkCommand, checkers: checkersCommand };

/** Run the CLI; returns the exit status. Errors a user can fix are one line on stderr and status 2. */
export async function main(argv: string[], out = (l: string) => console.log(l), err = (l: string) => console.error(l)): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    err(`pathcheck: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return 2;
  }
  try {
    return await command(rest, out);
  } catch (e) {
    if (e instanceof UsageError || e instanceof LoadError || e instanceof DeviceSpecError) {
      err(`pathcheck: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

