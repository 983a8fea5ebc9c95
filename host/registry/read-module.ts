import { LoadError } from './load-error.js';
import { readCapped, readFailure } from './read-capped.js';

/** A checker module is a few KiB; this keeps /dev/zero or a stray huge file from filling memory. */
export const MAX_MODULE_BYTES = 16 * 1024 * 1024;

/** Read a checker module file, at most MAX_MODULE_BYTES; any failure is one line naming the file. */
export async function readModule(path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await readCapped(path, MAX_MODULE_BYTES);
  } catch (e) {
    throw new LoadError('unreadable', `cannot read checker module ${path}: ${readFailure(e)}`);
  }
}
