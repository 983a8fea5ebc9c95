import { join } from 'node:path';

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
