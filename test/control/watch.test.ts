import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { watch, type WatchHandle } from '../../host/control/control-client.js';
import { ControlServer } from '../../host/control/control-server.js';

let dir = '';
let seq = 0;
const servers: ControlServer[] = [];
const handles: WatchHandle[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pc-watch-'));
});
afterEach(async () => {
  for (const h of handles.splice(0)) await h.stop();
  for (const s of servers.splice(0)) await s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll every 5 ms for at most `ms`; `each` runs on every poll (to check an invariant throughout). */
async function until(pred: () => boolean, ms = 5000, each?: () => void): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    each?.();
    if (pred()) return true;
    await sleep(5);
  }
  each?.();
  return pred();
}

/** Active, referenced timers in this process (the runner's own included: compare with a baseline). */
const timeouts = (): number => process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length;
const pipes = (): number => process.getActiveResourcesInfo().filter((t) => t === 'PipeWrap').length;

async function serve(path: string, handler: ConstructorParameters<typeof ControlServer>[0]['handler'] = () => null): Promise<ControlServer> {
  const s = new ControlServer({ path, handler });
  await s.listen();
  servers.push(s);
  return s;
}

/** `states`: connected/disconnected; `retries`: each `retrying` report, with its error and delay. */
function start(path: string, opts: Parameters<typeof watch>[2] = {}) {
  const events: unknown[] = [];
  const states: string[] = [];
  const retries: Array<{ error: string; delayMs: number; maxDelayMs: number; attempts: number }> = [];
  const h = watch(path, (e) => events.push(e), {
    ...opts,
    onState: (s, err, retry) => {
      if (s === 'retrying') retries.push({ error: err!.message, ...retry! });
      else states.push(s);
    },
  });
  handles.push(h);
  return { h, events, states, retries };
}

describe('watch --reconnect (seed 2: socket_reconnect_timeout)', () => {
  it('the daemon goes away and comes back: disconnected, one reconnect timer at a time, connected again, events again; stop() leaves no timer', async () => {
    const path = join(dir, `w${++seq}.sock`);
    const baseline = timeouts();
    const first = await serve(path);
    const { h, events, states, retries } = start(path, { reconnect: true, backoffMs: [20, 160] });
    expect(await until(() => h.state === 'connected')).toBe(true);
    expect(states).toEqual(['connected']);
    expect(timeouts()).toBe(baseline); // connected: no timer of its own
    first.publish({ n: 1 });
    expect(await until(() => events.length === 1)).toBe(true);

    await first.close();
    expect(await until(() => states.length === 2)).toBe(true);
    expect(states).toEqual(['connected', 'disconnected']);
    // While the daemon is away it keeps trying, with backoff, never with more than one timer
    // (a reconnect timer while waiting, a connect timer while connecting).
    let most = 0;
    const sample = (): void => {
      most = Math.max(most, timeouts() - baseline);
    };
    expect(await until(() => h.attempts >= 5, 5000, sample)).toBe(true);
    expect(most).toBe(1);
    // Each loss and failed attempt is reported as retrying, the delay doubling up to its ceiling.
    expect(retries[0]).toMatchObject({ error: 'dropped by the daemon: shutting down', delayMs: 20, attempts: 1 });
    expect(retries.slice(1, 4).map((r) => r.delayMs)).toEqual([40, 80, 160]);
    expect(['waiting', 'connecting']).toContain(h.state);

    const second = await serve(path);
    expect(await until(() => h.state === 'connected', 5000, sample)).toBe(true);
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
    expect(most).toBe(1);
    second.publish({ n: 2 });
    expect(await until(() => events.length === 2)).toBe(true);
    expect(events).toEqual([{ n: 1 }, { n: 2 }]);
    // Exactly one connection to the new daemon, and it stays one.
    await sleep(200);
    expect(second.stats()).toMatchObject({ accepted: 1, clients: 1, watchers: 1 });

    const before = timeouts();
    const stopped = h.stop();
    expect(timeouts()).toBe(before); // stop() starts nothing
    await stopped;
    expect(h.state).toBe('stopped');
    await expect(h.done).resolves.toBe('stopped');
    expect(timeouts()).toBeLessThanOrEqual(baseline);
    expect(await until(() => second.stats().clients === 0)).toBe(true);
  });

  it('stop() while waiting to reconnect clears the timer at once, and nothing runs after', async () => {
    const path = join(dir, `w${++seq}.sock`); // nobody listens there
    const baseline = timeouts();
    const { h, states, retries } = start(path, { reconnect: true, backoffMs: [50, 50] });
    // Said at once, and after every failed attempt: no silent retrying.
    expect(await until(() => retries.length > 0)).toBe(true);
    expect(retries[0]).toEqual({ error: `cannot connect to ${path}: ENOENT`, delayMs: 50, maxDelayMs: 50, attempts: 1 });
    expect(await until(() => h.state === 'waiting' && h.attempts >= 2)).toBe(true);
    expect(retries.length).toBe(h.attempts);
    // Compared synchronously, around the call: the reconnect timer, and only it, is gone at once.
    const withTimer = timeouts();
    expect(withTimer).toBeGreaterThanOrEqual(baseline + 1);
    void h.stop();
    expect(timeouts()).toBe(withTimer - 1);
    const attempts = h.attempts;
    await sleep(200);
    expect(h.attempts).toBe(attempts);
    expect(states).toEqual([]);
    await expect(h.done).resolves.toBe('stopped');
    expect(timeouts()).toBeLessThanOrEqual(baseline);
  });

  it('stop() during the first connection attempt aborts it: no timer, no socket, no state change', async () => {
    const path = join(dir, `w${++seq}.sock`);
    const server = await serve(path);
    const baseTimers = timeouts();
    const basePipes = pipes();
    const { h, states } = start(path, { reconnect: true, backoffMs: [10, 10] });
    expect(h.state).toBe('connecting');
    const before = timeouts();
    const stopped = h.stop();
    expect(timeouts()).toBe(before - 1); // the connect attempt's timeout, cleared by the abort
    await stopped;
    expect(timeouts()).toBeLessThanOrEqual(baseTimers);
    await sleep(100);
    expect(states).toEqual([]);
    expect(h.attempts).toBe(1);
    const gone = await until(() => pipes() === basePipes && server.stats().clients === 0);
    expect(gone, JSON.stringify({ pipes: pipes(), basePipes, stats: server.stats() })).toBe(true);
  });

  it('without reconnect: done is `disconnected` when the daemon goes away, and rejects when there is none', async () => {
    const path = join(dir, `w${++seq}.sock`);
    const server = await serve(path);
    const baseline = timeouts();
    const { h, events, states } = start(path);
    expect(await until(() => h.state === 'connected')).toBe(true);
    server.publish('hello');
    expect(await until(() => events.length === 1)).toBe(true);
    await server.close();
    await expect(h.done).resolves.toBe('disconnected');
    expect(states).toEqual(['connected', 'disconnected']);
    expect(h.state).toBe('stopped');
    expect(timeouts()).toBeLessThanOrEqual(baseline);

    const nobody = start(join(dir, 'nobody.sock'));
    await expect(nobody.h.done).rejects.toThrow(/ENOENT/);
    expect(nobody.h.attempts).toBe(1);
    expect(timeouts()).toBeLessThanOrEqual(baseline);
  });

  it('the daemon bouncing five times: each time exactly one new connection, events keep coming', async () => {
    const path = join(dir, `w${++seq}.sock`);
    const { h, events, states } = start(path, { reconnect: true, backoffMs: [10, 40] });
    for (let round = 0; round < 5; round++) {
      const server = await serve(path);
      expect(await until(() => h.state === 'connected' && server.stats().watchers === 1)).toBe(true);
      server.publish({ round });
      expect(await until(() => events.length === round + 1)).toBe(true);
      expect(server.stats().accepted).toBe(1);
      await server.close();
      servers.splice(servers.indexOf(server), 1);
      expect(await until(() => h.state !== 'connected')).toBe(true);
    }
    expect(events).toEqual([0, 1, 2, 3, 4].map((round) => ({ round })));
    expect(states).toEqual(Array.from({ length: 5 }, () => ['connected', 'disconnected']).flat());
  });

  it('resync: the snapshot comes first, then the events published while it was asked, in order; none lost', async () => {
    const path = join(dir, `w${++seq}.sock`);
    let server!: ControlServer;
    let asked = 0;
    // Events published after `watch` and before `show paths` is answered: on the wire before the
    // answer, already reflected in it.
    server = await serve(path, (req) => {
      if (req.command !== 'show paths') return null;
      asked++;
      server.publish({ seq: 1, type: 'state', path: 'a', to: 'down' });
      server.publish({ seq: 2, type: 'state', path: 'a', to: 'up' });
      return [{ device: 'a', state: 'up' }];
    });
    const { h, events } = start(path, { resync: true });
    expect(await until(() => events.length === 3)).toBe(true);
    server.publish({ seq: 3, type: 'state', path: 'a', to: 'ghost' });
    expect(await until(() => events.length === 4)).toBe(true);
    expect(events).toEqual([
      { type: 'snapshot', time: expect.any(String), through: 2, paths: [{ device: 'a', state: 'up' }] },
      { seq: 1, type: 'state', path: 'a', to: 'down' },
      { seq: 2, type: 'state', path: 'a', to: 'up' },
      { seq: 3, type: 'state', path: 'a', to: 'ghost' },
    ]);
    expect(asked).toBe(1);
    expect(h.state).toBe('connected');
  });

  it('resync: a seq that skips or goes back is a gap; after a reconnect, a gap naming the last seq seen, then a new snapshot', async () => {
    const path = join(dir, `w${++seq}.sock`);
    const rows = (n: number) => () => [{ device: 'a', state: `s${n}` }];
    const first = await serve(path, rows(1));
    const { h, events } = start(path, { resync: true, reconnect: true, backoffMs: [10, 40] });
    expect(await until(() => events.length === 1)).toBe(true);
    for (const n of [1, 2, 5, 6, 2]) first.publish({ seq: n });
    expect(await until(() => events.length === 8)).toBe(true);
    const time = expect.any(String);
    expect(events.slice(1)).toEqual([
      { seq: 1 },
      { seq: 2 },
      { type: 'gap', time, after: 2, reason: 'seq-skipped', next: 5, missed: 2 },
      { seq: 5 },
      { seq: 6 },
      { type: 'gap', time, after: 6, reason: 'seq-reset', next: 2 },
      { seq: 2 },
    ]);
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    expect(await until(() => h.state !== 'connected')).toBe(true);
    const second = await serve(path, rows(2));
    expect(await until(() => events.length === 10)).toBe(true);
    expect(events.slice(8)).toEqual([
      { type: 'gap', time, after: 2, reason: 'reconnected' },
      { type: 'snapshot', time, through: null, paths: [{ device: 'a', state: 's2' }] },
    ]);
    // A new daemon counts from 1 again: no gap for that.
    second.publish({ seq: 1 });
    expect(await until(() => events.length === 11)).toBe(true);
    expect(events[10]).toEqual({ seq: 1 });
  });
});
