import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * Who is at the other end of an accepted Unix socket, without SO_PEERCRED (Node has no API for it
 * and a native addon is not wanted): our end's inode from /proc/self/fd, the peer end's inode and
 * the processes holding it from iproute2's `ss -xpn` (sock_diag), the uid from /proc/<pid>/status.
 * Linux only; anywhere a step is impossible (no /proc, no ss, ss too slow, the peer gone) the
 * answer is null and callers log `peer unknown`.
 */

export interface PeerCredentials {
  readonly pid: number;
  /** Effective uid, as SO_PEERCRED reports it. */
  readonly uid: number;
}

export interface PeerLookupOptions {
  /** The `ss` binary (default `ss`, from PATH). */
  readonly ss?: string;
  /** Bound on one ss run (default 2000 ms); past it the lookups waiting on that run answer null. */
  readonly timeoutMs?: number;
}

/** `pid 1234 uid 0`, or `peer unknown`: the "who" of a log line. */
export function describePeer(peer: PeerCredentials | null): string {
  return peer === null ? 'peer unknown' : `pid ${peer.pid} uid ${peer.uid}`;
}

/** The inode of our end of `socket` (readlink /proc/self/fd/N is `socket:[ino]`), or null. */
export function socketInode(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    return inodeOf(readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return null;
  }
}

function inodeOf(link: string): number | null {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}

/** One Unix socket end in `ss -xpn` output: its peer end's inode, and who says they hold it. */
export interface SocketEnd {
  readonly peer: number;
  readonly holders: readonly { readonly pid: number; readonly fd: number }[];
}

/**
 * `ss -xpn` output as inode -> end. A row is `netid state recv-q send-q local-addr local-ino
 * peer-addr peer-ino [users:(("comm",pid=N,fd=M),...)]`; the header and anything else not of that
 * shape is skipped. Holders are claims only: a process may name itself `",pid=1,fd=3),(`, so
 * lookups check each one against /proc before believing it.
 */
export function parseSsUnix(text: string): Map<number, SocketEnd> {
  const ends = new Map<number, SocketEnd>();
  for (const line of text.split('\n')) {
    const users = line.indexOf(' users:(');
    const cols = (users === -1 ? line : line.slice(0, users)).trim().split(/\s+/);
    if (cols.length < 8) continue;
    const ino = Number(cols[cols.length - 3]);
    const peer = Number(cols[cols.length - 1]);
    if (!Number.isSafeInteger(ino) || !Number.isSafeInteger(peer)) continue;
    const holders = users === -1 ? [] : [...line.slice(users).matchAll(/pid=(\d+),fd=(\d+)/g)].map((m) => ({ pid: Number(m[1]), fd: Number(m[2]) }));
    ends.set(ino, { peer, holders });
  }
  return ends;
}

/**
 * Resolves peers through `ss`, one run at a time: lookups that arrive while a run is under way
 * share the next run (the one under way may have read the tables before their connection existed),
 * so a burst of clients costs two ss processes, not one each.
 */
export class PeerLookup {
  private readonly ss: string;
  private readonly timeoutMs: number;
  private running: Promise<Map<number, SocketEnd> | null> | null = null;
  private next: Promise<Map<number, SocketEnd> | null> | null = null;
  /** ss is not installed: stop spawning it. */
  private missing = false;

  constructor(opts: PeerLookupOptions = {}) {
    this.ss = opts.ss ?? 'ss';
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** The process at the other end of `socket` (an accepted Unix socket), or null. Never rejects. */
  async lookup(socket: Socket): Promise<PeerCredentials | null> {
    const ino = socketInode(socket);
    if (ino === null || this.missing) return null;
    const ends = await this.snapshot();
    const peerIno = ends?.get(ino)?.peer;
    if (peerIno === undefined) return null;
    for (const { pid, fd } of ends!.get(peerIno)?.holders ?? []) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (inodeOf(link) !== peerIno) continue;
      const uid = await effectiveUid(pid);
      if (uid !== null) return { pid, uid };
    }
    return null;
  }

  private snapshot(): Promise<Map<number, SocketEnd> | null> {
    if (this.running === null) {
      this.running = this.run().finally(() => (this.running = null));
      return this.running;
    }
    this.next ??= this.running.then(() => {
      this.next = null;
      return this.snapshot();
    });
    return this.next;
  }

  private run(): Promise<Map<number, SocketEnd> | null> {
    return new Promise((resolve) => {
      execFile(this.ss, ['-xpn'], { encoding: 'utf8', timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
        if (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.missing = true;
          resolve(null);
        } else {
          resolve(parseSsUnix(stdout));
        }
      });
    });
  }
}

async function effectiveUid(pid: number): Promise<number | null> {
  try {
    const m = /^Uid:\s+\d+\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The lookup every control connection shares. */
export const peerLookup = new PeerLookup();
