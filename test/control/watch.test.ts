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

async function serve(path: string): Promise<ControlServer> {
  const s = new ControlServer({ path, handler: () => null });
  await s.listen();
  servers.push(s);
  return s;
}

function start(path: string, opts: Parameters<typeof watch>[2] = {}) {
  const events: unknown[] = [];
  const states: string[] = [];
  const h = watch(path, (e) => events.push(e), { ...opts, onState: (s) => states.push(s) });
  handles.push(h);
  return { h, events, states };
}

describe('watch --reconnect (seed 2: socket_reconnect_timeout)', () => {
  it('the daemon goes away and comes back: disconnected, one reconnect timer at a time, connected again, events again; stop() leaves no timer', async () => {
    const path = join(dir, `w${++seq}.sock`);
    const baseline = timeouts();
    const first = await serve(path);
    const { h, events, states } = start(path, { reconnect: true, backoffMs: [20, 160] });
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
    const { h, states } = start(path, { reconnect: true, backoffMs: [50, 50] });
    expect(await until(() => h.state === 'waiting' && h.attempts >= 2)).toBe(true);
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
    expect(await until(() => pipes() === basePipes && server.stats().clients === 0)).toBe(true);
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
});
