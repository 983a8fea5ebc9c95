import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../host/control/control-client.js';
import { PATHCHECK_BIN, confText, runPathcheck, runPathcheckd, tempDir, waitUntil, type RunResult } from '../helpers/daemon-process.js';

// Issue 11 row 12: across a daemon restart, `pathcheck watch --reconnect` lost the new daemon's
// first events (every path's first state) without a word, and with no daemon it was silent for 8 s.
// Black-box: the built pathcheck and pathcheckd, the daemon stopped and started again at one socket.

const cleanup: Array<() => void | Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const PATHS = ['sim:ok?id=a', 'sim:ok?id=b', 'sim:ok?id=c'];

/** A pathcheckd at `socket`, bounded by --duration; resolves once it answers, with its exit to come. */
async function daemon(config: string, socket: string): Promise<{ exited: Promise<RunResult> }> {
  const exited = runPathcheckd(['--config', config, '--socket', socket, '--foreground', '--duration', '60'], 70_000);
  let done = false;
  void exited.then(() => (done = true));
  await waitUntil('pathcheckd to answer', async () => {
    if (done) throw new Error(`pathcheckd exited: ${JSON.stringify(await exited)}`);
    const c = await ControlClient.connect(socket, { timeoutMs: 1000 });
    try {
      return (await c.request('show paths', {}, { timeoutMs: 2000 })) as unknown[];
    } finally {
      await c.close();
    }
  }, 20_000);
  return { exited };
}

async function shutdown(socket: string, d: { exited: Promise<RunResult> }): Promise<void> {
  const r = await runPathcheck(['--socket', socket, 'shutdown']);
  expect(r.status, r.stderr).toBe(0);
  expect((await d.exited).status).toBe(0);
}

/** `pathcheck watch --reconnect` as a child, its stdout and stderr as lines. */
function watcher(socket: string): { child: ChildProcess; out: string[]; err: string[] } {
  const child = spawn(process.execPath, [PATHCHECK_BIN, '--socket', socket, 'watch', '--reconnect'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => err.push(l));
  cleanup.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, out, err };
}

/** The snapshot lines from index `from` on: path -> state. */
function snapshot(lines: readonly string[], from: number): Map<string, string> {
  const states = new Map<string, string>();
  for (const l of lines.slice(from)) {
    const m = /^\S+ #\S+ snapshot path=(\S+) checker=\S+ state=([a-z]+) /.exec(l);
    if (m) states.set(m[1]!, m[2]!);
  }
  return states;
}

const seqs = (lines: readonly string[]): number[] => lines.map((l) => /^\S+ #(\d+) (?!gap|snapshot)/.exec(l)?.[1]).filter((s) => s !== undefined).map(Number);

describe('pathcheck watch --reconnect across a daemon restart (issue 11 row 12)', () => {
  it('says it is retrying at once, marks the gap with the last seq seen, and replays every path state after the restart', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'pc.conf');
    const socket = join(dir, 'pc.sock');
    writeFileSync(config, confText({ pollingInterval: 1, paths: PATHS }));

    const first = await daemon(config, socket);
    const w = watcher(socket);
    await waitUntil('watch connected, and a snapshot of every path', () => w.err.includes('pathcheck: watch connected') && snapshot(w.out, 0).size === PATHS.length, 15_000).catch((e: Error) => {
      throw new Error(`${e.message}; out: ${w.out.join(' | ')}; err: ${w.err.join(' | ')}`);
    });
    expect([...snapshot(w.out, 0).keys()].sort()).toEqual(PATHS);
    // A live event through the first daemon, so there is a last seq to name.
    const fault = await runPathcheck(['--socket', socket, 'fault', 'sim:ok?id=b', 'standby']);
    expect(fault.status, fault.stderr).toBe(0);
    await waitUntil('a live event', () => seqs(w.out).length > 0, 15_000);

    await shutdown(socket, first);
    const down = performance.now();
    const lastSeq = Math.max(...seqs(w.out));
    const before = w.out.length;
    // Said at once (it was 8 s of silence): the loss, then why it retries.
    await waitUntil('the retrying line', () => w.err.some((l) => l.includes('retrying')), 10_000);
    const saidAfterMs = performance.now() - down;
    expect(saidAfterMs).toBeLessThan(4000);
    expect(w.err).toContain('pathcheck: watch disconnected: dropped by the daemon: shutting down');
    expect(w.err.find((l) => l.includes('retrying')), w.err.join(' | ')).toMatch(
      new RegExp(`^pathcheck: watch: daemon not reachable at ${socket.replace(/[.?]/g, '\\$&')} \\((ENOENT|ECONNREFUSED)\\), retrying \\(next in [\\d.]+ s, backing off to every 5 s\\)$`),
    );

    const second = await daemon(config, socket);
    cleanup.push(() => shutdown(socket, second));
    await waitUntil('watch connected again, with a new snapshot', () => w.err.filter((l) => l === 'pathcheck: watch connected').length === 2 && snapshot(w.out, before).size === PATHS.length, 20_000);
    const after = w.out.slice(before);
    const gapAt = after.findIndex((l) => / gap /.test(l));
    expect(after[gapAt]).toMatch(new RegExp(`^\\S+ #${lastSeq} gap reason=reconnected$`));
    // The gap, then the snapshot (every path, a state each), then live events only.
    const firstSnapshot = after.findIndex((l) => / snapshot /.test(l));
    expect(firstSnapshot).toBe(gapAt + 1);
    expect([...snapshot(after, 0).keys()].sort()).toEqual(PATHS);
    // Live events after the snapshot come in seq order with none missing between them.
    const fault2 = await runPathcheck(['--socket', socket, 'fault', 'sim:ok?id=c', 'standby']);
    expect(fault2.status, fault2.stderr).toBe(0);
    await waitUntil('a live event from the new daemon', () => seqs(w.out.slice(before)).length > 0, 15_000);
    const live = seqs(w.out.slice(before + firstSnapshot));
    expect(live.every((s, i) => i === 0 || s === live[i - 1]! + 1), JSON.stringify(live)).toBe(true);

    w.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (w.child.exitCode !== null ? r(w.child.exitCode) : w.child.once('exit', r)));
    expect(code).toBe(0);
    console.info(`watch --reconnect: retrying said ${Math.round(saidAfterMs)} ms after the daemon went; gap after #${lastSeq}; ${after.length} lines after the restart`);
  }, 90_000);
});
