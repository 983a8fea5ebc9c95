import net from 'node:net';
import { missingSocketDir, socketPathProblem } from '../daemon/socket-path.js';
import { LineReader, encodeRequest, ignore, parseServerLine } from './protocol.js';

/** The server refused a request: the message is the server's error text, exactly. */
export class ControlRequestError extends Error {
  override readonly name = 'ControlRequestError';
}

/**
 * The server closed the connection and said why in its last line (queue full, idle, refused, ...):
 * `kind` is its `dropped` member, the message `dropped by the daemon: <its reason>`.
 */
export class ControlDroppedError extends Error {
  override readonly name = 'ControlDroppedError';
  constructor(
    readonly kind: string,
    readonly reason: string,
  ) {
    super(`dropped by the daemon: ${reason}`);
  }
}

/** Connecting failed; `code` is the socket error code when there was one (ENOENT, ECONNREFUSED, ...). */
export class ControlConnectError extends Error {
  override readonly name: string = 'ControlConnectError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface ConnectOptions {
  /** Give up connecting after this long (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Abort the connection attempt. */
  readonly signal?: AbortSignal;
  /** Events (`{"event": …}` lines) after this client sent `watch`. */
  readonly onEvent?: (event: unknown) => void;
  /** Once, when the connection ends: `null` after close(), else why. */
  readonly onClose?: (error: Error | null) => void;
  /** Longest response line accepted (default 64 MiB). */
  readonly maxLine?: number;
}

export interface RequestOptions {
  /** Reject if no answer came within this long (default: wait). */
  readonly timeoutMs?: number;
}

interface Pending {
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}


/** A client of the control socket: requests matched to responses by id, events to `onEvent`. */
export class ControlClient {
  private readonly pending = new Map<number, Pending>();
  /** Ids sent and not yet answered, oldest first (timed-out ones too, until their answer comes). */
  private order: number[] = [];
  private nextId = 0;
  private ended = false;
  private readonly reader: LineReader;
  private readonly closed: Promise<void>;
  private readonly onEvent: ((event: unknown) => void) | undefined;
  private readonly onClose: ((error: Error | null) => void) | undefined;

  /** Connect to the control socket at `path`. */
  static connect(path: string, opts: ConnectOptions = {}): Promise<ControlClient> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const signal = opts.signal;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new ControlConnectError(`connecting to ${path} aborted`, 'ABORT_ERR'));
        return;
      }
      const problem = socketPathProblem(path);
      if (problem !== null) {
        reject(new ControlConnectError(problem, 'EINVAL'));
        return;
      }
      const dir = missingSocketDir(path);
      if (dir !== null) {
        reject(new ControlConnectError(`cannot connect to ${path}: directory ${dir} does not exist`, 'ENOENT'));
        return;
      }
      const socket = net.createConnection(path);
      let settled = false;
      const timer = setTimeout(() => fail(new ControlConnectError(`timed out connecting to ${path} after ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
      const onAbort = (): void => fail(new ControlConnectError(`connecting to ${path} aborted`, 'ABORT_ERR'));
      const onError = (err: NodeJS.ErrnoException): void => fail(new ControlConnectError(`cannot connect to ${path}: ${err.code ?? err.message}`, err.code));
      const onConnect = (): void => {
        if (settled) return;
        cleanup();
        resolve(new ControlClient(socket, opts));
      };
      function cleanup(): void {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('connect', onConnect);
        socket.off('error', onError);
      }
      function fail(err: Error): void {
        if (settled) return;
        cleanup();
        socket.on('error', ignore);
        socket.destroy();
        reject(err);
      }
      socket.on('connect', onConnect);
      socket.on('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private constructor(
    private readonly socket: net.Socket,
    opts: ConnectOptions,
  ) {
    this.onEvent = opts.onEvent;
    this.onClose = opts.onClose;
    this.reader = new LineReader(
      opts.maxLine ?? 64 * 1024 * 1024,
      (line) => this.onLine(line),
      () => this.shutdown(new Error('control socket: response line too long')),
    );
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
  }

  /** True once the connection has ended (or close() was called). */
  get isClosed(): boolean {
    return this.ended;
  }

  /**
   * Send `command` with named `args`; resolves with the result, rejects with a
   * `ControlRequestError` carrying the server's error text, or an Error if the connection ends first.
   */
  request(command: string, args: Readonly<Record<string, unknown>> = {}, opts: RequestOptions = {}): Promise<unknown> {
    if (this.ended) return Promise.reject(new Error('control connection is closed'));
    const id = ++this.nextId;
    let line: string;
    try {
      line = encodeRequest(id, command, args);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, timer: null };
      if (opts.timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          p.timer = null;
          this.pending.delete(id);
          reject(new Error(`no answer to '${command}' within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      }
      this.pending.set(id, p);
      this.order.push(id);
      this.socket.write(line);
    });
  }

  /** Close the connection; pending requests reject. Resolves once the socket is closed. */
  close(): Promise<void> {
    this.shutdown(null);
    return this.closed;
  }

  private readonly onData = (chunk: Buffer): void => this.reader.feed(chunk);
  private readonly onEnd = (): void => {
    this.reader.end();
    this.shutdown(new Error('control socket closed by the server'));
  };
  private readonly onError = (err: NodeJS.ErrnoException): void => this.shutdown(new Error(`control socket: ${err.code ?? err.message}`));
  private readonly onSocketClose = (): void => this.shutdown(new Error('control socket closed'));

  private onLine(line: Buffer): void {
    if (this.ended) return;
    const msg = parseServerLine(line);
    if (msg === null) return;
    if (msg.kind === 'event') {
      this.onEvent?.(msg.event);
      return;
    }
    if (msg.kind === 'dropped') {
      this.shutdown(new ControlDroppedError(msg.dropped, msg.error));
      return;
    }
    // Answers come in request order, so an answer the server could not give an id (our line was
    // too long for it, say) belongs to the oldest request still unanswered.
    const id = msg.id ?? this.order[0];
    if (typeof id !== 'number') return;
    const at = this.order.indexOf(id);
    if (at === 0) this.order.shift();
    else if (at > 0) this.order.splice(at, 1);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (msg.kind === 'result') p.resolve(msg.result);
    else p.reject(new ControlRequestError(msg.error));
  }

  /** The one way out: listeners off, socket destroyed, pending requests rejected and their timers cleared. */
  private shutdown(error: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onSocketClose);
    s.on('error', ignore);
    s.destroy();
    this.reader.reset();
    const reason = error ?? new Error('control connection closed');
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(reason);
    }
    this.pending.clear();
    this.order = [];
    this.onClose?.(error);
  }
}

export type WatchState = 'connecting' | 'connected' | 'waiting' | 'stopped';

/** What onState reports: `retrying` after every failed attempt (the first included), with the delay. */
export type WatchStateChange = 'connected' | 'disconnected' | 'retrying';

export interface WatchRetry {
  /** Connection attempts made so far. */
  readonly attempts: number;
  /** Until the next attempt. */
  readonly delayMs: number;
  /** The backoff's ceiling: the steady retry interval. */
  readonly maxDelayMs: number;
}

export interface WatchOptions {
  /** When the daemon goes away (or is not there yet), keep trying (default false). */
  readonly reconnect?: boolean;
  /** Reconnect delay: doubles from min up to max (default [100, 5000] ms). */
  readonly backoffMs?: readonly [number, number];
  /** Per connection attempt, and for the snapshot's answer (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /**
   * Mark what may have been missed and replay the present (default false): after each `watch` is
   * acknowledged, ask pathcheckd's `show paths` and emit a `snapshot` event before any live event
   * (those that arrive meanwhile follow it, in order); after a reconnect, or when the daemon's
   * `seq` skips or goes back, emit a `gap` event first. Both are made here, not by the daemon.
   */
  readonly resync?: boolean;
  /**
   * `connected` once `watch` is acknowledged; `disconnected` when such a connection is lost;
   * `retrying` after each failed attempt or loss, when another attempt is scheduled.
   */
  readonly onState?: (state: WatchStateChange, error?: Error, retry?: WatchRetry) => void;
}

/** Emitted with `resync`: events between `after` and what comes next may not have been seen. */
export interface WatchGapEvent {
  readonly type: 'gap';
  readonly time: string;
  /** The last daemon `seq` seen before the gap (null: none yet). */
  readonly after: number | null;
  /** `reconnected`; `seq-skipped` (then `next` and `missed`); `seq-reset` (a new daemon, say). */
  readonly reason: 'reconnected' | 'seq-skipped' | 'seq-reset';
  readonly next?: number;
  readonly missed?: number;
}

/** Emitted with `resync` after each `watch`: every path's state, as of daemon event `through`. */
export interface WatchSnapshotEvent {
  readonly type: 'snapshot';
  readonly time: string;
  /** The last `seq` that arrived before the answer: events up to it are reflected in `paths`. */
  readonly through: number | null;
  /** `show paths` rows, as the daemon answered them. */
  readonly paths: unknown;
}

export type WatchEnd = 'stopped' | 'disconnected';

export interface WatchHandle {
  /** Stop watching: clears the reconnect timer, aborts a connect in progress, closes the socket. */
  stop(): Promise<void>;
  /** Where the watch is: connecting, connected, waiting to reconnect, stopped. */
  readonly state: WatchState;
  /** Connection attempts made so far. */
  readonly attempts: number;
  /**
   * Settles when the watch ends: `stopped` after stop(), `disconnected` when the connection is lost
   * without `reconnect`. Rejects when, without `reconnect`, the first connection (or `watch`) fails.
   */
  readonly done: Promise<WatchEnd>;
}

/**
 * Subscribe to the daemon's events at `path`. With `reconnect`, a lost (or not yet possible)
 * connection is retried with exponential backoff and `watch` is sent again.
 *
 * Seed 2 (socket_reconnect_timeout): there is at most one reconnect timer, held in one field; it is
 * set only when none is pending and the watch is not stopped, cleared by stop(), and its callback
 * forgets it before connecting. A connection attempt carries a token; callbacks of an attempt that
 * is no longer current (stopped, or superseded) do nothing.
 */
export function watch(path: string, onEvent: (event: unknown) => void, opts: WatchOptions = {}): WatchHandle {
  const session = new WatchSession(path, onEvent, opts);
  session.begin();
  return session;
}

function seqOf(event: unknown): number | null {
  const seq = (event as { seq?: unknown } | null)?.seq;
  return Number.isSafeInteger(seq) ? (seq as number) : null;
}

class WatchSession implements WatchHandle {
  state: WatchState = 'connecting';
  attempts = 0;
  readonly done: Promise<WatchEnd>;

  private readonly reconnect: boolean;
  private readonly resync: boolean;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly connectTimeoutMs: number;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private current: object | null = null;
  private abort: AbortController | null = null;
  private client: ControlClient | null = null;
  /** A connection was acknowledged before: the next one follows a gap. */
  private wasConnected = false;
  /** The last daemon seq delivered, over every connection. */
  private lastSeq: number | null = null;
  private resolveDone!: (end: WatchEnd) => void;
  private rejectDone!: (err: Error) => void;

  constructor(
    private readonly path: string,
    private readonly onEvent: (event: unknown) => void,
    private readonly opts: WatchOptions,
  ) {
    this.reconnect = opts.reconnect ?? false;
    this.resync = opts.resync ?? false;
    const [min, max] = opts.backoffMs ?? [100, 5000];
    if (!(min > 0) || !(max >= min)) throw new RangeError(`backoffMs must be [min, max] with 0 < min <= max, not [${min}, ${max}]`);
    this.minDelay = min;
    this.maxDelay = max;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.done = new Promise<WatchEnd>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A watch nobody awaits must not turn a failed first connection into an unhandled rejection.
    this.done.catch(ignore);
  }

  begin(): void {
    this.attempt();
  }

  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    this.state = 'stopped';
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.current = null;
    this.abort?.abort();
    this.abort = null;
    const client = this.client;
    this.client = null;
    this.resolveDone('stopped');
    return client ? client.close() : Promise.resolve();
  }

  private attempt(): void {
    const token = {};
    const abort = new AbortController();
    this.current = token;
    this.abort = abort;
    this.state = 'connecting';
    this.attempts++;
    let acknowledged = false;
    let client: ControlClient | null = null;
    /** With resync: live events that came before the snapshot's answer, delivered after it. */
    let held: unknown[] | null = this.resync ? [] : null;
    /** The last seq on this connection (a new daemon starts again at 1). */
    let connectionSeq: number | null = null;

    const deliver = (event: unknown): void => {
      const seq = seqOf(event);
      if (seq !== null) {
        if (this.resync && connectionSeq !== null && seq !== connectionSeq + 1) {
          const skipped = seq > connectionSeq + 1;
          this.emitGap(skipped ? { reason: 'seq-skipped', next: seq, missed: seq - connectionSeq - 1 } : { reason: 'seq-reset', next: seq });
        }
        connectionSeq = seq;
        this.lastSeq = seq;
      }
      this.onEvent(event);
    };

    const lost = (error: Error): void => {
      if (this.current !== token) return; // stopped, or already handled
      this.current = null;
      this.abort = null;
      this.client = null;
      void client?.close();
      if (acknowledged) this.opts.onState?.('disconnected', error);
      this.afterLoss(error, acknowledged);
    };

    ControlClient.connect(this.path, {
      timeoutMs: this.connectTimeoutMs,
      signal: abort.signal,
      onEvent: (event) => {
        if (this.current !== token) return;
        if (held !== null) held.push(event);
        else deliver(event);
      },
      onClose: (error) => lost(error ?? new Error('control connection closed')),
    })
      .then((c) => {
        client = c;
        if (this.current !== token) {
          void c.close();
          return;
        }
        this.client = c;
        // Subscribe first, then ask: the daemon answers in order, so every event not in the
        // snapshot comes after `watch` is acknowledged, on this connection.
        const watching = c.request('watch');
        const snapshot = this.resync ? c.request('show paths', {}, { timeoutMs: this.connectTimeoutMs }) : null;
        snapshot?.catch(ignore); // a failed `watch` is the error reported
        return watching.then(async () => {
          if (this.current !== token) return;
          acknowledged = true;
          this.failures = 0;
          this.state = 'connected';
          this.opts.onState?.('connected');
          if (snapshot === null) return;
          const paths = await snapshot;
          if (this.current !== token) return;
          const early = held ?? [];
          held = null;
          if (this.wasConnected) this.emitGap({ reason: 'reconnected' });
          this.wasConnected = true;
          const through = early.length > 0 ? seqOf(early[early.length - 1]) : null;
          this.onEvent({ type: 'snapshot', time: new Date().toISOString(), through, paths } satisfies WatchSnapshotEvent);
          for (const e of early) deliver(e);
        });
      })
      .catch((err: unknown) => lost(err instanceof Error ? err : new Error(String(err))));
  }

  private emitGap(what: Pick<WatchGapEvent, 'reason' | 'next' | 'missed'>): void {
    this.onEvent({ type: 'gap', time: new Date().toISOString(), after: this.lastSeq, ...what } satisfies WatchGapEvent);
  }

  private afterLoss(error: Error, wasConnected: boolean): void {
    if (this.state === 'stopped') return;
    // A path that can never be a socket (empty, too long) is not worth retrying.
    if (!this.reconnect || (error instanceof ControlConnectError && error.code === 'EINVAL')) {
      this.state = 'stopped';
      if (wasConnected) this.resolveDone('disconnected');
      else this.rejectDone(error);
      return;
    }
    this.scheduleReconnect(error);
  }

  private scheduleReconnect(error: Error): void {
    if (this.state === 'stopped' || this.timer !== null) return; // never two timers
    const delay = Math.min(this.maxDelay, this.minDelay * 2 ** Math.min(this.failures, 30));
    this.failures++;
    this.state = 'waiting';
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'stopped') this.attempt();
    }, delay);
    this.opts.onState?.('retrying', error, { attempts: this.attempts, delayMs: delay, maxDelayMs: this.maxDelay });
  }
}
