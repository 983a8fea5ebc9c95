import { chmodSync, lstatSync, unlinkSync, type Stats } from 'node:fs';
import net from 'node:net';
import {
  ClientConnection,
  DEFAULT_MAX_PENDING,
  DEFAULT_QUEUE_LIMITS,
  type CloseKind,
  type CloseReason,
  type ConnectionCounters,
  type ControlPeer,
  type QueueLimits,
} from './client-connection.js';
import { missingSocketDir, socketPathProblem } from '../daemon/socket-path.js';
import { CommandError, DEFAULT_MAX_LINE, encodeError, encodeEvent, encodeResult, errorText, ignore, oneLine, type ControlRequest } from './protocol.js';

export { CommandError } from './protocol.js';
export type { ControlPeer, QueueLimits } from './client-connection.js';
export type { ControlRequest } from './protocol.js';

export type ControlLogLevel = 'error' | 'warn' | 'info' | 'debug';
export type ControlLog = (level: ControlLogLevel, message: string) => void;

/**
 * Runs one command. Return (or resolve to) the result; throw a `CommandError` to refuse with its
 * message; any other exception is answered `internal error: <message>` and logged.
 */
export type ControlHandler = (request: ControlRequest, client: ControlPeer) => unknown;

export interface ControlServerOptions {
  /** Where the Unix socket is created (mode 0600). */
  readonly path: string;
  readonly handler: ControlHandler;
  readonly log?: ControlLog;
  /** Longest request line in bytes (default 64 KiB). */
  readonly maxLine?: number;
  /** Per-client outgoing queue bound (default 1024 messages or 4 MiB). */
  readonly maxQueue?: Partial<QueueLimits>;
  /** Requests a client may have waiting before its connection stops reading (default 64). */
  readonly maxPending?: number;
  /** How long listen() waits for a server already at `path` to answer (default 1000 ms). */
  readonly probeTimeoutMs?: number;
}

export type DropKind = Exclude<CloseKind, 'peer-closed'>;

export interface ControlServerStats {
  readonly listening: boolean;
  /** Clients connected now. */
  readonly clients: number;
  /** Of which subscribed with `watch`. */
  readonly watchers: number;
  /** Connections accepted since listen(). */
  readonly accepted: number;
  /** Connections ended, for any reason. */
  readonly disconnected: number;
  /** Connections the server ended (or lost to a socket error), by reason. */
  readonly droppedClients: Readonly<Record<DropKind, number>>;
  /** Writes dropped because they came after their client's disconnect. */
  readonly droppedWrites: number;
  /** Events published. */
  readonly published: number;
}

const WATCHING = 'watching';

/**
 * The daemon's control socket: newline-delimited JSON over a Unix socket. Command-agnostic: every
 * command but the built-in `watch` goes to the handler. Each client's requests are answered in
 * order, one at a time; clients never wait for each other.
 */
export class ControlServer {
  readonly path: string;
  private readonly handler: ControlHandler;
  private readonly logFn: ControlLog | undefined;
  private readonly maxLine: number;
  private readonly maxQueue: QueueLimits;
  private readonly maxPending: number;
  private readonly probeTimeoutMs: number;

  private state: 'new' | 'starting' | 'listening' | 'closed' = 'new';
  private server: net.Server | null = null;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** The socket file we created, so close() never removes someone else's. */
  private inode: { dev: number; ino: number } | null = null;

  private readonly clients = new Map<number, ClientConnection>();
  private readonly watchers = new Set<ClientConnection>();
  private readonly counters: ConnectionCounters = { droppedWrites: 0 };
  private readonly dropped: Record<DropKind, number> = { 'queue-full': 0, 'socket-error': 0, 'server-closing': 0, kicked: 0 };
  private nextId = 0;
  private accepted = 0;
  private disconnected = 0;
  private published = 0;

  constructor(opts: ControlServerOptions) {
    this.path = opts.path;
    this.handler = opts.handler;
    this.logFn = opts.log;
    this.maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
    this.maxQueue = { ...DEFAULT_QUEUE_LIMITS, ...opts.maxQueue };
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 1000;
    if (!Number.isInteger(this.maxLine) || this.maxLine < 1) throw new RangeError(`maxLine must be a positive integer, not ${this.maxLine}`);
    for (const [k, v] of Object.entries(this.maxQueue)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`maxQueue.${k} must be a positive integer, not ${v}`);
    }
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) throw new RangeError(`maxPending must be a positive integer, not ${this.maxPending}`);
  }

  /** Why listen() at `path` would fail before any socket call (empty, too long, no directory), or null. */
  static pathProblem(path: string): string | null {
    const dir = missingSocketDir(path);
    return socketPathProblem(path) ?? (dir === null ? null : `cannot create control socket ${path}: directory ${dir} does not exist`);
  }

  /**
   * Create the socket (mode 0600) and start accepting. Refuses if a live server answers at the
   * path or if the path is not a socket; a stale socket file is removed first.
   */
  listen(): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error(`control server at ${this.path} is ${this.state}; listen() needs a new server`));
    this.state = 'starting';
    this.starting = this.start().then(
      () => {
        this.state = 'listening';
      },
      (err: unknown) => {
        this.state = 'new';
        throw err;
      },
    );
    return this.starting;
  }

  private async start(): Promise<void> {
    const problem = ControlServer.pathProblem(this.path);
    if (problem !== null) throw new Error(problem);
    const existing = lstatOrNull(this.path);
    if (existing) {
      if (!existing.isSocket()) throw new Error(`${this.path} exists and is not a socket; not replacing it`);
      const found = await probeSocket(this.path, this.probeTimeoutMs);
      if (found === 'live') throw new Error(`control socket ${this.path} is in use: a live server answers there`);
      if (found === 'stale') {
        unlinkIfExists(this.path);
        this.log('info', `removed stale control socket ${this.path}`);
      }
    }
    const server = net.createServer({ allowHalfOpen: true });
    server.on('connection', this.onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          server.off('listening', onListening);
          reject(err);
        };
        const onListening = (): void => {
          server.off('error', onError);
          try {
            // Bound with umask 0177 already; chmod too (umask is unavailable in worker threads).
            // 'listening' comes on the tick of the bind, before any connection can be accepted.
            chmodSync(this.path, 0o600);
            const st = lstatSync(this.path);
            this.inode = { dev: st.dev, ino: st.ino };
            resolve();
          } catch (err) {
            reject(err);
          }
        };
        server.once('error', onError);
        server.once('listening', onListening);
        withUmask(0o177, () => server.listen({ path: this.path, readableAll: false, writableAll: false }));
      });
    } catch (err) {
      server.off('connection', this.onConnection);
      server.close();
      throw err;
    }
    server.on('error', this.onServerError);
    this.server = server;
  }

  /** Send an event to every watcher, through its bounded queue. Returns how many took it. */
  publish(event: unknown): number {
    this.published++;
    if (this.watchers.size === 0) return 0;
    let line: string;
    try {
      line = encodeEvent(event);
    } catch (err) {
      this.log('error', `event not published: ${errorText(err)}`);
      return 0;
    }
    const bytes = Buffer.byteLength(line);
    let sent = 0;
    for (const client of this.watchers) if (client.send(line, bytes)) sent++;
    return sent;
  }

  stats(): ControlServerStats {
    return {
      listening: this.state === 'listening',
      clients: this.clients.size,
      watchers: this.watchers.size,
      accepted: this.accepted,
      disconnected: this.disconnected,
      droppedClients: { ...this.dropped },
      droppedWrites: this.counters.droppedWrites,
      published: this.published,
    };
  }

  /** Stop accepting, drop every client, remove the socket file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
    this.state = 'closed';
    const server = this.server;
    this.server = null;
    for (const client of [...this.clients.values()]) client.close({ kind: 'server-closing', text: 'server closing' });
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.off('connection', this.onConnection);
      server.off('error', this.onServerError);
    }
    this.unlinkSocket();
  }

  private readonly onConnection = (socket: net.Socket): void => {
    if (this.state !== 'listening') {
      socket.on('error', ignore);
      socket.destroy();
      return;
    }
    this.accepted++;
    const client = new ClientConnection({
      id: ++this.nextId,
      socket,
      maxLine: this.maxLine,
      maxQueue: this.maxQueue,
      maxPending: this.maxPending,
      counters: this.counters,
      onRequest: this.answer,
      onClose: this.forget,
    });
    if (!client.closed) this.clients.set(client.id, client);
  };

  private readonly onServerError = (err: Error): void => {
    this.log('error', `control socket ${this.path}: ${errorText(err)}`);
  };

  /** Answer one request with one encoded line. Never throws, never rejects. */
  private readonly answer = (request: ControlRequest, client: ClientConnection): string | Promise<string> => {
    if (request.command === 'watch') {
      client.watching = true;
      this.watchers.add(client);
      return encodeResult(request.id, WATCHING);
    }
    let out: unknown;
    try {
      out = this.handler(request, client);
    } catch (err) {
      return this.failure(request, client, err);
    }
    if (typeof (out as { then?: unknown } | null)?.then === 'function') {
      return Promise.resolve(out).then(
        (result) => this.success(request, client, result),
        (err: unknown) => this.failure(request, client, err),
      );
    }
    return this.success(request, client, out);
  };

  private success(request: ControlRequest, client: ClientConnection, result: unknown): string {
    try {
      return encodeResult(request.id, result);
    } catch (err) {
      return this.failure(request, client, new Error(`result is not JSON: ${errorText(err)}`));
    }
  }

  private failure(request: ControlRequest, client: ClientConnection, err: unknown): string {
    if (err instanceof CommandError) return encodeError(request.id, err.message);
    const text = oneLine(errorText(err), 500);
    this.log('error', `client ${client.id}: command '${oneLine(request.command, 100)}' failed: ${text}`);
    return encodeError(request.id, `internal error: ${text}`);
  }

  /** The one place a client is forgotten: it has released everything of its own already. */
  private readonly forget = (client: ClientConnection, reason: CloseReason): void => {
    this.clients.delete(client.id);
    this.watchers.delete(client);
    this.disconnected++;
    if (reason.kind === 'peer-closed') return;
    this.dropped[reason.kind]++;
    if (reason.kind === 'queue-full' || reason.kind === 'kicked') this.log('warn', `client ${client.id} dropped: ${reason.text}`);
    else if (reason.kind === 'socket-error') this.log('debug', `client ${client.id} dropped: ${reason.text}`);
  };

  /**
   * Remove the socket file if it is still the one listen() created. Synchronous, so a process
   * 'exit' handler can call it: a daemon that dies leaves no socket behind.
   */
  unlinkSocket(): void {
    if (!this.inode) return;
    const st = lstatOrNull(this.path);
    if (st && st.dev === this.inode.dev && st.ino === this.inode.ino) unlinkIfExists(this.path);
    this.inode = null;
  }

  private log(level: ControlLogLevel, message: string): void {
    try {
      this.logFn?.(level, message);
    } catch {
      // a failing log sink must not break the control socket
    }
  }
}



function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Run `fn` with the process umask set to `mask` (a no-op where umask cannot be set: worker threads). */
function withUmask(mask: number, fn: () => void): void {
  let old: number | null = null;
  try {
    old = process.umask(mask);
  } catch {
    old = null;
  }
  try {
    fn();
  } finally {
    if (old !== null) process.umask(old);
  }
}

/**
 * Is something serving at `path`? `live`: a connection was accepted (or the attempt hung, which a
 * dead socket never does); `stale`: the file is there but nobody listens; `absent`: it is gone.
 */
function probeSocket(path: string, timeoutMs: number): Promise<'live' | 'stale' | 'absent'> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    let timer: NodeJS.Timeout | null = setTimeout(() => settle('live'), timeoutMs);
    function settle(found: 'live' | 'stale' | 'absent' | Error): void {
      if (timer === null) return;
      clearTimeout(timer);
      timer = null;
      socket.off('connect', onConnect);
      socket.off('error', onError);
      socket.on('error', ignore);
      socket.destroy();
      if (found instanceof Error) reject(found);
      else resolve(found);
    }
    const onConnect = (): void => settle('live');
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'ECONNREFUSED') settle('stale');
      else if (err.code === 'ENOENT') settle('absent');
      else settle(new Error(`cannot tell whether ${path} is in use: ${err.code ?? err.message}`));
    };
    socket.on('connect', onConnect);
    socket.on('error', onError);
  });
}
