import { open } from 'node:fs/promises';
import { LoadError } from './load-error.js';

/** A checker module is a few KiB; this keeps /dev/zero or a stray huge file from filling memory. */
export const MAX_MODULE_BYTES = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

/**
 * Read a checker module file, at most MAX_MODULE_BYTES: a longer file (or a device that never ends) is
 * refused with one line naming the file and the cap, after reading one byte past the cap.
 */
export async function readModule(path: string): Promise<Uint8Array<ArrayBuffer>> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (e) {
    throw unreadable(path, e);
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(Math.min(CHUNK, MAX_MODULE_BYTES + 1 - total));
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_MODULE_BYTES) throw new LoadError('unreadable', `cannot read checker module ${path}: larger than the ${MAX_MODULE_BYTES / 1048576} MiB cap`);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return bytes;
  } catch (e) {
    throw e instanceof LoadError ? e : unreadable(path, e);
  } finally {
    await file.close();
  }
}

function unreadable(path: string, e: unknown): LoadError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
  return new LoadError('unreadable', `cannot read checker module ${path}: ${why}`);
}
