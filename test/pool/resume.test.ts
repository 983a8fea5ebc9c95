import { afterEach, describe, expect, it } from 'vitest';
import type { CheckHost } from '../../host/registry/check-host.js';
import { host, sim, TUR, until } from './pool-helpers.js';

let open: CheckHost[] = [];
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

// tur's scratch layout (assembly/checkers/tur.ts): the request frame at +16, the reply at +80; in
// both, reply_len is at +4 and pack_id at +8 of the sg header.
const REQ = 16;
const REPLY = 80;

describe('a parked check resumes on whichever worker is free', () => {
  it('started on one worker, continued on another: its progress was in the context, and the answer is right', async () => {
    // One worker; a hard hang terminates it while the first check is parked, so the resumption can
    // only run on its replacement.
    const { h, registry, runner, pool } = await host({ size: 1, stuckAfterMs: 200 });
    open.push(h);
    const cls = await registry.load(TUR);
    const slow = sim('sim:hang?id=slow');
    const parked = await registry.bind('tur', slow);
    const check = runner.check(parked, 20_000);
    expect(await until(() => pool.stats().parked === 1)).toBe(true);
    const stuck = await registry.bind('tur', sim('sim:hang-hard'));
    expect((await runner.check(stuck, 100)).state).toBe('timeout');
    expect(await until(() => pool.stats().replaced === 1)).toBe(true);

    slow.release();
    expect(await check).toMatchObject({ state: 'up', message: 'tur checker reports path is up' });
    expect(slow.commandCount).toBe(1);

    // Which scratch regions saw the request and which the reply (reply_len 36 marks a frame).
    const mem = new DataView(cls.memory!.buffer);
    const regions = Array.from({ length: 7 }, (_, r) => cls.layout.scratch(r)).filter((at) => at + 128 <= cls.layout.ctxBase);
    const requestIn = regions.filter((at) => mem.getInt32(at + REQ + 4, true) === 36);
    const replyIn = regions.filter((at) => mem.getInt32(at + REPLY + 4, true) === 36);
    expect(replyIn).toHaveLength(1);
    expect(requestIn.length).toBeGreaterThanOrEqual(1);
    expect(requestIn).not.toContain(replyIn[0]);
    // The reply carries the pack id the first worker wrote into the context.
    expect(mem.getInt32(replyIn[0]! + REPLY + 8, true)).toBe(mem.getUint32(cls.layout.ctx(parked.handle.slot) + 8, true));
  });

  it('many checks parked on slow devices all come back right on 2 workers', async () => {
    const { h, registry, runner, pool } = await host({ size: 2 });
    open.push(h);
    await registry.load(TUR);
    const paths = await Promise.all(Array.from({ length: 200 }, (_, i) => registry.bind('tur', sim(`sim:slow?latency=${50 + (i % 7) * 10}&id=${i}`))));
    let maxParked = 0;
    const sampler = setInterval(() => (maxParked = Math.max(maxParked, pool.stats().parked)), 5);
    const results = await Promise.all(paths.map((p) => runner.check(p, 10_000)));
    clearInterval(sampler);
    expect(results.filter((r) => r.state !== 'up')).toEqual([]);
    // Far more checks waited at once than there are threads.
    expect(maxParked).toBeGreaterThan(50);
  });
});

/** Keep the main thread busy, so completions of several jobs queue up and are handled in one drain. */
function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

/** One worker, a slow device bound to tur v1, and tur v2 loaded: the moment of a hot reload. */
async function reloading() {
  const { h, registry, runner } = await host({ size: 1 });
  open.push(h);
  await registry.load(TUR);
  const device = sim('sim:slow?latency=200');
  const old = await registry.bind('tur', device);
  await registry.load(TUR);
  return { registry, runner, device, old };
}

/** Let the check's job start, then hold the main thread so its completion and another job's are drained together. */
async function drainTogether(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  spin(100);
}

describe('bindings of one device (a path across a hot reload) share its command slot', () => {
  it("the old binding's pc_free ending does not settle the new binding's outstanding command", async () => {
    const { registry, runner, device, old } = await reloading();
    const now = await registry.bind('tur', device);
    registry.unbind(old);
    const check = runner.check(now, 1500);
    await drainTogether();
    expect(await check).toMatchObject({ state: 'up' });
  });

  it("the new binding's pc_init ending does not settle the old binding's outstanding command", async () => {
    const { registry, runner, device, old } = await reloading();
    const rebind = registry.bind('tur', device);
    const check = runner.check(old, 1500);
    await drainTogether();
    expect(await check).toMatchObject({ state: 'up' });
    await rebind;
  });

  it('binding and unbinding beside a running check never takes its reply (bounded: 1,000 rounds)', async () => {
    const { h, registry, runner } = await host({ size: 2 });
    open.push(h);
    await registry.load(TUR);
    const device = sim('sim:ok');
    const path = await registry.bind('tur', device);
    const seen = new Map<string, number>();
    const t0 = Date.now();
    for (let i = 0; i < 1000 && Date.now() - t0 < 20_000; i++) {
      const [r, other] = await Promise.all([runner.check(path, 1000), registry.bind('tur', device)]);
      registry.unbind(other);
      seen.set(`${r.state}: ${r.message}`, (seen.get(`${r.state}: ${r.message}`) ?? 0) + 1);
    }
    expect([...seen.keys()]).toEqual(['up: tur checker reports path is up']);
  });
});

describe('job ids wrap', () => {
  it("a late reply of an abandoned job is discarded even when its id now belongs to a job parked on another device", async () => {
    const { h, registry, runner, pool } = await host({ size: 1 });
    open.push(h);
    await registry.load(TUR);
    const a = sim('sim:hang?id=a');
    const onA = await registry.bind('tur', a);
    // The check of A is abandoned at its deadline; its command stays outstanding, owned by its job id.
    const ids = pool as unknown as { nextJob: number };
    const reused = ids.nextJob;
    expect((await runner.check(onA, 100)).state).toBe('timeout');
    // After 2^31 jobs the same id comes round again: here, for a check parked on device B.
    ids.nextJob = reused;
    const b = sim('sim:slow?latency=300&id=b');
    const onB = await registry.bind('tur', b);
    ids.nextJob = reused;
    const checkB = runner.check(onB, 5000);
    expect(await until(() => pool.stats().parked === 1)).toBe(true);
    a.release();
    // A's late reply is A's: discarded, not taken for B's, and A is free for its next check.
    expect(await until(() => !a.io.busy)).toBe(true);
    expect(await checkB).toMatchObject({ state: 'up' });
    a.setScenario('ok');
    expect(await runner.check(onA, 1000)).toMatchObject({ state: 'up' });
  });
});
