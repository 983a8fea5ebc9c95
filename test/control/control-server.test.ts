import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, ControlRequestError, watch } from '../../host/control/control-client.js';
import { CommandError, ControlServer, type ControlHandler, type ControlLogLevel } from '../../host/control/control-server.js';

let dir = '';
let seq = 0;
const sockPath = (): string => join(dir, `c${++seq}.sock`);
const open: Array<{ close(): Promise<unknown> | unknown }> = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pc-control-'));
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Poll `pred` every 5 ms, for at most `ms`. */
async function until(pred: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return pred();
}

/** A raw line client: what a person at `socat - UNIX-CONNECT:…` would see. */
class Raw {
  readonly lines: Array<Record<string, unknown>> = [];
  private taken = 0;
  private buf = '';
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(this.buf.slice(0, nl)) as Record<string, unknown>);
        this.buf = this.buf.slice(nl + 1);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }
  static connect(path: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(path, () => {
        s.off('error', reject);
        const raw = new Raw(s);
        open.push(raw);
        resolve(raw);
      });
      s.once('error', reject);
    });
  }
  send(data: string | Buffer): void {
    this.socket.write(data);
  }
  /** The next `n` lines not yet taken (waits up to 5 s). */
  async next(n = 1): Promise<Array<Record<string, unknown>>> {
    const want = this.taken + n;
    if (!(await until(() => this.lines.length >= want))) throw new Error(`expected ${n} more line(s), have ${this.lines.slice(this.taken).length}`);
    const out = this.lines.slice(this.taken, want);
    this.taken = want;
    return out;
  }
  async ask(line: string): Promise<Record<string, unknown>> {
    this.send(`${line}\n`);
    return (await this.next(1))[0]!;
  }
  close(): void {
    this.socket.destroy();
  }
}

const logs: Array<[ControlLogLevel, string]> = [];
const handler: ControlHandler = async (req) => {
  switch (req.command) {
    case 'show paths':
      return [{ dev: 'sim:ok', state: 'up' }];
    case 'echo':
      return req.args;
    case 'explode':
      throw new TypeError('kaboom');
    case 'explode sync':
      return (() => {
        throw new Error('sync kaboom');
      })();
    case 'bigint':
      return 1n;
    default:
      throw new CommandError(`unknown command '${req.command}'`);
  }
};

async function start(opts: Partial<ConstructorParameters<typeof ControlServer>[0]> = {}): Promise<ControlServer> {
  const server = new ControlServer({ path: sockPath(), handler, log: (l, m) => logs.push([l, m]), ...opts });
  await server.listen();
  open.push(server);
  return server;
}

describe('control server: requests and responses', () => {
  it('round trip, ids echoed (number, string, none)', async () => {
    const server = await start();
    const c = await Raw.connect(server.path);
    expect(await c.ask('{"id": 1, "command": "show paths"}')).toEqual({ id: 1, ok: true, result: [{ dev: 'sim:ok', state: 'up' }] });
    expect(await c.ask('{"id": "abc", "command": "echo", "x": [1, 2], "y": "z"}')).toEqual({ id: 'abc', ok: true, result: { x: [1, 2], y: 'z' } });
    expect(await c.ask('{"command": "show   paths"}')).toEqual({ id: null, ok: true, result: [{ dev: 'sim:ok', state: 'up' }] });
    // Blank lines are ignored; several requests in one write are answered in order.
    c.send('\n\n{"id":10,"command":"echo","n":1}\n{"id":11,"command":"echo","n":2}\n{"id":12,"command":"echo","n":3}\n');
    expect((await c.next(3)).map((l) => l.id)).toEqual([10, 11, 12]);
  });

  it('errors: malformed JSON, not an object, no command, unknown command', async () => {
    const server = await start();
    const c = await Raw.connect(server.path);
    const bad = await c.ask('{"id": 1, "command": ');
    expect(bad).toMatchObject({ id: null, ok: false });
    expect(bad.error).toMatch(/^malformed JSON: .+/);
    expect(await c.ask('[1, 2, 3]')).toEqual({ id: null, ok: false, error: 'request must be a JSON object' });
    expect(await c.ask('42')).toEqual({ id: null, ok: false, error: 'request must be a JSON object' });
    expect(await c.ask('{"id": 5, "comand": "show paths"}')).toEqual({ id: 5, ok: false, error: "request has no 'command' string" });
    expect(await c.ask('{"id": 6, "command": "frobnicate paths"}')).toEqual({ id: 6, ok: false, error: "unknown command 'frobnicate paths'" });
    expect(await c.ask('{"id": 7, "command": "show paths"}')).toMatchObject({ id: 7, ok: true });
  });

  it('a line longer than the maximum is refused, not buffered, and the next request on the connection is answered', async () => {
    const server = await start();
    const c = await Raw.connect(server.path);
    const huge = `{"id": 1, "command": "echo", "blob": "${'x'.repeat(200_000)}"}`;
    // The error comes as soon as the line passes the limit, before its newline is even sent.
    c.send(huge.slice(0, 100_000));
    expect((await c.next(1))[0]).toEqual({ id: null, ok: false, error: 'request line longer than 65536 bytes' });
    c.send(`${huge.slice(100_000)}\n{"id": 2, "command": "echo", "after": true}\n`);
    expect((await c.next(1))[0]).toEqual({ id: 2, ok: true, result: { after: true } });
    // A whole over-long line in one write, then a valid request in the same write.
    c.send(`${huge}\n{"id": 3, "command": "show paths"}\n`);
    const [e, ok] = await c.next(2);
    expect(e).toEqual({ id: null, ok: false, error: 'request line longer than 65536 bytes' });
    expect(ok).toMatchObject({ id: 3, ok: true });
    expect(c.lines).toHaveLength(4); // nothing else: one error per over-long line
  });

  it('the maximum line length is configurable', async () => {
    const server = await start({ maxLine: 100 });
    const c = await Raw.connect(server.path);
    expect(await c.ask(`{"command":"echo","p":"${'y'.repeat(100)}"}`)).toEqual({ id: null, ok: false, error: 'request line longer than 100 bytes' });
    expect(await c.ask('{"id":1,"command":"echo"}')).toEqual({ id: 1, ok: true, result: {} });
  });

  it('binary garbage and invalid UTF-8 get the malformed JSON error; the connection keeps working', async () => {
    const server = await start();
    const c = await Raw.connect(server.path);
    const junk = Buffer.alloc(4096);
    let x = 12345;
    for (let i = 0; i < junk.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      junk[i] = x >> 16 === 0x0a ? 0 : (x >> 16) & 0xff;
    }
    for (let i = 0; i < junk.length; i++) if (junk[i] === 0x0a) junk[i] = 0;
    c.send(Buffer.concat([junk, Buffer.from('\n')]));
    c.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a])); // '{', invalid 2-byte sequence, '}'
    c.send(Buffer.from([0x00, 0x01, 0x02, 0x1b, 0x5b, 0x41, 0x0d, 0x0a])); // control characters, valid UTF-8
    const [a, b, d] = await c.next(3);
    expect(a).toEqual({ id: null, ok: false, error: 'malformed JSON: invalid UTF-8' });
    expect(b).toEqual({ id: null, ok: false, error: 'malformed JSON: invalid UTF-8' });
    expect(d).toMatchObject({ id: null, ok: false });
    expect(d!.error).toMatch(/^malformed JSON: [^\u0000-\u001f]+$/);
    expect(await c.ask('{"id":1,"command":"show paths"}')).toMatchObject({ id: 1, ok: true });
  });

  it('a handler exception is an internal error, logged, and the server keeps serving this and other clients', async () => {
    logs.length = 0;
    const server = await start();
    const a = await Raw.connect(server.path);
    const b = await Raw.connect(server.path);
    expect(await a.ask('{"id":1,"command":"explode"}')).toEqual({ id: 1, ok: false, error: 'internal error: kaboom' });
    expect(await a.ask('{"id":2,"command":"explode sync"}')).toEqual({ id: 2, ok: false, error: 'internal error: sync kaboom' });
    expect(await a.ask('{"id":3,"command":"bigint"}')).toMatchObject({ id: 3, ok: false, error: expect.stringMatching(/^internal error: result is not JSON: /) });
    expect(await b.ask('{"id":9,"command":"show paths"}')).toMatchObject({ id: 9, ok: true });
    expect(await a.ask('{"id":4,"command":"show paths"}')).toMatchObject({ id: 4, ok: true });
    expect(logs.filter(([l]) => l === 'error').map(([, m]) => m)).toEqual([
      "client 1: command 'explode' failed: kaboom",
      "client 1: command 'explode sync' failed: sync kaboom",
      expect.stringContaining("client 1: command 'bigint' failed: result is not JSON"),
    ]);
    expect(server.stats()).toMatchObject({ clients: 2, listening: true });
  });

  it("one client's slow command holds only that client's later requests, in order; other clients go on", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = await start({
      handler: async (req) => {
        if (req.command === 'slow') await gate;
        return req.command;
      },
    });
    const a = await Raw.connect(server.path);
    const b = await Raw.connect(server.path);
    a.send('{"id":1,"command":"slow"}\n{"id":2,"command":"fast"}\n');
    expect(await b.ask('{"id":1,"command":"fast"}')).toEqual({ id: 1, ok: true, result: 'fast' });
    expect(a.lines).toEqual([]);
    release();
    expect(await a.next(2)).toEqual([
      { id: 1, ok: true, result: 'slow' },
      { id: 2, ok: true, result: 'fast' },
    ]);
  });

  it('a client that sends its requests and EOF still gets every answer', async () => {
    const server = await start();
    const c = await Raw.connect(server.path);
    c.socket.end('{"id":1,"command":"echo","a":1}\n{"id":2,"command":"show paths"}');
    expect(await until(() => c.closed)).toBe(true);
    expect(c.lines.map((l) => l.id)).toEqual([1, 2]);
    expect(await until(() => server.stats().clients === 0)).toBe(true);
  });

  it('ControlClient: results, the server error text as the rejection, ids matched', async () => {
    const server = await start();
    const client = await ControlClient.connect(server.path, { timeoutMs: 2000 });
    open.push(client);
    const [r1, r2, r3] = await Promise.allSettled([client.request('show paths'), client.request('echo', { k: 'v' }), client.request('nope')]);
    expect(r1).toEqual({ status: 'fulfilled', value: [{ dev: 'sim:ok', state: 'up' }] });
    expect(r2).toEqual({ status: 'fulfilled', value: { k: 'v' } });
    expect(r3.status).toBe('rejected');
    const err = (r3 as PromiseRejectedResult).reason as Error;
    expect(err).toBeInstanceOf(ControlRequestError);
    expect(err.message).toBe("unknown command 'nope'");
    // A request too long for the server gets its (id-less) error, matched to it by order.
    await expect(client.request('echo', { blob: 'z'.repeat(70_000) })).rejects.toThrow('request line longer than 65536 bytes');
    expect(await client.request('echo', { after: 1 })).toEqual({ after: 1 });
    await client.close();
    await expect(client.request('show paths')).rejects.toThrow(/closed/);
  });

  it('ControlClient.connect: a missing socket is ENOENT, promptly', async () => {
    await expect(ControlClient.connect(join(dir, 'nobody.sock'), { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('control server: the socket file', () => {
  it('is created with mode 0600 and removed on close', async () => {
    const server = await start();
    const st = lstatSync(server.path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    await server.close();
    expect(existsSync(server.path)).toBe(false);
    await server.close(); // idempotent
  });

  it('a second server on a live path refuses and leaves the first one working', async () => {
    const first = await start();
    const second = new ControlServer({ path: first.path, handler });
    await expect(second.listen()).rejects.toThrow(`control socket ${first.path} is in use: a live server answers there`);
    const c = await Raw.connect(first.path);
    expect(await c.ask('{"id":1,"command":"show paths"}')).toMatchObject({ ok: true });
    expect(lstatSync(first.path).isSocket()).toBe(true);
  });

  it('a stale socket file (its server died) is replaced; a path that is not a socket is refused', async () => {
    const path = sockPath();
    // A server process that exits without closing leaves its socket file behind, as a crashed daemon does.
    const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`], { timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(lstatSync(path).isSocket()).toBe(true);
    logs.length = 0;
    const server = await start({ path });
    expect(logs).toContainEqual(['info', `removed stale control socket ${path}`]);
    const c = await Raw.connect(path);
    expect(await c.ask('{"id":1,"command":"show paths"}')).toMatchObject({ ok: true });
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    await server.close();

    const file = join(dir, 'plain-file');
    writeFileSync(file, 'keep me');
    await expect(new ControlServer({ path: file, handler }).listen()).rejects.toThrow(`${file} exists and is not a socket; not replacing it`);
    expect(existsSync(file)).toBe(true);
  });
});

describe('control server: watch, publish, close', () => {
  it('events go only to clients that sent watch', async () => {
    const server = await start();
    const w = await Raw.connect(server.path);
    const other = await Raw.connect(server.path);
    expect(await w.ask('{"id":1,"command":"watch"}')).toEqual({ id: 1, ok: true, result: 'watching' });
    expect(await other.ask('{"id":1,"command":"show paths"}')).toMatchObject({ ok: true });
    expect(server.publish({ type: 'state', path: 'sim:ok', state: 'down' })).toBe(1);
    expect(await w.next(1)).toEqual([{ event: { type: 'state', path: 'sim:ok', state: 'down' } }]);
    expect(server.stats()).toMatchObject({ clients: 2, watchers: 1, published: 1 });
    w.close();
    expect(await until(() => server.stats().watchers === 0)).toBe(true);
    expect(other.lines).toHaveLength(1);
  });

  it('slow reader: a watcher that never reads is dropped with the queue-full reason; other clients and watchers carry on', async () => {
    logs.length = 0;
    const server = await start();
    const slow = await Raw.connect(server.path);
    const good = await Raw.connect(server.path);
    const asker = await Raw.connect(server.path);
    expect(await slow.ask('{"command":"watch"}')).toMatchObject({ ok: true, result: 'watching' });
    expect(await good.ask('{"command":"watch"}')).toMatchObject({ ok: true, result: 'watching' });
    slow.socket.pause(); // never reads again
    const pad = 'p'.repeat(100);
    let published = 0;
    let answered = 0;
    const deadline = Date.now() + 20_000;
    // Publish in bounded bursts; the loop is bounded by count and by time.
    while (server.stats().droppedClients['queue-full'] === 0 && published < 200_000 && Date.now() < deadline) {
      for (let i = 0; i < 100; i++) server.publish({ seq: published++, pad });
      if (published % 300 === 0) {
        expect(await asker.ask(`{"id":${published},"command":"show paths"}`)).toMatchObject({ id: published, ok: true });
        answered++;
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(server.stats().droppedClients['queue-full']).toBe(1);
    const why = 'outgoing queue over 1024 messages (a reader that does not keep up)';
    expect(logs).toContainEqual(['warn', `client 1 dropped: ${why}`]);
    slow.socket.resume(); // its end of the connection only learns of the drop by reading
    expect(await until(() => slow.closed, 10_000)).toBe(true);
    // When it finally reads, what was queued before the drop comes, and then, last, why.
    expect(slow.lines.length).toBeGreaterThan(2);
    expect(slow.lines.at(-1)).toEqual({ id: null, ok: false, dropped: 'queue-full', error: why });
    expect(slow.lines.slice(0, -1).every((l) => l.event !== undefined || l.result === 'watching')).toBe(true);
    expect(answered).toBeGreaterThan(0);
    // The good watcher gets every event, in order; publishing goes on after the drop.
    for (let i = 0; i < 100; i++) server.publish({ seq: published++, pad });
    expect(await until(() => good.lines.length === published + 1, 10_000)).toBe(true);
    const seqs = good.lines.slice(1).map((l) => (l.event as { seq: number }).seq);
    expect(seqs.every((s, i) => s === i)).toBe(true);
    expect(await asker.ask('{"id":"last","command":"show paths"}')).toMatchObject({ id: 'last', ok: true });
    expect(server.stats()).toMatchObject({ clients: 2, watchers: 1 });
  });

  it('close() drops every client and removes the socket; a late answer is a dropped, counted write', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    const server = await start({
      handler: async () => {
        started = true;
        await gate;
        return 'late';
      },
    });
    const a = await Raw.connect(server.path);
    const w = await Raw.connect(server.path);
    expect(await w.ask('{"command":"watch"}')).toMatchObject({ ok: true });
    a.send('{"id":1,"command":"slow"}\n');
    expect(await until(() => started)).toBe(true);
    await server.close();
    expect(existsSync(server.path)).toBe(false);
    expect(await until(() => a.closed && w.closed)).toBe(true);
    release();
    await gate;
    await new Promise((r) => setImmediate(r));
    expect(server.publish({ after: 'close' })).toBe(0);
    expect(server.stats()).toMatchObject({
      listening: false,
      clients: 0,
      watchers: 0,
      droppedWrites: 1,
      droppedClients: { 'server-closing': 2, 'queue-full': 0 },
    });
    await expect(server.listen()).rejects.toThrow(/listen\(\) needs a new server/);
  });
});

describe('socket paths that cannot work are refused before any socket call (issue 11 row 10)', () => {
  /** 120 bytes: `dir`, a slash, x's. */
  const long = (): string => join(dir, 'x'.repeat(119 - Buffer.byteLength(dir)));
  const noop: ControlHandler = () => null;

  it('listen(): empty, missing directory, over 107 bytes: one-line errors, no file created', async () => {
    const missing = join(dir, 'nosuch', 's.sock');
    const cases: [string, string][] = [
      ['', 'control socket path is empty'],
      [missing, `cannot create control socket ${missing}: directory ${join(dir, 'nosuch')} does not exist`],
      [long(), `control socket path is 120 bytes, over the 107-byte Unix socket limit: ${long()}`],
    ];
    for (const [path, message] of cases) {
      const server = new ControlServer({ path, handler: noop });
      await expect(server.listen()).rejects.toThrow(new Error(message));
      await server.close();
    }
    expect(existsSync(long().slice(0, 107))).toBe(false);
  });

  it('connect() and watch(), even with reconnect, fail at once on a path that can never be a socket', async () => {
    await expect(ControlClient.connect('')).rejects.toThrow('control socket path is empty');
    await expect(ControlClient.connect(join(dir, 'nosuch', 's.sock'))).rejects.toThrow(`cannot connect to ${join(dir, 'nosuch', 's.sock')}: directory ${join(dir, 'nosuch')} does not exist`);
    const w = watch(long(), () => {}, { reconnect: true, backoffMs: [10, 10] });
    open.push({ close: () => w.stop() });
    await expect(w.done).rejects.toThrow(`control socket path is 120 bytes, over the 107-byte Unix socket limit: ${long()}`);
    expect(w.attempts).toBe(1);
  });
});

describe('connection caps, idle clients, and telling a client why it was dropped (issue 11 rows 6, 15)', () => {
  const dropped = (kind: string, error: string) => ({ id: null, ok: false, dropped: kind, error });

  it('at the cap, a new client takes the place of the longest-idle one, which is told why; every admin gets in', async () => {
    logs.length = 0;
    const server = await start({ maxClients: 4 });
    const idle: Raw[] = [];
    for (let i = 0; i < 4; i++) idle.push(await Raw.connect(server.path));
    expect(await until(() => server.stats().clients === 4)).toBe(true);
    // Ten admins in a row at a full server, none leaving: each gets its answer, each time the
    // longest-idle client goes (the four idle ones first, then the earliest admins).
    const admins: ControlClient[] = [];
    for (let n = 0; n < 10; n++) {
      const admin = await ControlClient.connect(server.path);
      open.push(admin);
      admins.push(admin);
      await expect(admin.request('show paths')).resolves.toEqual([{ dev: 'sim:ok', state: 'up' }]);
    }
    expect(await until(() => idle.every((c) => c.closed) && admins.slice(0, 6).every((a) => a.isClosed))).toBe(true);
    expect(admins.slice(6).map((a) => a.isClosed)).toEqual([false, false, false, false]);
    expect(server.stats().clients).toBe(4);
    for (const c of idle) {
      expect(c.lines).toHaveLength(1);
      expect(c.lines[0]).toMatchObject({ id: null, ok: false, dropped: 'evicted' });
      expect(String(c.lines[0]!.error)).toMatch(/^closed for a new client: 4 clients connected, the cap is 4; this one was idle [\d.]+ s$/);
    }
    expect(server.stats().droppedClients).toMatchObject({ evicted: 10, refused: 0 });
    expect(logs.filter(([l, m]) => l === 'warn' && m.includes('dropped: closed for a new client')).length).toBeGreaterThanOrEqual(1);
  });

  it('with every slot watching or busy, a new client gets one error line and EOF, never a bare reset; refusals log one line a second', async () => {
    logs.length = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = await start({ maxClients: 3, maxWatchers: 2, handler: async () => gate });
    const watchers = [await Raw.connect(server.path), await Raw.connect(server.path)];
    for (const w of watchers) expect(await w.ask('{"command":"watch"}')).toMatchObject({ result: 'watching' });
    const busy = await Raw.connect(server.path);
    busy.send('{"id":1,"command":"slow"}\n');
    expect(await until(() => server.stats().clients === 3)).toBe(true);
    await new Promise((r) => setTimeout(r, 20)); // the slow request is in flight

    const refusal = dropped('refused', 'too many clients: 3 connected, the cap is 3');
    const t0 = performance.now();
    const REFUSED = 40;
    for (let i = 0; i < REFUSED; i++) {
      const c = await Raw.connect(server.path);
      c.send('{"id":1,"command":"show stats"}\n');
      expect(await until(() => c.closed)).toBe(true);
      expect(c.lines).toEqual([refusal]);
    }
    // Through the client API: the pending request fails with the server's reason.
    const client = await ControlClient.connect(server.path);
    await expect(client.request('show paths')).rejects.toMatchObject({
      name: 'ControlDroppedError',
      kind: 'refused',
      message: 'dropped by the daemon: too many clients: 3 connected, the cap is 3',
    });
    expect(client.isClosed).toBe(true);
    const elapsedS = (performance.now() - t0) / 1000;
    expect(server.stats()).toMatchObject({ clients: 3, watchers: 2, droppedClients: { refused: REFUSED + 1 } });

    // One line at once, then at most one a second, counting the rest: nothing is lost, little is said.
    await new Promise((r) => setTimeout(r, 1200));
    const lines = logs.filter(([l, m]) => l === 'warn' && m.includes('too many clients')).map(([, m]) => m);
    expect(lines[0]).toBe('client refused: too many clients: 3 connected, the cap is 3');
    const counted = lines.slice(1).map((m) => Number(/^(\d+) more like this in the last 1 s, the last: client refused: too many clients/.exec(m)?.[1]));
    expect(1 + counted.reduce((a, b) => a + b, 0)).toBe(REFUSED + 1);
    expect(lines.length).toBeLessThanOrEqual(Math.ceil(elapsedS) + 2);
    release();
    expect(await busy.next(1)).toEqual([{ id: 1, ok: true, result: null }]);
  });

  it('watchers have a cap of their own (default: half the clients), so commands always keep room', async () => {
    const server = await start({ maxClients: 4 });
    expect(server.stats().limits).toEqual({ clients: 4, watchers: 2, idleTimeoutMs: 60_000 });
    const ws = [await Raw.connect(server.path), await Raw.connect(server.path), await Raw.connect(server.path)];
    expect(await ws[0]!.ask('{"id":1,"command":"watch"}')).toMatchObject({ result: 'watching' });
    expect(await ws[1]!.ask('{"id":1,"command":"watch"}')).toMatchObject({ result: 'watching' });
    expect(await ws[2]!.ask('{"id":1,"command":"watch"}')).toEqual({ id: 1, ok: false, error: 'too many watchers: 2 watching, the cap is 2' });
    // Refused a watch, it is still an ordinary client.
    expect(await ws[2]!.ask('{"id":2,"command":"show paths"}')).toMatchObject({ id: 2, ok: true });
    expect(server.stats()).toMatchObject({ clients: 3, watchers: 2, refusedWatches: 1 });
    expect(() => new ControlServer({ path: sockPath(), handler, maxClients: 2, maxWatchers: 2 })).toThrow('maxWatchers must be an integer from 0 to maxClients - 1 (1), not 2');
    expect(() => new ControlServer({ path: sockPath(), handler, maxClients: 0 })).toThrow('maxClients must be a positive integer, not 0');
  });

  it('a client with nothing in flight is closed after the idle timeout, told why; watchers and a client waiting for an answer stay', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = await start({
      idleTimeoutMs: 150,
      handler: async (req) => {
        if (req.command === 'slow') await gate;
        return 'ok';
      },
    });
    const idle = await Raw.connect(server.path);
    const watcher = await Raw.connect(server.path);
    const waiting = await Raw.connect(server.path);
    expect(await watcher.ask('{"command":"watch"}')).toMatchObject({ result: 'watching' });
    waiting.send('{"id":7,"command":"slow"}\n');
    expect(await until(() => idle.closed, 5000)).toBe(true);
    expect(idle.lines).toHaveLength(1);
    expect(idle.lines[0]).toMatchObject({ id: null, ok: false, dropped: 'idle' });
    expect(String(idle.lines[0]!.error)).toMatch(/^idle for [\d.]+ s with no request in flight \(the limit is 0.2 s\)$/);
    await new Promise((r) => setTimeout(r, 400)); // well past the timeout: the others are not idle
    expect(watcher.closed || waiting.closed).toBe(false);
    release();
    expect(await waiting.next(1)).toEqual([{ id: 7, ok: true, result: 'ok' }]);
    // Answered, it is idle now, and goes in its turn.
    expect(await until(() => waiting.closed, 5000)).toBe(true);
    expect(watcher.closed).toBe(false);
    expect(server.stats().droppedClients.idle).toBe(2);
  });

  it('a watch dropped for a full queue: the watch() API reports the reason, not a bare EOF', async () => {
    const server = await start({ maxQueue: { messages: 8 } });
    const states: Array<[string, string | undefined]> = [];
    const h = watch(server.path, () => {}, { onState: (s, err) => states.push([s, err?.message]) });
    open.push({ close: () => h.stop() });
    expect(await until(() => h.state === 'connected')).toBe(true);
    // Faster than any reader: published in one go, the socket fills and the queue overflows.
    const pad = 'x'.repeat(1000);
    for (let i = 0; i < 2000 && server.stats().droppedClients['queue-full'] === 0; i++) server.publish({ i, pad });
    expect(server.stats().droppedClients['queue-full']).toBe(1);
    await expect(h.done).resolves.toBe('disconnected');
    expect(states).toEqual([
      ['connected', undefined],
      ['disconnected', 'dropped by the daemon: outgoing queue over 8 messages (a reader that does not keep up)'],
    ]);
  });

  it('the client cap is fitted under the open-file limit, with a warning naming the numbers', async () => {
    const script = [
      `const { ControlServer } = await import(${JSON.stringify(join(process.cwd(), 'dist/host/control/control-server.js'))});`,
      `const s = new ControlServer({ path: ${JSON.stringify(sockPath())}, handler: () => null, log: (l, m) => console.log(l + ': ' + m) });`,
      'await s.listen();',
      'console.log(JSON.stringify(s.stats().limits));',
      'await s.close();',
    ].join('\n');
    const run = (limit: number) => spawnSync('sh', ['-c', `ulimit -n ${limit} && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8', timeout: 20_000 });
    const low = run(200);
    expect(low.status, low.stderr).toBe(0);
    const limits = JSON.parse(low.stdout.trim().split('\n').at(-1)!) as { clients: number; watchers: number };
    // 200 fds, 64 kept back, some open already: well under 256, and under 200 - 64.
    expect(limits.clients).toBeGreaterThan(50);
    expect(limits.clients).toBeLessThan(200 - 64);
    expect(limits.watchers).toBe(Math.floor(limits.clients / 2));
    expect(low.stdout).toMatch(new RegExp(`^warn: control socket: client cap lowered from 256 to ${limits.clients}: the open-file limit is 200, \\d+ are open and 64 are kept for checkers, workers and logs$`, 'm'));
    const high = run(20_000);
    expect(high.status, high.stderr).toBe(0);
    expect(JSON.parse(high.stdout.trim())).toEqual({ clients: 256, watchers: 128, idleTimeoutMs: 60_000 });
  });
});
