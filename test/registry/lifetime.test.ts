import { describe, expect, it } from 'vitest';
import type { Device } from '../../host/backends/device.js';
import type { RegistryEvent } from '../../host/registry/registry.js';
import { Registry } from '../../host/registry/registry.js';
import { fakePlugin } from '../helpers/wat.js';

const FREES_AT = 4000;

const device = (spec = 'test:dev'): Device => ({
  spec,
  blockSize: 512,
  blockCount: 1,
  scsi: () => ({ status: 0, hostStatus: 0, driverStatus: 0, sense: new Uint8Array(0), dataIn: new Uint8Array(0) }),
  read: () => new Uint8Array(0),
  share: () => {
    throw new Error('not shareable');
  },
});

function recorder(reg: Registry): RegistryEvent[] {
  const events: RegistryEvent[] = [];
  reg.on('event', (e) => events.push(e));
  return events;
}

describe('class refcount: registry + bound checkers + in-flight jobs', () => {
  it('bind and unbind move the count; unload happens exactly at zero', async () => {
    const reg = new Registry();
    const events = recorder(reg);
    const cls = await reg.load(fakePlugin());
    expect(cls.refs.count).toBe(1);
    const a = reg.bind('fake', device());
    const b = reg.bind('fake', device());
    expect(cls.refs.count).toBe(3);
    expect(cls.contexts.inUse).toBe(2);
    expect(cls.control.shim.fds.deviceCount).toBe(2);
    reg.unbind(a);
    expect(cls.refs.count).toBe(2);
    expect(cls.control.shim.fds.deviceCount).toBe(1);
    reg.unload('fake');
    expect(cls.state).toBe('draining');
    expect(events.some((e) => e.type === 'unloaded')).toBe(false);
    expect(cls.memory).not.toBeNull();
    reg.unbind(b);
    expect(cls.refs.count).toBe(0);
    expect(cls.state).toBe('unloaded');
    expect(cls.memory).toBeNull();
    expect(reg.classes()).toEqual([]);
    expect(events.filter((e) => e.type === 'unloaded')).toEqual([{ type: 'unloaded', name: 'fake', version: 1 }]);
  });

  it('a checker freed while its check is in flight keeps its context and class until the job ends', async () => {
    const reg = new Registry();
    const events = recorder(reg);
    const cls = await reg.load(fakePlugin());
    const checker = reg.bind('fake', device());
    const job = reg.beginJob(checker)!;
    expect(job).not.toBeNull();
    expect(cls.refs.count).toBe(3);
    reg.unbind(checker);
    reg.unload('fake');
    // The job still holds the context and a class reference: nothing may be freed or reused.
    expect(cls.refs.count).toBe(1);
    expect(cls.contexts.holders(job.handle.slot)).toBe(1);
    expect(cls.state).toBe('draining');
    expect(cls.control.shim.fds.deviceCount).toBe(1);
    reg.endJob(job);
    expect(cls.refs.count).toBe(0);
    expect(cls.state).toBe('unloaded');
    expect(events.filter((e) => e.type === 'unloaded')).toHaveLength(1);
  });

  it('a slot held by a job is not handed to a new checker; a freed slot is, under a new generation', async () => {
    const reg = new Registry();
    const cls = await reg.load(fakePlugin());
    const first = reg.bind('fake', device());
    const job = reg.beginJob(first)!;
    reg.unbind(first);
    const second = reg.bind('fake', device());
    expect(second.handle.slot).not.toBe(first.handle.slot);
    reg.endJob(job);
    const third = reg.bind('fake', device());
    expect(third.handle.slot).toBe(first.handle.slot);
    expect(third.handle.gen).toBe(first.handle.gen + 1);
    expect(cls.contexts.isCurrent(first.handle)).toBe(false);
  });

  it('a stale handle is refused: no hold, no release, no job', async () => {
    const reg = new Registry();
    const cls = await reg.load(fakePlugin());
    const old = reg.bind('fake', device());
    const staleHandle = old.handle;
    reg.unbind(old);
    const fresh = reg.bind('fake', device());
    expect(fresh.handle.slot).toBe(staleHandle.slot);
    expect(cls.contexts.hold(staleHandle)).toBe(false);
    expect(cls.releaseContext(staleHandle)).toBe(false);
    expect(cls.contexts.holders(fresh.handle.slot)).toBe(1);
    expect(reg.beginJob(old)).toBeNull();
    expect(() => reg.unbind(old)).toThrow('checker for test:dev is already unbound');
    expect(cls.refs.count).toBe(2);
  });

  it('a count below zero is reported with the class name and never unloads twice', async () => {
    const reg = new Registry();
    const events = recorder(reg);
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

  it('pc_free runs once per context, when its last holder lets go', async () => {
    const reg = new Registry();
    const cls = await reg.load(
      fakePlugin({
        extra: `(func $free (export "pc_free") (param $ctx i32)
                  (i32.store (i32.const ${FREES_AT}) (i32.add (i32.load (i32.const ${FREES_AT})) (i32.const 1))))`,
        omit: ['pc_free'],
      }),
    );
    const frees = () => new DataView(cls.memory!.buffer).getInt32(FREES_AT, true);
    const checker = reg.bind('fake', device());
    const job = reg.beginJob(checker)!;
    reg.unbind(checker);
    expect(frees()).toBe(0);
    reg.endJob(job);
    expect(frees()).toBe(1);
  });

  it('a recycled context in a page the memory grew into is zeroed before pc_init', async () => {
    const reg = new Registry();
    const cls = await reg.load(fakePlugin({ ctxSize: 8192 }));
    const checkers = Array.from({ length: 12 }, () => reg.bind('fake', device()));
    const last = checkers.at(-1)!;
    const ptr = cls.layout.ctx(last.handle.slot);
    expect(ptr).toBeGreaterThan(65536);
    new Uint8Array(cls.memory!.buffer).fill(0xab, ptr, ptr + 8192);
    reg.unbind(last);
    const again = reg.bind('fake', device());
    expect(again.handle.slot).toBe(last.handle.slot);
    expect(new Uint8Array(cls.memory!.buffer, ptr, 8192).every((b) => b === 0)).toBe(true);
  });

  it('hot reload: new binds get the new version at once, the old one drains and unloads', async () => {
    const reg = new Registry();
    const events = recorder(reg);
    const v1 = await reg.load(fakePlugin());
    const onV1 = reg.bind('fake', device());
    const v2 = await reg.load(fakePlugin({ messages: ['says hello again'] }));
    expect(reg.current('fake')).toBe(v2);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v1.state).toBe('draining');
    const onV2 = reg.bind('fake', device());
    expect(onV2.cls).toBe(v2);
    expect(reg.classes()).toHaveLength(2);
    reg.unbind(onV1);
    expect(v1.state).toBe('unloaded');
    expect(v2.state).toBe('current');
    expect(events.map((e) => e.type)).toEqual(['loaded', 'loaded', 'unloaded']);
    reg.unbind(onV2);
    expect(v2.refs.count).toBe(1);
  });

  it('bind refuses an unknown class and leaves no reference behind on pc_init failure', async () => {
    const reg = new Registry();
    expect(() => reg.bind('nope', device())).toThrow("no checker class named 'nope' is loaded");
    const cls = await reg.load(fakePlugin({ extra: '(func (export "pc_init") (param i32) (result i32) (i32.const 7))', omit: ['pc_init'] }));
    expect(() => reg.bind('fake', device())).toThrow('fake checker failed to initialize a context (pc_init returned 7)');
    expect(cls.refs.count).toBe(1);
    expect(cls.contexts.inUse).toBe(0);
  });
});
