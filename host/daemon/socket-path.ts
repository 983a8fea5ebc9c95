import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Where pathcheckd listens unless told otherwise: $PATHCHECK_SOCKET; /run/pathcheckd.sock for root;
 * else $XDG_RUNTIME_DIR/pathcheckd.sock; else /tmp/pathcheckd-<uid>.sock.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PATHCHECK_SOCKET) return env.PATHCHECK_SOCKET;
  const uid = process.getuid?.() ?? -1;
  if (uid === 0) return '/run/pathcheckd.sock';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'pathcheckd.sock');
  return `/tmp/pathcheckd-${uid}.sock`;
}

/**
 * Longest Unix socket path: sun_path is 108 bytes on Linux, one of them the NUL. Past it the
 * kernel (or libuv) truncates or refuses, so a longer path is refused here, in bytes as given.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * What makes `path` unusable as a socket path (empty, too long) as one line, or null. Checked before
 * any socket call: Node's own errors for these name a port or an options object, and a long path
 * would be truncated silently.
 */
export function socketPathProblem(path: string): string | null {
  if (path === '') return 'control socket path is empty';
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) return `control socket path is ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte Unix socket limit: ${path}`;
  return null;
}

/** The directory `path` would be in, if it does not exist (Node reports only EACCES or ENOENT); else null. */
export function missingSocketDir(path: string): string | null {
  const dir = dirname(path);
  return existsSync(dir) ? null : dir;
}
