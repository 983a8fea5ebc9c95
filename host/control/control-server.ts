import { chmodSync, lstatSync, readFileSync, readdirSync, unlinkSync, type Stats } from 'node:fs';
import net from 'node:net';
import {
  ClientConnection,
  DEFAULT_LINGER_MS,
  DEFAULT_MAX_PENDING,
  DEFAULT_QUEUE_LIMITS,
  type CloseKind,
  type CloseReason,
  type ConnectionCounters,
  type ControlPeer,
  type QueueLimits,
  endWithLine,
} from './client-connection.js';
import { missingSocketDir, socketPathProblem } from '../daemon/socket-path.js';
import { CommandError, DEFAULT_MAX_LINE, encodeDropped, encodeError, encodeEvent, encodeResult, errorText, ignore, oneLine, type ControlRequest } from './protocol.js';

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
  /**
   * Clients connected at once, watchers included (default 256). listen() lowers it to what the
   * open-file limit leaves room for, with a warning; stats().limits has the cap in force. At the
   * cap, a new client takes the place of the longest-idle one that neither watches nor waits for
   * an answer; with no such client it is refused with one error line.
   */
  readonly maxClients?: number;
  /**
   * Of those, clients subscribed with `watch` (default half the client cap): watchers are never
   * idle-closed nor evicted, so this keeps the rest of the cap for commands (the admin gets in).
   */
  readonly maxWatchers?: number;
  /** A client that neither watches nor has a request in flight is closed after this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Bound on flushing the last line to a client being closed (default 10 s). */
  readonly lingerMs?: number;
}

export type DropKind = Exclude<CloseKind, 'peer-closed'> | 'refused';

export const DEFAULT_MAX_CLIENTS = 256;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

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
  /** `watch` requests refused at the watcher cap (the client stays connected). */
  readonly refusedWatches: number;
  /** The caps in force (after listen() fitted them to the open-file limit). */
  readonly limits: { readonly clients: number; readonly watchers: number; readonly idleTimeoutMs: number };
}

const WATCHING = 'watching';

/**
 * The daemon's control socket: newline-delimited JSON over a Unix socket. Command-agnostic: every
 * command but the built-in `watch` goes to the handler. Each client's requests are answered in
 * order, one at a time; clients never wait for each other. Connections are capped (idle ones
 * evicted first, so an admin always gets in), idle ones closed, and every client the server
 * closes is told why in a last line; refusals and drops are logged at most once a second per kind.
 */
export class ControlServer {
  readonly path: string;
  private readonly handler: ControlHandler;
  private readonly logFn: ControlLog | undefined;
  private readonly maxLine: number;
  private readonly maxQueue: QueueLimits;
  private readonly maxPending: number;
  private readonly probeTimeoutMs: number;
  private maxClients: number;
  private maxWatchers: number;
  private readonly watchersGiven: boolean;
  private readonly idleTimeoutMs: number;
  private readonly lingerMs: number;

  private state: 'new' | 'starting' | 'listening' | 'closed' = 'new';
  private server: net.Server | null = null;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** The socket file we created, so close() never removes someone else's. */
  private inode: { dev: number; ino: number } | null = null;

  private readonly clients = new Map<number, ClientConnection>();
  private readonly watchers = new Set<ClientConnection>();
  private readonly counters: ConnectionCounters = { droppedWrites: 0 };
  private readonly dropped: Record<DropKind, number> = { 'queue-full': 0, 'socket-error': 0, 'server-closing': 0, kicked: 0, idle: 0, evicted: 0, refused: 0 };
  /** Every accepted socket until it closes: clients, and closed ones still flushing their last line. */
  private readonly sockets = new Set<net.Socket>();
  private readonly bursts = new Map<string, BurstLog>();
  private sweeper: NodeJS.Timeout | null = null;
  private refusedWatches = 0;
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
    this.maxClients = opts.maxClients ?? DEFAULT_MAX_CLIENTS;
    this.watchersGiven = opts.maxWatchers !== undefined;
    this.maxWatchers = opts.maxWatchers ?? Math.floor(this.maxClients / 2);
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.lingerMs = opts.lingerMs ?? DEFAULT_LINGER_MS;
    if (!Number.isInteger(this.maxLine) || this.maxLine < 1) throw new RangeError(`maxLine must be a positive integer, not ${this.maxLine}`);
    for (const [k, v] of Object.entries(this.maxQueue)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`maxQueue.${k} must be a positive integer, not ${v}`);
    }
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) throw new RangeError(`maxPending must be a positive integer, not ${this.maxPending}`);
    for (const [k, v] of Object.entries({ maxClients: this.maxClients, idleTimeoutMs: this.idleTimeoutMs, lingerMs: this.lingerMs })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, not ${v}`);
    }
    if (!Number.isInteger(this.maxWatchers) || this.maxWatchers < 0 || this.maxWatchers >= this.maxClients) {
      throw new RangeError(`maxWatchers must be an integer from 0 to maxClients - 1 (${this.maxClients - 1}), not ${this.maxWatchers}`);
    }
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
    this.fitCapToFdLimit();
    this.sweeper = setInterval(this.sweep, Math.min(1000, Math.max(10, Math.floor(this.idleTimeoutMs / 4)))).unref();
  }

  /**
   * A client costs an fd: keep the cap below the soft open-file limit, with room for what else the
   * process opens (checker modules, worker threads, logs, device fds, `ss` pipes). Without the
   * clamp, idle connections can take every fd and then nobody, the admin included, gets in.
   */
  private fitCapToFdLimit(): void {
    const fds = openFiles();
    if (fds === null) return;
    const reserve = Math.max(64, Math.floor(fds.limit / 4));
    const room = fds.limit - fds.open - reserve;
    if (room >= this.maxClients) return;
    const wanted = this.maxClients;
    this.maxClients = Math.max(1, room);
    this.maxWatchers = this.watchersGiven ? Math.min(this.maxWatchers, this.maxClients - 1) : Math.floor(this.maxClients / 2);
    this.log('warn', `control socket: client cap lowered from ${wanted} to ${this.maxClients}: the open-file limit is ${fds.limit}, ${fds.open} are open and ${reserve} are kept for checkers, workers and logs`);
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
      refusedWatches: this.refusedWatches,
      limits: { clients: this.maxClients, watchers: this.maxWatchers, idleTimeoutMs: this.idleTimeoutMs },
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
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const client of [...this.clients.values()]) client.close({ kind: 'server-closing', text: 'shutting down' });
    // Sockets still flushing a last line to a peer that does not read would hold server.close().
    for (const socket of this.sockets) socket.destroy();
    for (const burst of this.bursts.values()) burst.flush();
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
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.clients.size >= this.maxClients && !this.evictOne()) {
      this.refuse(socket);
      return;
    }
    const client = new ClientConnection({
      id: ++this.nextId,
      socket,
      maxLine: this.maxLine,
      maxQueue: this.maxQueue,
      maxPending: this.maxPending,
      counters: this.counters,
      lingerMs: this.lingerMs,
      onRequest: this.answer,
      onClose: this.forget,
    });
    if (!client.closed) this.clients.set(client.id, client);
  };

  /** At the cap: close the longest-idle client that neither watches nor waits for an answer, if any. */
  private evictOne(): boolean {
    const now = performance.now();
    let victim: ClientConnection | null = null;
    let longest = -1;
    for (const client of this.clients.values()) {
      const idle = client.idleFor(now);
      if (idle !== null && idle > longest) {
        victim = client;
        longest = idle;
      }
    }
    if (victim === null) return false;
    victim.close({ kind: 'evicted', text: `closed for a new client: ${this.clients.size} clients connected, the cap is ${this.maxClients}; this one was idle ${seconds(longest)} s` });
    return true;
  }

  /** At the cap with every client busy or watching: one error line, then close; never a bare reset. */
  private refuse(socket: net.Socket): void {
    const text = `too many clients: ${this.clients.size} connected, the cap is ${this.maxClients}`;
    endWithLine(socket, encodeDropped('refused', text), this.lingerMs);
    this.disconnected++;
    this.dropped.refused++;
    this.burst('refused', 'warn').note(`client refused: ${text}`);
  }

  /** Close clients idle (nothing in flight, not watching) for idleTimeoutMs or longer. */
  private readonly sweep = (): void => {
    const now = performance.now();
    for (const client of this.clients.values()) {
      const idle = client.idleFor(now);
      if (idle !== null && idle >= this.idleTimeoutMs) {
        client.close({ kind: 'idle', text: `idle for ${seconds(idle)} s with no request in flight (the limit is ${seconds(this.idleTimeoutMs)} s)` });
      }
    }
  };

  private readonly onServerError = (err: Error): void => {
    this.log('error', `control socket ${this.path}: ${errorText(err)}`);
  };

  /** Answer one request with one encoded line. Never throws, never rejects. */
  private readonly answer = (request: ControlRequest, client: ClientConnection): string | Promise<string> => {
    if (request.command === 'watch') {
      if (!client.watching && this.watchers.size >= this.maxWatchers) {
        this.refusedWatches++;
        const text = `too many watchers: ${this.watchers.size} watching, the cap is ${this.maxWatchers}`;
        this.burst('watch-refused', 'warn').note(`client ${client.id}: watch refused: ${text}`);
        return encodeError(request.id, text);
      }
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
    const level = DROP_LOG_LEVEL[reason.kind];
    if (level !== null) this.burst(reason.kind, level).note(`client ${client.id} dropped: ${reason.text}`);
  };

  private burst(kind: string, level: ControlLogLevel): BurstLog {
    let b = this.bursts.get(kind);
    if (b === undefined) {
      b = new BurstLog((message) => this.log(level, message), 1000);
      this.bursts.set(kind, b);
    }
    return b;
  }

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

/** How a drop is logged (null: not at all; the server closing says so itself). */
const DROP_LOG_LEVEL: Readonly<Record<Exclude<CloseKind, 'peer-closed'>, ControlLogLevel | null>> = {
  'queue-full': 'warn',
  kicked: 'warn',
  evicted: 'warn',
  idle: 'info',
  'socket-error': 'debug',
  'server-closing': null,
};

/**
 * At most one log line per second for one kind of event, however many come: the first at once,
 * then, each second while they keep coming, how many more there were and the last of them. A flood
 * of 20,000 connections costs the log a line a second, not 20,000.
 */
class BurstLog {
  private more = 0;
  private last = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly emit: (message: string) => void,
    private readonly windowMs: number,
  ) {}

  note(message: string): void {
    if (this.timer === null) {
      this.emit(message);
      this.open();
    } else {
      this.more++;
      this.last = message;
    }
  }

  /** Log what is still counted and stop. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.report();
  }

  private open(): void {
    this.timer = setTimeout(this.tick, this.windowMs).unref();
  }

  private readonly tick = (): void => {
    this.timer = null;
    if (this.report()) this.open();
  };

  private report(): boolean {
    if (this.more === 0) return false;
    this.emit(`${this.more} more like this in the last ${seconds(this.windowMs)} s, the last: ${this.last}`);
    this.more = 0;
    return true;
  }
}

/** Milliseconds as seconds for a log line: `60`, `1.5`, `0.2`. */
function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** The soft open-file limit and the fds open now, from /proc; null where there is no /proc. */
function openFiles(): { limit: number; open: number } | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return null;
    return { limit: Number(m[1]), open: readdirSync('/proc/self/fd').length };
  } catch {
    return null;
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
