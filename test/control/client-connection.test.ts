import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClientConnection, type CloseReason } from '../../host/control/client-connection.js';

/** Just enough of a net.Socket to drive a ClientConnection by hand. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  inWrite = false;
  destroyedInsideWrite = false;
  ended = false;
  paused = false;
  writes: string[] = [];
  /** What socket.write returns (false = backpressure). */
  accept = true;
  /** Runs inside write(), as a re-entrant caller would. */
  duringWrite: ((data: string) => void) | null = null;

  write(data: string): boolean {
    this.inWrite = true;
    try {
      this.duringWrite?.(data);
      this.writes.push(data);
    } finally {
      this.inWrite = false;
    }
    return this.accept;
  }
  destroy(): this {
    if (this.inWrite) this.destroyedInsideWrite = true;
    this.destroyed = true;
    return this;
  }
  get writableEnded(): boolean {
    return this.ended;
  }
  /** The last words: recorded as a write; 'finish' is the test's to emit. */
  end(data?: string): this {
    if (data !== undefined) this.writes.push(data);
    this.ended = true;
    return this;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return pred();
}

function connection(socket: FakeSocket, opts: { messages?: number; bytes?: number; onRequest?: () => string | Promise<string>; maxPending?: number; lingerMs?: number } = {}) {
  const closes: CloseReason[] = [];
  const counters = { droppedWrites: 0 };
  const conn = new ClientConnection({
    id: 7,
    socket: socket as unknown as Socket,
    maxQueue: { messages: opts.messages ?? 1024, bytes: opts.bytes ?? 4 * 1024 * 1024 },
    counters,
    maxPending: opts.maxPending ?? 64,
    lingerMs: opts.lingerMs ?? 10_000,
    onRequest: opts.onRequest ?? (() => '{"id":null,"ok":true,"result":null}\n'),
    onClose: (_c, reason) => closes.push(reason),
  });
  return { conn, closes, counters };
}

describe('ClientConnection: writes and disconnect are serialized (seed 2)', () => {
  it('a disconnect requested inside a write takes effect right after it, never inside it', () => {
    const socket = new FakeSocket();
    const { conn, closes, counters } = connection(socket);
    socket.duringWrite = () => {
      // The read side (or anyone) disconnects the client while a write is in progress.
      conn.close({ kind: 'socket-error', text: 'socket error: EPIPE' });
      expect(socket.destroyed).toBe(false);
      expect(closes).toEqual([]);
      // A write issued now, from inside the write, is dropped and counted; nothing throws.
      expect(conn.send('{"event":2}\n')).toBe(false);
    };
    expect(conn.send('{"event":1}\n')).toBe(true);
    expect(socket.destroyedInsideWrite).toBe(false);
    expect(socket.destroyed).toBe(true);
    expect(closes).toEqual([{ kind: 'socket-error', text: 'socket error: EPIPE' }]);
    expect(socket.writes).toEqual(['{"event":1}\n']);
    // After the disconnect: dropped and counted, never thrown.
    expect(conn.send('{"event":3}\n')).toBe(false);
    expect(conn.droppedWrites).toBe(2);
    expect(counters.droppedWrites).toBe(2);
  });

  it('close is idempotent, first reason wins, and releases every listener it added', () => {
    const socket = new FakeSocket();
    const before = socket.eventNames().length;
    const { conn, closes } = connection(socket);
    expect(socket.listenerCount('data')).toBe(1);
    conn.close({ kind: 'queue-full', text: 'outgoing queue over 1 messages' });
    conn.close({ kind: 'peer-closed', text: 'connection closed' });
    conn.disconnect('again');
    expect(closes).toHaveLength(1);
    expect(closes[0]!.kind).toBe('queue-full');
    for (const ev of ['data', 'end', 'drain']) expect(socket.listenerCount(ev)).toBe(0);
    // The client is told why; the socket goes once that line is flushed ('finish'), or it closes.
    expect(socket.writes).toEqual(['{"id":null,"ok":false,"dropped":"queue-full","error":"outgoing queue over 1 messages"}\n']);
    expect(socket.destroyed).toBe(false);
    socket.emit('finish');
    expect(socket.destroyed).toBe(true);
    socket.emit('close');
    for (const ev of ['data', 'end', 'drain', 'close', 'finish']) expect(socket.listenerCount(ev)).toBe(0);
    // Only the sink for late errors of the destroyed socket remains.
    expect(socket.listenerCount('error')).toBe(1);
    expect(before).toBe(0);
    expect(conn.closed).toBe(true);
    // A late error from the destroyed socket is swallowed.
    expect(() => socket.emit('error', new Error('EPIPE'))).not.toThrow();
  });

  it('backpressure: queued after write() returns false, flushed on drain; overflow drops the client with the reason', () => {
    const socket = new FakeSocket();
    const { conn, closes } = connection(socket, { messages: 3 });
    socket.accept = false;
    expect(conn.send('a\n')).toBe(true); // written; the socket is now full
    socket.accept = true;
    expect(conn.send('b\n')).toBe(true);
    expect(conn.send('c\n')).toBe(true);
    expect(conn.queued).toEqual({ messages: 2, bytes: 4 });
    socket.emit('drain');
    expect(socket.writes).toEqual(['a\n', 'b\nc\n']);
    expect(conn.queued.messages).toBe(0);
    socket.accept = false;
    conn.send('d\n');
    for (const l of ['e\n', 'f\n', 'g\n']) expect(conn.send(l)).toBe(true);
    expect(conn.send('h\n')).toBe(false);
    const why = 'outgoing queue over 3 messages (a reader that does not keep up)';
    expect(closes).toEqual([{ kind: 'queue-full', text: why }]);
    expect(conn.queued).toEqual({ messages: 0, bytes: 0 });
    // What the socket took already, then one line past the bound saying why, then the end.
    expect(socket.writes.slice(2)).toEqual(['d\n', `{"id":null,"ok":false,"dropped":"queue-full","error":"${why}"}\n`]);
    expect(socket.ended).toBe(true);
    socket.emit('finish');
    expect(socket.destroyed).toBe(true);
  });

  it('the byte bound drops too', () => {
    const socket = new FakeSocket();
    const { conn, closes } = connection(socket, { bytes: 10 });
    socket.accept = false;
    conn.send('x\n');
    expect(conn.send('123456789\n')).toBe(true);
    expect(conn.send('1\n')).toBe(false);
    expect(closes[0]!.text).toBe('outgoing queue over 10 bytes (a reader that does not keep up)');
  });

  it('a peer that never takes the last line: its socket is destroyed after lingerMs, not kept', async () => {
    const socket = new FakeSocket();
    const { conn } = connection(socket, { lingerMs: 30 });
    conn.close({ kind: 'idle', text: 'idle for 60 s' });
    expect(socket.destroyed).toBe(false);
    expect(await until(() => socket.destroyed, 5000)).toBe(true);
  });

  it('the peer left, or its socket failed: nobody to tell, destroyed at once', () => {
    for (const kind of ['peer-closed', 'socket-error'] as const) {
      const socket = new FakeSocket();
      connection(socket).conn.close({ kind, text: 'gone' });
      expect(socket.writes).toEqual([]);
      expect(socket.destroyed).toBe(true);
    }
  });

  it('idleFor: null while a request is in flight or the client watches, else the time since its last request or answer', async () => {
    const socket = new FakeSocket();
    let answer!: (v: string) => void;
    const { conn } = connection(socket, { onRequest: () => new Promise<string>((r) => (answer = r)) });
    expect(conn.idleFor(performance.now() + 5000)).toBeGreaterThanOrEqual(5000);
    socket.emit('data', Buffer.from('{"command":"x"}\n'));
    expect(conn.idleFor(performance.now() + 5000)).toBeNull();
    const answeredAt = performance.now();
    answer('{"id":null,"ok":true,"result":null}\n');
    await new Promise((r) => setImmediate(r));
    const t1 = performance.now();
    // Counted from the answer, not from the request.
    expect(conn.idleFor(t1 + 5000)).toBeGreaterThanOrEqual(5000);
    expect(conn.idleFor(t1 + 5000)).toBeLessThanOrEqual(5000 + (t1 - answeredAt));
    conn.watching = true;
    expect(conn.idleFor(t1 + 5000)).toBeNull();
    conn.close({ kind: 'peer-closed', text: 'connection closed' });
  });

  it('answers in order; a late answer after disconnect is dropped and counted', async () => {
    const socket = new FakeSocket();
    let release!: (v: string) => void;
    const slow = new Promise<string>((r) => (release = r));
    let n = 0;
    const { conn, counters } = connection(socket, { onRequest: () => (++n === 1 ? slow : `{"id":${n},"ok":true,"result":null}\n`) });
    socket.emit('data', Buffer.from('{"id":1,"command":"a"}\n{"id":2,"command":"b"}\nnot json\n'));
    expect(socket.writes).toEqual([]);
    release('{"id":1,"ok":true,"result":null}\n');
    await slow;
    await Promise.resolve();
    expect(socket.writes.map((w) => JSON.parse(w).id)).toEqual([1, 2, null]);
    let release2!: (v: string) => void;
    const slow2 = new Promise<string>((r) => (release2 = r));
    const socket2 = new FakeSocket();
    const second = connection(socket2, { onRequest: () => slow2 });
    socket2.emit('data', Buffer.from('{"command":"slow"}\n'));
    second.conn.close({ kind: 'peer-closed', text: 'connection closed' });
    release2('{"id":null,"ok":true,"result":1}\n');
    await slow2;
    await Promise.resolve();
    expect(socket2.writes).toEqual([]);
    expect(second.counters.droppedWrites).toBe(1);
    expect(counters.droppedWrites).toBe(0);
  });

  it('stops reading while too many requests wait, resumes when they are answered', async () => {
    const socket = new FakeSocket();
    const gates: Array<(v: string) => void> = [];
    const { conn } = connection(socket, { maxPending: 4, onRequest: () => new Promise<string>((r) => gates.push(r)) });
    socket.emit('data', Buffer.from('{"command":"x"}\n'.repeat(6)));
    expect(socket.paused).toBe(true);
    for (let i = 0; i < 6 && gates.length > 0; i++) {
      gates.shift()!('{"id":null,"ok":true,"result":null}\n');
      await new Promise((r) => setImmediate(r));
    }
    expect(socket.paused).toBe(false);
    expect(socket.writes.length).toBeGreaterThanOrEqual(3);
    conn.close({ kind: 'peer-closed', text: 'connection closed' });
  });

  it("after the client's EOF: answers what it asked, then ends its side", async () => {
    const socket = new FakeSocket();
    connection(socket, { onRequest: () => Promise.resolve('{"id":1,"ok":true,"result":null}\n') });
    socket.emit('data', Buffer.from('{"id":1,"command":"x"}'));
    socket.emit('end');
    expect(socket.ended).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(socket.writes).toEqual(['{"id":1,"ok":true,"result":null}\n']);
    expect(socket.ended).toBe(true);
  });
});
