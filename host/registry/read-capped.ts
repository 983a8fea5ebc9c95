import { open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

/** A file longer than its cap (or a device that never ends, such as /dev/zero). */
export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
  constructor(readonly cap: number) {
    super(`larger than the ${capText(cap)} cap`);
  }
}

export function capText(bytes: number): string {
  return bytes >= 1048576 ? `${bytes / 1048576} MiB` : `${bytes / 1024} KiB`;
}

/**
 * The bytes of `path`, at most `cap` of them: reading stops one byte past the cap, so a huge file or
 * an endless device costs `cap` bytes of memory, not all of it. Throws TooLargeError past the cap,
 * the open/read error (with its code) otherwise.
 */
export async function readCapped(path: string, cap: number): Promise<Uint8Array<ArrayBuffer>> {
  const file = await open(path, 'r');
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(Math.min(CHUNK, cap + 1 - total));
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > cap) throw new TooLargeError(cap);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return bytes;
  } finally {
    await file.close();
  }
}

/** Why a read failed, in a few words: `no such file`, `is a directory`, `permission denied`, the cap. */
export function readFailure(e: unknown): string {
  if (e instanceof TooLargeError) return e.message;
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return (e as Error).message;
  }
}
