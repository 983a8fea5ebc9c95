import { readdirSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, runPathcheck, stopAllDaemons, waitUntil } from '../helpers/daemon-process.js';

// Issue 11 row 6: thousands of idle connections took every fd of the daemon; every new client,
// `show stats` and `reconfigure` included, got ECONNRESET, and nothing was logged. Black-box: the
// built daemon as a child process, its default cap (256), and more idle connections than that.

afterEach(async () => {
  await stopAllDaemons();
});

/** A connection that sends nothing and keeps what the daemon says. */
interface Idle {
  readonly socket: net.Socket;
  text: string;
  closed: boolean;
}

function openIdle(path: string): Promise<Idle> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    const idle: Idle = { socket, text: '', closed: false };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (idle.text += d));
    socket.on('close', () => (idle.closed = true));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(idle);
    });
  });
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

describe('pathcheckd caps its control connections (issue 11 row 6)', () => {
  it('600 idle connections: fds stay bounded, the longest-idle are told why and closed, show stats and reconfigure get in, one warn line a second, fds back to baseline', async () => {
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, paths: ['sim:ok?id=a', 'sim:ok?id=b'] } });
    expect(d.logged(`control socket ${d.socket}: at most 256 clients, 128 of them watching; a client with nothing in flight is closed after 60 s`)).toHaveLength(1);
    const baseline = await waitUntil('a steady fd count', async () => {
      const a = openFds(d.pid);
      await new Promise((r) => setTimeout(r, 100));
      return openFds(d.pid) === a && a;
    });

    const N = 600;
    const t0 = performance.now();
    const idle: Idle[] = [];
    for (let i = 0; i < N; i++) idle.push(await openIdle(d.socket));
    const evicted = N - 256;
    await waitUntil(`${evicted} idle connections closed`, () => idle.filter((c) => c.closed).length === evicted, 20_000);
    const peak = openFds(d.pid);
    // One fd per client, and the cap bounds them (a little slack: a closing socket, a worker's file).
    expect(peak).toBeGreaterThanOrEqual(baseline + 256);
    expect(peak).toBeLessThanOrEqual(baseline + 256 + 8);

    // The admin gets in, through the CLI: the longest-idle connection makes room (once: the first
    // admin leaves before the second comes).
    const stats = await runPathcheck(['--socket', d.socket, 'show', 'stats', '--json']);
    expect(stats.status, stats.stderr).toBe(0);
    const control = (JSON.parse(stats.stdout) as { control: { clients: number; limits: unknown; droppedClients: Record<string, number> } }).control;
    expect(control.limits).toEqual({ clients: 256, watchers: 128, idleTimeoutMs: 60_000 });
    expect(control.clients).toBe(256);
    expect(control.droppedClients).toMatchObject({ evicted: evicted + 1, refused: 0 });
    const reconfigure = await runPathcheck(['--socket', d.socket, 'reconfigure']);
    expect(reconfigure.status, reconfigure.stderr).toBe(0);

    // The oldest went first, each with one line saying why, then EOF; the newest are still there.
    await waitUntil('the eviction for the admin', () => idle.filter((c) => c.closed).length === evicted + 1, 10_000);
    for (const [i, c] of idle.entries()) {
      expect(c.closed, `connection ${i}`).toBe(i < evicted + 1);
      if (!c.closed) continue;
      const line = JSON.parse(c.text) as Record<string, unknown>;
      expect(line).toMatchObject({ id: null, ok: false, dropped: 'evicted' });
      expect(String(line.error)).toMatch(/^closed for a new client: 256 clients connected, the cap is 256; this one was idle [\d.]+ s$/);
    }

    // Logged at warn, but rate-limited: the first at once, then a count a second.
    const elapsedS = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1100));
    const warned = d.logged('dropped: closed for a new client');
    expect(warned.length).toBeGreaterThanOrEqual(1);
    expect(warned.length).toBeLessThanOrEqual(Math.ceil(elapsedS) + 3);
    const counted = warned.map((l) => Number(/(\d+) more like this in the last 1 s/.exec(l)?.[1] ?? 1));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(evicted + 1);

    for (const c of idle) c.socket.destroy();
    await waitUntil('the fd count back to its baseline', () => openFds(d.pid) <= baseline, 10_000);
    console.info(`daemon connections: ${N} idle opened in ${elapsedS.toFixed(1)} s; fds baseline ${baseline}, peak ${peak}; ${warned.length} warn lines for ${evicted + 1} evictions`);
  }, 60_000);
});
