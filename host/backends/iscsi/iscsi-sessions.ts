import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { ChapCredentials } from './login-negotiation.js';
import { IscsiSession, type SessionEvent, type SessionOptions } from './iscsi-session.js';
import type { IscsiSpec } from './iscsi-spec.js';

/** A session event with the target it is about: `iscsi 127.0.0.1:3260 iqn...: connected`. */
export type TargetEvent = SessionEvent & { readonly portal: string; readonly target: string };

/** This host's initiator name (RFC 7143 4.2.7.2): the domain is the project's, the id the host name. */
export const INITIATOR_NAME = `iqn.2026-12.io.pathcheck:${hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-') || 'host'}`;

interface Entry {
  readonly session: IscsiSession;
  refs: number;
}

/**
 * The sessions of this process, one per (portal, target), shared by the paths of all its LUNs and
 * counted: the last device to let go logs the session out. Main thread only (the I/O side).
 * CHAP credentials come from `credentials` (the daemon sets it from its config), never from a spec.
 */
export class IscsiSessions extends EventEmitter<{ event: [TargetEvent] }> {
  private readonly entries = new Map<string, Entry>();
  credentials: (target: string) => ChapCredentials | undefined = () => undefined;

  constructor(private readonly options: SessionOptions = { initiatorName: INITIATOR_NAME }) {
    super();
  }

  acquire(spec: IscsiSpec): IscsiSession {
    const key = `${spec.host}|${spec.port}|${spec.target}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      const chap = this.credentials(spec.target);
      const session = new IscsiSession({ host: spec.host, port: spec.port, target: spec.target, ...(chap !== undefined && { chap }) }, this.options);
      const portal = `${spec.host}:${spec.port}`;
      session.on('event', (ev) => this.emit('event', { ...ev, portal, target: spec.target }));
      e = { session, refs: 0 };
      this.entries.set(key, e);
    }
    e.refs++;
    return e.session;
  }

  release(session: IscsiSession): void {
    for (const [key, e] of this.entries) {
      if (e.session !== session) continue;
      if (--e.refs > 0) return;
      this.entries.delete(key);
      void session.close();
      return;
    }
  }

  /** Log every session out (bounded): the daemon's shutdown. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()].map((e) => e.session);
    this.entries.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}

/** The process's sessions. */
export const iscsiSessions = new IscsiSessions();
