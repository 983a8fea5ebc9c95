import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlServer } from '../../host/control/control-server.js';
import { PeerLookup, describePeer, parseSsUnix, socketInode } from '../../host/control/peer-credentials.js';

/**
 * Peer credentials without SO_PEERCRED: the pid and uid found for a connection must be those of
 * the process at its other end, and anything doubtful (no ss, a slow ss, a holder that lies) is null.
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pc-peer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** A listening Unix socket and its accepted server-side sockets, for PeerLookup on its own. */
async function pair(n: number): Promise<{ accepted: net.Socket[]; clients: net.Socket[]; close: () => Promise<void> }> {
  const path = join(dir, `p${Math.random().toString(36).slice(2, 8)}.sock`);
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(path, r));
  const clients: net.Socket[] = [];
  for (let i = 0; i < n; i++) clients.push(await new Promise<net.Socket>((r) => { const c = net.createConnection(path, () => r(c)); }));
  for (let i = 0; i < 200 && accepted.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  return {
    accepted,
    clients,
    close: async () => {
      for (const s of [...accepted, ...clients]) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A stand-in for ss: a shell script. */
function fakeSs(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const fdOf = (s: net.Socket): number => (s as unknown as { _handle: { fd: number } })._handle.fd;

describe('peer credentials (issue 11: mutations logged with who)', () => {
  it('a real client process: the pid and uid found are its own (run as nobody, so not ours)', async () => {
    chmodSync(dir, 0o755);
    const path = join(dir, 'who.sock');
    const server = new ControlServer({ path, handler: (_req, client) => client.peer() });
    await server.listen();
    try {
      if (isRoot) chmodSync(path, 0o666); // the test's own socket, for a client of another uid
      const script = `const s = require('net').createConnection(${JSON.stringify(path)}, () => s.write('{"id":1,"command":"who"}\\n'));
        s.on('data', (d) => { process.stdout.write(d); s.destroy(); });`;
      const child = spawn(process.execPath, ['-e', script], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...(isRoot && { uid: NOBODY, gid: NOBODY }) });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await new Promise<number | null>((r) => child.once('close', r));
      clearTimeout(timer);
      expect(code, err).toBe(0);
      expect(JSON.parse(out)).toEqual({ id: 1, ok: true, result: { pid: child.pid, uid: isRoot ? NOBODY : process.getuid!() } });
    } finally {
      await server.close();
    }
  });

  it('a burst of lookups shares ss runs (two at most), and each finds its own peer', async () => {
    const count = join(dir, 'ss-runs');
    writeFileSync(count, '');
    const lookup = new PeerLookup({ ss: fakeSs('counting-ss', `echo run >> ${count}\nexec ss "$@"`) });
    const p = await pair(12);
    try {
      const found = await Promise.all(p.accepted.map((s) => lookup.lookup(s)));
      expect(found).toEqual(p.accepted.map(() => ({ pid: process.pid, uid: process.getuid!() })));
      const runs = readFileSync(count, 'utf8').trim().split('\n').length;
      expect(runs).toBeLessThanOrEqual(2);
    } finally {
      await p.close();
    }
  });

  it("a holder that lies in ss's output (a process named to look like another entry) is checked against /proc", async () => {
    const p = await pair(1);
    try {
      const [srv, cli] = [p.accepted[0]!, p.clients[0]!];
      const [srvIno, cliIno] = [socketInode(srv)!, socketInode(cli)!];
      const row = (holders: string): string => `u_str ESTAB 0 0 /x.sock ${srvIno} * ${cliIno} users:(("node",pid=${process.pid},fd=${fdOf(srv)}))\nu_str ESTAB 0 0 * ${cliIno} * ${srvIno} users:(${holders})`;
      const out = join(dir, 'ss-out');
      // pid 1's fd 3 is not this socket: skipped; the true holder after it is found.
      writeFileSync(out, row(`("x",pid=1,fd=3),("node",pid=${process.pid},fd=${fdOf(cli)})`));
      const ss = fakeSs('lying-ss', `cat ${out}`);
      expect(await new PeerLookup({ ss }).lookup(srv)).toEqual({ pid: process.pid, uid: process.getuid!() });
      writeFileSync(out, row('("x",pid=1,fd=3)'));
      expect(await new PeerLookup({ ss }).lookup(srv)).toBeNull();
    } finally {
      await p.close();
    }
  });

  it('no ss, or an ss that hangs: null (peer unknown), within the timeout', async () => {
    const p = await pair(1);
    try {
      expect(await new PeerLookup({ ss: join(dir, 'no-such-ss') }).lookup(p.accepted[0]!)).toBeNull();
      const t0 = performance.now();
      expect(await new PeerLookup({ ss: fakeSs('hung-ss', 'exec sleep 30'), timeoutMs: 200 }).lookup(p.accepted[0]!)).toBeNull();
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(describePeer(null)).toBe('peer unknown');
      expect(describePeer({ pid: 1234, uid: 0 })).toBe('pid 1234 uid 0');
    } finally {
      await p.close();
    }
  });

  it('parses ss -xpn rows; the header and other lines are skipped', () => {
    const text = [
      'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess',
      'u_str ESTAB  0      0      /run/pc.sock 6950 * 6949 users:(("pathcheckd",pid=10,fd=21))',
      'u_str ESTAB  0      0      * 6949 * 6950 users:(("pathcheck",pid=20,fd=5),("sh",pid=19,fd=5))',
      'u_str ESTAB  0      0      * 7000 * 7001',
      '',
    ].join('\n');
    expect([...parseSsUnix(text)]).toEqual([
      [6950, { peer: 6949, holders: [{ pid: 10, fd: 21 }] }],
      [6949, { peer: 6950, holders: [{ pid: 20, fd: 5 }, { pid: 19, fd: 5 }] }],
      [7000, { peer: 7001, holders: [] }],
    ]);
  });
});
