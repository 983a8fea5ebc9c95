import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

/** node:util parseArgs, strict, with its errors turned into one-line usage errors naming the command. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${command}: ${msg}`);
  }
}

/** A positive integer option value, or a usage error naming the option. */
export function positiveInt(command: string, option: string, value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) <= 0) throw new UsageError(`${command}: ${option} must be a positive integer, got '${value}'`);
  return Number(value);
}
