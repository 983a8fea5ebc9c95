import { afterEach, describe, expect, it } from 'vitest';
import type { CheckHost } from '../../host/registry/check-host.js';
import type { RegistryEvent } from '../../host/registry/registry.js';
import { host, sim, until } from '../pool/pool-helpers.js';
import { fakePlugin } from '../helpers/wat.js';

const FREES_AT = 4000;

let open: CheckHost[] = [];
async function start() {
  const r = await host();
  open.push(r.h);
  const events: RegistryEvent[] = [];
  r.registry.on('event', (e) => events.push(e));
  return { reg: r.registry, pool: r.pool, events };
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const device = () => sim('sim:ok');

describe('class refcount: registry + bound checkers + in-flight jobs', () => {
  it('bind and unbind move the count; unload happens exactly at zero, once pc_free has run', async () => {
    const { reg, events } = await start();
    const cls = await reg.load(fakePlugin());
    expect(cls.refs.count).toBe(1);
    const a = await reg.bind('fake', device());
    const b = await reg.bind('fake', device());
    expect(cls.refs.count).toBe(3);
    expect(cls.contexts.inUse).toBe(2);
    reg.unbind(a);
    // pc_free runs on a worker and holds a reference of its own until it returns.
    expect(await until(() => cls.refs.count === 2 && cls.contexts.inUse === 1)).toBe(true);
    reg.unload('fake');
    expect(cls.state).toBe('draining');
    expect(events.some((e) => e.type === 'unloaded')).toBe(false);
    expect(cls.memory).not.toBeNull();
    reg.unbind(b);
    expect(cls.state).toBe('draining');
    expect(await until(() => cls.state === 'unloaded')).toBe(true);
    expect(cls.refs.count).toBe(0);
    expect(cls.memory).toBeNull();
    expect(reg.classes()).toEqual([]);
    expect(events.filter((e) => e.type === 'unloaded')).toEqual([{ type: 'unloaded', name: 'fake', version: 1 }]);
  });

  it('a checker freed while its check is in flight keeps its context and class until the job ends', async () => {
    const { reg, events } = await start();
    const cls = await reg.load(fakePlugin());
    const checker = await reg.bind('fake', device());
    const job = reg.beginJob(checker)!;
    expect(job).not.toBeNull();
    expect(cls.refs.count).toBe(3);
    reg.unbind(checker);
    reg.unload('fake');
    // The job still holds the context and a class reference: nothing may be freed or reused.
    expect(cls.refs.count).toBe(1);
    expect(cls.contexts.holders(job.handle.slot)).toBe(1);
    expect(cls.state).toBe('draining');
    reg.endJob(job);
    expect(await until(() => cls.state === 'unloaded')).toBe(true);
    expect(cls.refs.count).toBe(0);
    expect(events.filter((e) => e.type === 'unloaded')).toHaveLength(1);
  });

  it('a slot held by a job is not handed to a new checker; a freed slot is, under a new generation', async () => {
    const { reg } = await start();
    const cls = await reg.load(fakePlugin());
    const first = await reg.bind('fake', device());
    const job = reg.beginJob(first)!;
    reg.unbind(first);
    const second = await reg.bind('fake', device());
    expect(second.handle.slot).not.toBe(first.handle.slot);
    reg.endJob(job);
    // Not before pc_free has run on it.
    expect(await until(() => cls.contexts.inUse === 1)).toBe(true);
    const third = await reg.bind('fake', device());
    expect(third.handle.slot).toBe(first.handle.slot);
    expect(third.handle.gen).toBe(first.handle.gen + 1);
    expect(cls.contexts.isCurrent(first.handle)).toBe(false);
  });

  it('a stale handle is refused: no hold, no release, no job', async () => {
    const { reg } = await start();
    const cls = await reg.load(fakePlugin());
    const old = await reg.bind('fake', device());
    const staleHandle = old.handle;
    reg.unbind(old);
    expect(await until(() => cls.contexts.inUse === 0)).toBe(true);
    const fresh = await reg.bind('fake', device());
    expect(fresh.handle.slot).toBe(staleHandle.slot);
    expect(cls.contexts.hold(staleHandle)).toBe(false);
    expect(cls.contexts.release(staleHandle)).toBe(-1);
    expect(cls.contexts.holders(fresh.handle.slot)).toBe(1);
    expect(reg.beginJob(old)).toBeNull();
    expect(() => reg.unbind(old)).toThrow('checker for sim:ok is already unbound');
    expect(cls.refs.count).toBe(2);
  });

  it('a count below zero is reported with the class name and never unloads twice', async () => {
    const { reg, events } = await start();
    const cls = await reg.load(fakePlugin());
    reg.unload('fake');
    expect(cls.state).toBe('unloaded');
    expect(cls.refs.unref()).toBe(-1);
    expect(events.filter((e) => e.type === 'unloaded')).toHaveLength(1);
    expect(events.at(-1)).toEqual({ type: 'refcount-error', name: 'fake', version: 1, count: -1 });
    // A stray reference taken and dropped after unload brings the count back to zero: still no second free.
    cls.refs.ref();
    cls.refs.ref();
    cls.refs.unref();
    expect(events.at(-1)).toEqual({ type: 'refcount-error', name: 'fake', version: 1, count: -1 });
  });

  it('pc_free runs once per context, on a worker, when its last holder lets go', async () => {
    const { reg } = await start();
    const cls = await reg.load(fakePlugin({ free: `(i32.store (i32.const ${FREES_AT}) (i32.add (i32.load (i32.const ${FREES_AT})) (i32.const 1)))` }));
    const frees = () => new DataView(cls.memory!.buffer).getInt32(FREES_AT, true);
    const checker = await reg.bind('fake', device());
    const job = reg.beginJob(checker)!;
    reg.unbind(checker);
    expect(frees()).toBe(0);
    reg.endJob(job);
    expect(await until(() => frees() === 1)).toBe(true);
    expect(await until(() => cls.contexts.inUse === 0)).toBe(true);
    expect(frees()).toBe(1);
  });

  it('pc_init runs on a worker with the path fd and a scratch region, after the context was zeroed', async () => {
    const { reg } = await start();
    // pc_init stores its three arguments at the start of its context.
    const cls = await reg.load(
      fakePlugin({
        ctxSize: 8192,
        init: '(i32.store (local.get $ctx) (local.get $ctx)) (i32.store offset=4 (local.get $ctx) (local.get $fd)) (i32.store offset=8 (local.get $ctx) (local.get $scratch)) (i32.const 0)',
      }),
    );
    const checkers = await Promise.all(Array.from({ length: 12 }, () => reg.bind('fake', device())));
    const last = checkers.at(-1)!;
    const ptr = cls.layout.ctx(last.handle.slot);
    expect(ptr).toBeGreaterThan(65536);
    const view = () => new DataView(cls.memory!.buffer);
    expect(view().getInt32(ptr, true)).toBe(ptr);
    expect(view().getInt32(ptr + 4, true)).toBeGreaterThanOrEqual(4);
    const scratch = view().getInt32(ptr + 8, true);
    expect(scratch).toBeGreaterThanOrEqual(cls.layout.scratch(1));
    expect(scratch).toBeLessThan(cls.layout.ctxBase);
    // A recycled context in a page the memory grew into is zeroed before pc_init.
    reg.unbind(last);
    expect(await until(() => cls.contexts.inUse === 11)).toBe(true);
    // Garbage in the freed slot (only its own bytes: past them is another context, caught as corruption).
    new Uint8Array(cls.memory!.buffer).fill(0xab, ptr + 12, ptr + 8192);
    const again = await reg.bind('fake', device());
    expect(again.handle.slot).toBe(last.handle.slot);
    expect(new Uint8Array(cls.memory!.buffer, ptr + 12, 8192 - 12).every((b) => b === 0)).toBe(true);
  });

  it('hot reload: new binds get the new version at once, the old one drains and unloads', async () => {
    const { reg, events } = await start();
    const v1 = await reg.load(fakePlugin());
    const onV1 = await reg.bind('fake', device());
    const v2 = await reg.load(fakePlugin({ messages: ['says hello again'] }));
    expect(reg.current('fake')).toBe(v2);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v1.state).toBe('draining');
    const onV2 = await reg.bind('fake', device());
    expect(onV2.cls).toBe(v2);
    expect(reg.classes()).toHaveLength(2);
    reg.unbind(onV1);
    expect(await until(() => v1.state === 'unloaded')).toBe(true);
    expect(v2.state).toBe('current');
    // Every worker acknowledges dropping its instance; until then show checkers still lists v1.
    expect(await until(() => events.some((e) => e.type === 'released'))).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['loaded', 'loaded', 'unloaded', 'released']);
    expect(reg.describe().map((c) => [c.version, c.state])).toEqual([[2, 'current']]);
    reg.unbind(onV2);
    expect(await until(() => v2.refs.count === 1)).toBe(true);
  });

  it('bind refuses an unknown class and leaves no reference behind on pc_init failure', async () => {
    const { reg } = await start();
    await expect(reg.bind('nope', device())).rejects.toThrow("no checker class named 'nope' is loaded");
    const cls = await reg.load(fakePlugin({ init: '(i32.const 7)', free: '(unreachable)' }));
    await expect(reg.bind('fake', device())).rejects.toThrow('fake checker failed to initialize a context (pc_init returned 7)');
    // No pc_free for a context whose init failed (it would trap here): the slot goes back at once.
    expect(await until(() => cls.contexts.inUse === 0)).toBe(true);
    expect(cls.refs.count).toBe(1);
  });

  it('a pc_init that traps fails the bind with one line and leaves no context or reference behind (10 times over)', async () => {
    const { reg, pool } = await start();
    const cls = await reg.load(fakePlugin({ name: 'initrap', init: '(unreachable)' }));
    for (let i = 0; i < 10; i++) {
      const err = (await reg.bind('initrap', device()).catch((e: unknown) => e)) as Error;
      // Five strikes quarantine the class: later binds are refused without running any of its code.
      expect(err.message).toMatch(i < 5 ? /^initrap checker pc_init trapped: .*unreachable/ : /^initrap checker quarantined: 5 failures within 60 s; the last: pc_init for sim:ok trapped: .*unreachable/);
      expect(err.message.includes('\n')).toBe(false);
    }
    expect(reg.describe()[0]).toMatchObject({ state: 'quarantined', strikes: 5 });
    expect(await until(() => cls.contexts.inUse === 0)).toBe(true);
    expect(cls.refs.count).toBe(1);
    expect(cls.jobs).toBe(0);
    expect(pool.stats()).toMatchObject({ workers: 2, replaced: 0, inFlight: 0 });
  });
});
