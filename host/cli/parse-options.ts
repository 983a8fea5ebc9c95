import { parseArgs, type ParseArgsConfig } from 'node:util';
import { rangeText, type Bound } from '../daemon/bounds.js';
import { UsageError } from './usage-error.js';

/** `show: ...`; no prefix for the control verbs, whose errors `pathcheck: ` introduces already. */
const prefix = (command: string) => (command === '' ? '' : `${command}: `);

/** node:util parseArgs, strict, with its errors turned into one-line usage errors naming the command. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${prefix(command)}${msg}`);
  }
}

/** An integer option value within its bound (shared with the config keyword of the same meaning), or a usage error naming the option. */
export function boundedInt(command: string, option: string, value: string, bound: Bound): number {
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(n >= bound.min && n <= bound.max)) throw new UsageError(`${prefix(command)}${option} must be ${rangeText(bound)}, got '${value}'`);
  return n;
}
