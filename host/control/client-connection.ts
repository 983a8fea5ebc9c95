import type { Socket } from 'node:net';
import { peerLookup, type PeerCredentials } from './peer-credentials.js';
import { DEFAULT_MAX_LINE, LineReader, encodeDropped, encodeError, errorText, ignore, overlongLineError, parseRequestLine, type ControlRequest, type ParsedLine } from './protocol.js';

/**
 * One connected control client: reads request lines, answers them in order, and writes through a
 * bounded outgoing queue.
 *
 * Seed 2 (QEMU char-socket) rules, and where they live:
 * - A write and this client's disconnect are serialized. Every socket.write goes through `write()`,
 *   which marks `writing`; `close()` called while a write is in progress only records the reason,
 *   and `write()` performs it right after the socket call returns. The socket is never destroyed
 *   from inside a write.
 * - After a disconnect has been requested, writes are dropped and counted (`droppedWrites`), never
 *   thrown: a handler that answers late, or an event published to a client that just left, is
 *   harmless.
 * - Every per-connection resource is released by the one path `release()`, run once: the socket
 *   listeners this object added, the socket itself, the line buffer, the request inbox, the
 *   outgoing queue, and (through `onClose`) the server's record of the client and its watch
 *   subscription. This object starts no timer of its own while connected; see "Last words".
 *
 * EOF from the client (it shut down its sending side) ends the session once every request it sent
 * is answered and flushed: `echo '{"command":"show paths"}' | socat - UNIX-CONNECT:…` works. This
 * holds for watchers too; a client that wants events keeps its side open.
 *
 * Last words: a client the server closes (queue full, idle, evicted, kicked, server closing) is
 * told why in one final line (protocol.ts encodeDropped), written after whatever the socket holds
 * already: one short line beyond the queue bound. The connection is released at once; only its
 * socket lingers until that line is flushed (a reader that never reads: `lingerMs` at most).
 */

export type CloseKind = 'peer-closed' | 'queue-full' | 'socket-error' | 'server-closing' | 'kicked' | 'idle' | 'evicted';

export interface CloseReason {
  readonly kind: CloseKind;
  /** One line, for the log and the client: `outgoing queue over 1024 messages (…)`. */
  readonly text: string;
}

/** The connection ended from the client's side: there is nobody to tell why. */
const SILENT: ReadonlySet<CloseKind> = new Set(['peer-closed', 'socket-error']);

/** How long a closed client's socket may take to flush its last line (default 10 s). */
export const DEFAULT_LINGER_MS = 10_000;

export interface QueueLimits {
  /** Messages waiting for the socket, at most (default 1024). */
  readonly messages: number;
  /** Bytes waiting for the socket, at most (default 4 MiB). */
  readonly bytes: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = { messages: 1024, bytes: 4 * 1024 * 1024 };
/** Requests read but not yet answered before the connection stops reading (backpressure). */
export const DEFAULT_MAX_PENDING = 64;

/** Counters shared by every connection of one server; they outlive the connections. */
export interface ConnectionCounters {
  droppedWrites: number;
}

/** What a command handler may know about, and do to, the client that sent the request. */
export interface ControlPeer {
  readonly id: number;
  readonly watching: boolean;
  /** True once a disconnect has been requested or has happened. */
  readonly closed: boolean;
  /** Disconnect this client (after any write in progress); it is told `reason`. */
  disconnect(reason: string): void;
  /** The process at the other end (looked up once, on first call), or null when that cannot be found. */
  peer(): Promise<PeerCredentials | null>;
}

export interface ClientConnectionOptions {
  readonly id: number;
  readonly socket: Socket;
  readonly maxLine?: number;
  readonly maxQueue?: Partial<QueueLimits>;
  readonly maxPending?: number;
  readonly counters?: ConnectionCounters;
  /** Bound on flushing the last line to a client that is being closed (default 10 s). */
  readonly lingerMs?: number;
  /** Answer one request with one encoded response line; called one request at a time, in order. */
  readonly onRequest: (request: ControlRequest, client: ClientConnection) => string | Promise<string>;
  /** Called exactly once, after everything has been released. */
  readonly onClose?: (client: ClientConnection, reason: CloseReason) => void;
}

/** Joined into one socket write when the queue is flushed after 'drain'. */
const FLUSH_BATCH_BYTES = 64 * 1024;

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** FIFO of encoded lines not yet handed to the socket, with a byte count. */
class OutgoingQueue {
  private lines: string[] = [];
  private sizes: number[] = [];
  private head = 0;
  bytes = 0;

  get count(): number {
    return this.lines.length - this.head;
  }

  push(line: string, bytes: number): void {
    this.lines.push(line);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Take queued lines, joined, up to about `maxBytes` (at least one line). */
  take(maxBytes: number): string {
    let out = '';
    let taken = 0;
    while (this.head < this.lines.length && (taken === 0 || taken + this.sizes[this.head]! <= maxBytes)) {
      out += this.lines[this.head]!;
      taken += this.sizes[this.head]!;
      this.head++;
    }
    this.bytes -= taken;
    if (this.head === this.lines.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  clear(): void {
    this.lines = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }
}

export class ClientConnection implements ControlPeer {
  readonly id: number;
  /** Set by the server when the client sent `watch`. */
  watching = false;
  /** Writes dropped because they came after this client's disconnect. */
  droppedWrites = 0;

  private readonly socket: Socket;
  private readonly limits: QueueLimits;
  private readonly maxPending: number;
  private readonly counters: ConnectionCounters;
  private readonly onRequest: ClientConnectionOptions['onRequest'];
  private readonly onClose: ClientConnectionOptions['onClose'];
  private readonly reader: LineReader;
  private readonly queue = new OutgoingQueue();
  private inbox: ParsedLine[] = [];
  private readonly lingerMs: number;
  private peerFound: Promise<PeerCredentials | null> | null = null;
  /** When this client last sent a request or got an answer (performance.now()). */
  private lastActive = performance.now();

  /** Inside socket.write: a disconnect waits until it returns. */
  private writing = false;
  /** socket.write returned false; the queue holds what comes next until 'drain'. */
  private blocked = false;
  /** A handler is working on the request at the head of the line. */
  private busy = false;
  /** Reading paused because too many requests wait for answers. */
  private paused = false;
  /** The client sent EOF: answer what it asked, then end. */
  private inputEnded = false;
  /** Our side has been ended after the last answer; the socket's 'close' follows. */
  private ending = false;
  /** First disconnect reason; set means no more writes. */
  private closeReason: CloseReason | null = null;
  private released = false;

  // Listeners as fields, so release() removes exactly what the constructor added.
  private readonly onData = (chunk: Buffer): void => {
    this.reader.feed(chunk);
    this.pump();
  };
  private readonly onEnd = (): void => {
    this.inputEnded = true;
    this.reader.end();
    this.pump();
  };
  private readonly onDrain = (): void => {
    this.blocked = false;
    this.flush();
  };
  private readonly onError = (err: Error): void => {
    this.close({ kind: 'socket-error', text: `socket error: ${(err as NodeJS.ErrnoException).code ?? err.message}` });
  };
  private readonly onSocketClose = (): void => {
    this.close({ kind: 'peer-closed', text: 'connection closed' });
  };

  constructor(opts: ClientConnectionOptions) {
    this.id = opts.id;
    this.socket = opts.socket;
    this.limits = { ...DEFAULT_QUEUE_LIMITS, ...opts.maxQueue };
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.counters = opts.counters ?? { droppedWrites: 0 };
    this.onRequest = opts.onRequest;
    this.onClose = opts.onClose;
    this.lingerMs = opts.lingerMs ?? DEFAULT_LINGER_MS;
    const maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
    this.reader = new LineReader(
      maxLine,
      (line) => this.accept(parseRequestLine(line)),
      () => this.accept({ ok: false, id: null, error: overlongLineError(maxLine) }),
    );
    const s = this.socket;
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('drain', this.onDrain);
    s.on('error', this.onError);
    s.on('close', this.onSocketClose);
    if (s.destroyed) this.close({ kind: 'peer-closed', text: 'connection closed' });
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Messages and bytes waiting in the outgoing queue. */
  get queued(): { messages: number; bytes: number } {
    return { messages: this.queue.count, bytes: this.queue.bytes };
  }

  disconnect(reason: string): void {
    this.close({ kind: 'kicked', text: reason });
  }

  peer(): Promise<PeerCredentials | null> {
    this.peerFound ??= peerLookup.lookup(this.socket);
    return this.peerFound;
  }

  /**
   * How long this client has had nothing in flight, in ms at `now` (performance.now()); null while
   * it cannot be called idle: it watches, a request waits or is being answered, or it is closing.
   */
  idleFor(now: number): number | null {
    if (this.watching || this.busy || this.inbox.length > 0 || this.ending || this.closeReason !== null) return null;
    return now - this.lastActive;
  }

  /**
   * Queue one encoded line (ending in a newline) for this client. Returns false if it was not
   * accepted: the client is disconnected (the write is dropped and counted), or this line
   * overflowed the queue (the client is dropped with the reason).
   */
  send(line: string, bytes?: number): boolean {
    if (this.closeReason !== null || this.ending) {
      this.droppedWrites++;
      this.counters.droppedWrites++;
      return false;
    }
    if (!this.blocked && !this.writing && this.queue.count === 0) {
      this.write(line);
      return true;
    }
    const size = bytes ?? Buffer.byteLength(line);
    if (this.queue.count + 1 > this.limits.messages) {
      this.close({ kind: 'queue-full', text: `outgoing queue over ${this.limits.messages} messages (a reader that does not keep up)` });
      return false;
    }
    if (this.queue.bytes + size > this.limits.bytes) {
      this.close({ kind: 'queue-full', text: `outgoing queue over ${this.limits.bytes} bytes (a reader that does not keep up)` });
      return false;
    }
    this.queue.push(line, size);
    return true;
  }

  /**
   * Disconnect. Idempotent; the first reason wins. Requested during a write, it takes effect as
   * soon as that write returns.
   */
  close(reason: CloseReason): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    if (!this.writing) this.release();
  }

  /** The only place that calls socket.write. */
  private write(data: string): void {
    if (this.socket.destroyed) {
      // The socket died under us (its 'error'/'close' is on its way): this write is after the disconnect.
      this.close({ kind: 'socket-error', text: 'socket error: destroyed' });
      this.droppedWrites++;
      this.counters.droppedWrites++;
      return;
    }
    this.writing = true;
    try {
      if (!this.socket.write(data)) this.blocked = true;
    } catch (err) {
      this.closeReason ??= { kind: 'socket-error', text: `socket error: ${errorText(err)}` };
    } finally {
      this.writing = false;
    }
    // A disconnect requested while the write was in progress takes effect now.
    if (this.closeReason !== null) this.release();
  }

  private flush(): void {
    while (!this.blocked && this.queue.count > 0 && this.closeReason === null) {
      this.write(this.queue.take(FLUSH_BATCH_BYTES));
    }
    this.maybeEnd();
  }

  private accept(parsed: ParsedLine | null): void {
    if (parsed === null || this.closeReason !== null) return;
    this.lastActive = performance.now();
    this.inbox.push(parsed);
    if (!this.paused && this.inbox.length >= this.maxPending) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Answer queued requests in order, one handler at a time. */
  private pump(): void {
    while (!this.busy && this.inbox.length > 0 && this.closeReason === null) {
      const item = this.inbox.shift()!;
      if (!item.ok) {
        this.send(encodeError(item.id, item.error));
        continue;
      }
      let out: string | Promise<string>;
      try {
        out = this.onRequest(item.request, this);
      } catch (err) {
        out = encodeError(item.request.id, `internal error: ${errorText(err)}`);
      }
      if (isThenable(out)) {
        this.busy = true;
        out.then(
          (line) => this.answered(line),
          (err: unknown) => this.answered(encodeError(item.request.id, `internal error: ${errorText(err)}`)),
        );
        break;
      }
      this.send(out);
    }
    if (this.paused && this.closeReason === null && this.inbox.length < Math.max(1, this.maxPending >> 1)) {
      this.paused = false;
      this.socket.resume();
    }
    this.maybeEnd();
  }

  private answered(line: string): void {
    this.busy = false;
    this.lastActive = performance.now();
    this.send(line); // after a disconnect: dropped and counted
    this.pump();
  }

  /** After the client's EOF, once every request is answered and flushed, end our side too. */
  private maybeEnd(): void {
    if (!this.inputEnded || this.ending || this.closeReason !== null) return;
    if (this.busy || this.inbox.length > 0 || this.queue.count > 0 || this.blocked) return;
    this.ending = true;
    this.socket.end(); // the socket's 'close' follows, and with it close()
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('drain', this.onDrain);
    s.off('error', this.onError);
    s.off('close', this.onSocketClose);
    const reason = this.closeReason!;
    if (SILENT.has(reason.kind)) {
      s.on('error', ignore);
      s.destroy();
    } else {
      endWithLine(s, encodeDropped(reason.kind, reason.text), this.lingerMs);
    }
    this.reader.reset();
    this.queue.clear();
    this.inbox = [];
    this.watching = false;
    this.onClose?.(this, reason);
  }
}

/**
 * Write `line` as the last thing on `socket`, end it, and destroy it once that is flushed, or after
 * `lingerMs` if the peer does not read (then the line is lost). What the peer sends meanwhile is
 * read and discarded: unread input at close would turn the peer's EOF into ECONNRESET.
 */
export function endWithLine(socket: Socket, line: string, lingerMs: number): void {
  socket.on('error', ignore);
  if (socket.destroyed || socket.writableEnded) {
    socket.destroy(); // ended after the client's EOF already: nothing more can be written
    return;
  }
  const timer = setTimeout(() => socket.destroy(), lingerMs).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('finish', () => socket.destroy());
  socket.resume();
  socket.end(line);
}
