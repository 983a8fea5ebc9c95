import { afterEach, describe, expect, it } from 'vitest';
import { JobKind } from '../../host/pool/worker-pool.js';
import { CALL_FD } from '../../host/shim/fd-table.js';
import { OUTPUT_BURST, OUTPUT_REFILL_PER_SECOND } from '../../host/shim/output-limit.js';
import type { CheckHost, CheckHostOptions } from '../../host/registry/check-host.js';
import type { CheckerClass } from '../../host/registry/checker-class.js';
import type { RegistryEvent } from '../../host/registry/registry.js';
import { busyCheck, CLOCK_IMPORT, host, recordEnds, setWord, sim, sleep, TUR, until, word } from '../pool/pool-helpers.js';
import { fakePlugin } from '../helpers/wat.js';

/**
 * Containment (docs/ABI.md, DESIGN.md "containment"): what a plugin can reach and what happens to a
 * class that misbehaves. Plugins keep a call counter at COUNTER and read a trigger word at TRIGGER,
 * both in static memory below the scratch base (no data segment covers them, so a new instance does
 * not reset them) and written with atomics: the test sets the trigger from the main thread to make
 * exactly one call misbehave, and reads the counter to tell whether plugin code ran at all.
 */
const COUNTER = 256;
const TRIGGER = 260;
const UP = 3 | (4 << 8);
const DOWN = 2 | (5 << 8);
const COUNT = `(drop (i32.atomic.rmw.add (i32.const ${COUNTER}) (i32.const 1)))`;
/** True once: reads and clears the trigger. */
const TRIGGERED = `(i32.atomic.rmw.xchg (i32.const ${TRIGGER}) (i32.const 0))`;
const WASI = {
  fd_write: '(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))',
  fd_read: '(import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))',
};
const EBADF = 8;

let open: CheckHost[] = [];
async function start(opts: CheckHostOptions = {}) {
  const r = await host(opts);
  open.push(r.h);
  const ends = recordEnds(r.pool);
  return { ...r, ends };
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const calls = (cls: CheckerClass) => word(cls, COUNTER);

// ---------------------------------------------------------------- 1. the per-call device fd

/**
 * A check that probes fds other than the one it was given: fd_write of a TUR frame and fd_read, each
 * errno kept in its context (ctx+0..40), then a TUR on the fd it uses for its own device (`own`: the
 * given fd, or the one pc_init stashed at ctx+48) written and read back (errnos at ctx+40, ctx+44).
 * The fd it was given is kept at ctx+52. Up iff every stray call got EBADF and its own TUR went through.
 * The frame (36-byte sg header, reply_len 36, a 6-byte zero CDB), its iovec and nwritten are in scratch.
 */
const STRAY = ['write fd+1', 'write 5', 'write 6', 'write 7', 'write 64', 'write -1', 'read fd+1', 'read 5', 'read 6', 'read 0x7fffffff'];
function fdProber(own: string): Uint8Array<ArrayBuffer> {
  const s = '(local.get $scratch)';
  const fd = '(local.get $fd)';
  const write = (f: string) => `(call $fd_write ${f} (i32.add ${s} (i32.const 48)) (i32.const 1) (i32.add ${s} (i32.const 56)))`;
  const read = (f: string) => `(call $fd_read ${f} (i32.add ${s} (i32.const 48)) (i32.const 1) (i32.add ${s} (i32.const 56)))`;
  const fdPlus1 = `(i32.add ${fd} (i32.const 1))`;
  const probes = [write(fdPlus1), write('(i32.const 5)'), write('(i32.const 6)'), write('(i32.const 7)'), write('(i32.const 64)'), write('(i32.const -1)'), read(fdPlus1), read('(i32.const 5)'), read('(i32.const 6)'), read('(i32.const 0x7fffffff)')];
  return fakePlugin({
    name: 'fdprobe',
    ctxSize: 64,
    extra: `${WASI.fd_write}\n${WASI.fd_read}`,
    init: `(i32.store offset=48 (local.get $ctx) ${fd}) (i32.const 0)`,
    check: `(local $i i32) (local $ok i32)
      (memory.fill ${s} (i32.const 0) (i32.const 42))
      (i32.store offset=4 ${s} (i32.const 36))
      (i32.store offset=48 ${s} ${s})
      (i32.store offset=52 ${s} (i32.const 42))
      ${probes.map((p, i) => `(i32.store offset=${i * 4} (local.get $ctx) ${p})`).join('\n')}
      (i32.store offset=40 (local.get $ctx) ${write(own)})
      (i32.store offset=44 (local.get $ctx) ${read(own)})
      (i32.store offset=52 (local.get $ctx) ${fd})
      (local.set $ok (i32.and (i32.eqz (i32.load offset=40 (local.get $ctx))) (i32.eqz (i32.load offset=44 (local.get $ctx)))))
      (loop $l
        (local.set $ok (i32.and (local.get $ok) (i32.eq (i32.load (i32.add (local.get $ctx) (local.get $i))) (i32.const ${EBADF}))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))
      (select (i32.const ${UP}) (i32.const ${DOWN}) (local.get $ok))`,
  });
}

/** What fdProber left in a path's context: the stray errnos by probe, its own TUR's, the fds. */
function probed(cls: CheckerClass, slot: number) {
  const at = cls.layout.ctx(slot);
  const w = (o: number) => word(cls, at + o);
  return {
    stray: Object.fromEntries(STRAY.map((name, i) => [name, w(i * 4)])),
    own: { write: w(40), read: w(44) },
    initFd: w(48),
    checkFd: w(52),
  };
}

describe('each plugin call reaches only its own path device, on fd 4', () => {
  for (const variant of ['the fd pc_check is given', 'the fd pc_init stashed in its context'] as const) {
    it(`every other fd is EBADF; the TUR on ${variant} reaches that path's device and no other (2 paths, 2 workers, 10 rounds)`, async () => {
      const { registry, runner } = await start();
      const cls = await registry.load(fdProber(variant === 'the fd pc_check is given' ? '(local.get $fd)' : '(i32.load offset=48 (local.get $ctx))'));
      const a = sim('sim:ok?id=a');
      const b = sim('sim:ok?id=b');
      const onA = await registry.bind('fdprobe', a);
      const onB = await registry.bind('fdprobe', b);
      const everyStray = Object.fromEntries(STRAY.map((name) => [name, EBADF]));
      for (let round = 1; round <= 10; round++) {
        // Both paths at once, so that over the rounds each worker's instance has seen both devices.
        const [ra, rb] = await Promise.all([runner.check(onA, 2000), runner.check(onB, 2000)]);
        for (const [r, checker] of [[ra, onA], [rb, onB]] as const) {
          expect(probed(cls, checker.handle.slot)).toEqual({ stray: everyStray, own: { write: 0, read: 0 }, initFd: CALL_FD, checkFd: CALL_FD });
          expect(r).toMatchObject({ state: 'up', message: 'fdprobe checker reports path is up' });
        }
        // Each path's TUR reached its own device only: no stray command ever reached the other one.
        expect([a.commandCount, b.commandCount]).toEqual([round, round]);
      }
    });
  }
});

// ---------------------------------------------------------------- 2. corruption

describe('memory corruption quarantines the class', () => {
  it('a check that sweeps the whole memory ends corrupt (overran); the class is quarantined and runs no more plugin code', async () => {
    const { registry, runner, events, ends } = await start();
    const cls = await registry.load(
      fakePlugin({ name: 'sweeper', check: `${COUNT} (if ${TRIGGERED} (then (memory.fill (i32.const 0) (i32.const 0) (i32.mul (memory.size) (i32.const 65536))))) (i32.const ${UP})` }),
    );
    expect(TRIGGER + 4).toBeLessThanOrEqual(cls.layout.scratchBase);
    const paths = await Promise.all(['a', 'b', 'c'].map((id) => registry.bind('sweeper', sim(`sim:ok?id=${id}`))));
    for (const p of paths) expect(await runner.check(p, 2000)).toMatchObject({ state: 'up' });
    expect(calls(cls)).toBe(3);

    setWord(cls, TRIGGER, 1);
    const reason = 'the check of sim:ok?id=b wrote outside its context slot';
    const message = `sweeper checker quarantined: ${reason}`;
    expect(await runner.check(paths[1]!, 2000)).toMatchObject({ state: 'wild', message });
    expect(ends.filter((e) => e.kind === JobKind.CHECK).at(-1)!.end).toMatchObject({ kind: 'corrupt', how: 'overran' });
    expect(cls.quarantine).toBe(reason);
    expect(events.filter((e) => e.type === 'quarantined')).toEqual([{ type: 'quarantined', name: 'sweeper', version: 1, reason }]);
    expect(registry.describe()[0]).toMatchObject({ name: 'sweeper', state: 'quarantined', quarantine: reason });

    // The sweep zeroed the counter too; from now on nothing of the class runs, so it stays where it is.
    const before = calls(cls);
    const checksBefore = ends.length;
    for (let i = 0; i < 3; i++) for (const p of paths) expect(await runner.check(p, 2000)).toMatchObject({ state: 'wild', message, ms: 0 });
    expect(calls(cls)).toBe(before);
    expect(ends.length).toBe(checksBefore);
  });

  it("a check that writes into the next slot's interior (skipping the guards) goes unseen; the neighbour's next check ends corrupt (changed)", async () => {
    const CTX_SIZE = 16;
    const STRIDE = 32; // align(16) + the 16-byte guard, asserted below
    const { registry, runner, events, ends } = await start();
    const cls = await registry.load(
      fakePlugin({
        name: 'scribbler',
        ctxSize: CTX_SIZE,
        check: `${COUNT} (if ${TRIGGERED} (then (i32.store (i32.add (local.get $ctx) (i32.const ${STRIDE})) (i32.const 0x5eed)))) (i32.const ${UP})`,
      }),
    );
    expect(cls.layout.ctxStride).toBe(STRIDE);
    const a = await registry.bind('scribbler', sim('sim:ok?id=a'));
    const b = await registry.bind('scribbler', sim('sim:ok?id=b'));
    const c = await registry.bind('scribbler', sim('sim:ok?id=c'));
    expect([a.handle.slot + 1, b.handle.slot + 1]).toEqual([b.handle.slot, c.handle.slot]);
    for (const p of [a, b, c]) expect(await runner.check(p, 2000)).toMatchObject({ state: 'up' });

    setWord(cls, TRIGGER, 1);
    // The writer's own guards are intact: its check is fine, and nothing is flagged yet.
    expect(await runner.check(a, 2000)).toMatchObject({ state: 'up' });
    expect(word(cls, cls.layout.ctx(b.handle.slot))).toBe(0x5eed);
    expect(cls.quarantine).toBeNull();
    const ran = calls(cls);
    const reason = 'the context of sim:ok?id=b was changed between its calls, by another call of the class';
    const message = `scribbler checker quarantined: ${reason}`;
    expect(await runner.check(b, 2000)).toMatchObject({ state: 'wild', message });
    expect(ends.at(-1)!.end).toMatchObject({ kind: 'corrupt', how: 'changed' });
    // Verified before the call: b's pc_check did not run on the changed context.
    expect(calls(cls)).toBe(ran);
    expect(cls.quarantine).toBe(reason);
    expect(events.filter((e) => e.type === 'quarantined')).toEqual([{ type: 'quarantined', name: 'scribbler', version: 1, reason }]);
    for (const p of [a, b, c]) expect(await runner.check(p, 2000)).toMatchObject({ state: 'wild', message });
    expect(calls(cls)).toBe(ran);
  });

  it('a plugin that writes all of its context and scratch on every check is never flagged (1,000 checks, 8 paths, 2 workers)', async () => {
    const SIZE = 100; // not a multiple of 16: the slot is rounded up, and the host checksums all of it
    const { registry, runner, events, ends, pool } = await start({ size: 2 });
    const cls = await registry.load(
      fakePlugin({
        name: 'tidy',
        ctxSize: SIZE,
        scratchSize: SIZE,
        check: `(local $v i32)
          (local.set $v (i32.add (i32.load8_u (local.get $ctx)) (i32.const 1)))
          (memory.fill (local.get $ctx) (local.get $v) (i32.const ${SIZE}))
          (memory.fill (local.get $scratch) (local.get $v) (i32.const ${SIZE}))
          ${COUNT}
          (i32.const ${UP})`,
      }),
    );
    const paths = await Promise.all(Array.from({ length: 8 }, (_, i) => registry.bind('tidy', sim(`sim:ok?id=p${i}`))));
    const states = new Map<string, number>();
    const deadline = Date.now() + 15_000;
    for (let round = 0; round < 125 && Date.now() < deadline; round++) {
      for (const r of await Promise.all(paths.map((p) => runner.check(p, 2000)))) states.set(`${r.state}: ${r.message}`, (states.get(`${r.state}: ${r.message}`) ?? 0) + 1);
    }
    expect(Object.fromEntries(states)).toEqual({ 'up: tidy checker reports path is up': 1000 });
    expect(calls(cls)).toBe(1000);
    expect(ends.filter((e) => e.end.kind !== 'returned')).toEqual([]);
    expect(cls.quarantine).toBeNull();
    expect(events.filter((e) => e.type === 'quarantined')).toEqual([]);
    // Each context's first byte counts its checks (125 each).
    for (const p of paths) expect(new Uint8Array(cls.memory!.buffer)[cls.layout.ctx(p.handle.slot)]).toBe(125);
    expect(pool.stats()).toMatchObject({ workers: 2, replaced: 0 });
  });
});

// ---------------------------------------------------------------- 3. strikes and quarantine

describe('strikes: repeated failures quarantine a class; a slow device is not its fault', () => {
  it('a trapping check is down for 5 checks; the 5th strike in 60 s quarantines; a fixed version loaded under the name serves', async () => {
    const { registry, runner, events } = await start();
    const v1 = await registry.load(fakePlugin({ name: 'trapper', check: `${COUNT} (unreachable)` }));
    const path = await registry.bind('trapper', sim('sim:ok?id=t1'));
    for (let i = 1; i <= 5; i++) {
      expect(await runner.check(path, 2000)).toMatchObject({ state: 'down', message: 'trapper checker trapped: unreachable' });
      expect(v1.quarantine === null).toBe(i < 5);
    }
    const reason = '5 failures within 60 s; the last: the check of sim:ok?id=t1 trapped: unreachable';
    expect(v1.quarantine).toBe(reason);
    expect(events.filter((e) => e.type === 'quarantined')).toEqual([{ type: 'quarantined', name: 'trapper', version: 1, reason }]);
    expect(registry.describe()[0]).toMatchObject({ state: 'quarantined', strikes: 5, quarantine: reason });
    for (let i = 0; i < 3; i++) expect(await runner.check(path, 2000)).toMatchObject({ state: 'wild', message: `trapper checker quarantined: ${reason}`, ms: 0 });
    expect(calls(v1)).toBe(5);
    await expect(registry.bind('trapper', sim('sim:ok?id=t2'))).rejects.toThrow(`trapper checker quarantined: ${reason}`);

    const v2 = await registry.load(fakePlugin({ name: 'trapper' }));
    expect(v2.version).toBe(2);
    const fixed = await registry.bind('trapper', sim('sim:ok?id=t2'));
    expect(await runner.check(fixed, 2000)).toMatchObject({ state: 'up', message: 'trapper checker reports path is up' });
    // The path still bound to v1 stays quarantined until it is rebound.
    expect(await runner.check(path, 2000)).toMatchObject({ state: 'wild' });
    expect(registry.describe().map((c) => [c.version, c.state])).toEqual([
      [1, 'quarantined'],
      [2, 'current'],
    ]);
  });

  it('a quarantine stops the calls already queued: 12 trapping checks at once run pc_check at most 5 + 2 times', async () => {
    const { registry, runner } = await start({ size: 2 });
    // Each trap comes after 20 ms of work, so the queue still holds checks when the fifth strike lands.
    const slowTrap = busyCheck(20).replace('(i32.or (i32.const 3) (i32.shl (i32.const 4) (i32.const 8)))', `${COUNT} (unreachable)`);
    const cls = await registry.load(fakePlugin({ name: 'trapper', ctxSize: 16, extra: CLOCK_IMPORT, check: slowTrap }));
    const paths = await Promise.all(Array.from({ length: 12 }, (_, i) => registry.bind('trapper', sim(`sim:ok?id=q${i}`))));
    const results = await Promise.all(paths.map((p) => runner.check(p, 2000)));
    expect(cls.quarantine).not.toBeNull();
    // Five strikes, plus what the two workers had already started when the fifth came back.
    expect(calls(cls)).toBeLessThanOrEqual(7);
    const quarantined = results.filter((r) => r.state === 'wild' && r.message.startsWith('trapper checker quarantined: '));
    expect(quarantined.length + results.filter((r) => r.state === 'down').length).toBe(12);
    expect(quarantined.length).toBeGreaterThanOrEqual(5);
    expect(await until(() => cls.jobs === 0 && cls.refs.count === 13)).toBe(true);
  });

  it('late returns are no strikes: 200 tur paths on 20 ms devices with 20-24 ms deadlines, 20 rounds, tur never quarantined', async () => {
    const { registry, runner } = await start({ size: 2, strikeLimit: 1 });
    const tur = await registry.load(TUR);
    const paths = await Promise.all(Array.from({ length: 200 }, (_, i) => registry.bind('tur', sim(`sim:slow?latency=20&id=l${i}`))));
    const states = new Set<string>();
    for (let round = 0; round < 20; round++) {
      for (const r of await Promise.all(paths.map((p, i) => runner.check(p, 20 + (i % 5))))) states.add(r.state);
      await sleep(30);
    }
    // Some checks came back just past their deadline (a device answering in about the deadline).
    expect([...states].every((s) => ['up', 'timeout', 'pending'].includes(s))).toBe(true);
    expect(tur.quarantine).toBeNull();
  });

  it('strikeLimit and strikeWindowMs pass through CheckHost options; strikes age out of the window', async () => {
    const { registry, runner } = await start({ strikeLimit: 3, strikeWindowMs: 500 });
    const cls = await registry.load(fakePlugin({ name: 'trapper', check: '(unreachable)' }));
    const path = await registry.bind('trapper', sim('sim:ok'));
    const trap = async () => expect(await runner.check(path, 2000)).toMatchObject({ state: 'down', message: 'trapper checker trapped: unreachable' });
    await trap();
    await trap();
    expect(registry.describe()[0]!.strikes).toBe(2);
    await sleep(600);
    await trap();
    await trap();
    expect(registry.describe()[0]!.strikes).toBe(2);
    expect(cls.quarantine).toBeNull();
    await trap();
    expect(cls.quarantine).toBe('3 failures within 0.5 s; the last: the check of sim:ok trapped: unreachable');
  });

  it('10 checks abandoned at their deadline on hung devices (sim:hang) are no strikes: tur is not quarantined', async () => {
    const { registry, runner, ends, events } = await start();
    const cls = await registry.load(TUR);
    const devices = Array.from({ length: 10 }, (_, i) => sim(`sim:hang?id=h${i}`));
    const paths = await Promise.all(devices.map((d) => registry.bind('tur', d)));
    const results = await Promise.all(paths.map((p) => runner.check(p, 150)));
    expect(results.map((r) => `${r.state}: ${r.message}`)).toEqual(Array(10).fill('timeout: tur checker timed out'));
    expect(await until(() => cls.jobs === 0, 2000)).toBe(true);
    expect(ends.filter((e) => e.kind === JobKind.CHECK).map((e) => e.end.kind)).toEqual(Array(10).fill('abandoned'));
    expect(cls.quarantine).toBeNull();
    expect(registry.describe()[0]).toMatchObject({ state: 'current', strikes: 0 });
    expect(events.filter((e) => e.type === 'quarantined')).toEqual([]);
    // The devices recover: tur still runs.
    for (const d of devices) d.setScenario('ok');
    expect(await until(() => devices.every((d) => !d.io.busy), 2000)).toBe(true);
    for (const r of await Promise.all(paths.map((p) => runner.check(p, 2000)))) expect(r.state).toBe('up');
  });

  it('a worker blocked in a device call (sim:hang-hard) and terminated by the watchdog is no strike (strikeLimit 1); a looping one is', async () => {
    const { registry, runner, ends, pool } = await start({ strikeLimit: 1, stuckAfterMs: 150 });
    const tur = await registry.load(TUR);
    const device = sim('sim:hang-hard');
    const stuck = await registry.bind('tur', device);
    expect(await runner.check(stuck, 100)).toMatchObject({ state: 'timeout', message: 'tur checker timed out' });
    expect(await until(() => tur.jobs === 0, 3000)).toBe(true);
    expect(ends.filter((e) => e.kind === JobKind.CHECK).at(-1)!.end).toMatchObject({ kind: 'terminated', inDevice: true });
    expect(pool.stats().replaced).toBe(1);
    expect(tur.quarantine).toBeNull();
    expect(tur.strikes.count()).toBe(0);
    expect(await runner.check(await registry.bind('tur', sim('sim:ok')), 2000)).toMatchObject({ state: 'up' });

    // The same termination of a thread stuck in plugin code is the class's strike.
    const spin = await registry.load(fakePlugin({ name: 'spin', check: '(loop $l (br $l)) (i32.const 3)' }));
    const looping = await registry.bind('spin', sim('sim:ok?id=spin'));
    expect(await runner.check(looping, 100)).toMatchObject({ state: 'timeout', message: 'spin checker timed out' });
    expect(await until(() => spin.jobs === 0, 3000)).toBe(true);
    expect(ends.filter((e) => e.kind === JobKind.CHECK).at(-1)!.end).toMatchObject({ kind: 'terminated', inDevice: false });
    expect(spin.quarantine).toMatch(/^1 failures within 60 s; the last: the check of sim:ok\?id=spin did not finish: worker \d+ stuck \d+ ms past the deadline, terminated$/);
  });
});

// ---------------------------------------------------------------- 5. result bits

describe('check result encoding', () => {
  it('a result with any of bits 16-30 set is wild (invalid result), not cut to its low bytes; no strike', async () => {
    const { registry, runner } = await start();
    for (const [i, raw] of [3 | (5 << 8) | (1 << 16), 0x40000003].entries()) {
      const name = `bits${i}`;
      const cls = await registry.load(fakePlugin({ name, check: `(i32.const ${raw})` }));
      const path = await registry.bind(name, sim('sim:ok'));
      const hex = (raw >>> 0).toString(16).padStart(8, '0');
      expect(await runner.check(path, 2000)).toMatchObject({ state: 'wild', message: `${name} checker returned invalid result 0x${hex}: bits 16-30 must be 0` });
      expect(cls.strikes.count()).toBe(0);
    }
  });
});

// ---------------------------------------------------------------- 6. plugin output

type Output = Extract<RegistryEvent, { type: 'plugin-output' }>;

describe('plugin stdout and stderr reach the registry, capped', () => {
  it("a check's line on stdout is a plugin-output event", async () => {
    const { registry, runner, events } = await start();
    // 'hello\n' at 2048 (static data, read only); the iovec and nwritten in the context.
    await registry.load(
      fakePlugin({
        name: 'talker',
        extra: `${WASI.fd_write} (data (i32.const 2048) "hello\\n")`,
        check: `(i32.store (local.get $ctx) (i32.const 2048)) (i32.store offset=4 (local.get $ctx) (i32.const 6))
          (drop (call $fd_write (i32.const 1) (local.get $ctx) (i32.const 1) (i32.add (local.get $ctx) (i32.const 8))))
          (i32.const ${UP})`,
      }),
    );
    const path = await registry.bind('talker', sim('sim:ok'));
    expect(await runner.check(path, 2000)).toMatchObject({ state: 'up' });
    expect(await until(() => events.some((e) => e.type === 'plugin-output'), 2000)).toBe(true);
    expect(events.filter((e) => e.type === 'plugin-output')).toEqual([{ type: 'plugin-output', name: 'talker', version: 1, stream: 'stdout', text: 'hello\n', dropped: 0 }]);
  });

  it('a flood (1,000 iovecs of 64 KiB per call) passes at most the burst plus refill per thread; every dropped byte is reported', async () => {
    const IOVECS = 1000;
    const CHUNK = 65536;
    const { registry, runner, events } = await start({ size: 2 });
    // Scratch holds 64 KiB of 63 'A's and a newline per line; the context holds 1,000 iovecs of all of it.
    await registry.load(
      fakePlugin({
        name: 'flood',
        ctxSize: IOVECS * 8 + 16,
        scratchSize: CHUNK,
        extra: WASI.fd_write,
        check: `(local $i i32)
          (if ${TRIGGERED} (then
            (memory.fill (local.get $scratch) (i32.const 0x41) (i32.const ${CHUNK}))
            (local.set $i (i32.const 63))
            (loop $nl
              (i32.store8 (i32.add (local.get $scratch) (local.get $i)) (i32.const 10))
              (local.set $i (i32.add (local.get $i) (i32.const 64)))
              (br_if $nl (i32.lt_u (local.get $i) (i32.const ${CHUNK}))))
            (local.set $i (i32.const 0))
            (loop $iov
              (i32.store (i32.add (local.get $ctx) (local.get $i)) (local.get $scratch))
              (i32.store offset=4 (i32.add (local.get $ctx) (local.get $i)) (i32.const ${CHUNK}))
              (local.set $i (i32.add (local.get $i) (i32.const 8)))
              (br_if $iov (i32.lt_u (local.get $i) (i32.const ${IOVECS * 8}))))
            (drop (call $fd_write (i32.const 1) (local.get $ctx) (i32.const ${IOVECS}) (i32.add (local.get $ctx) (i32.const ${IOVECS * 8}))))))
          (i32.const ${UP})`,
      }),
    );
    const cls = registry.current('flood')!;
    const paths = await Promise.all(Array.from({ length: 4 }, (_, i) => registry.bind('flood', sim(`sim:ok?id=f${i}`))));
    const outputs = () => events.filter((e): e is Output => e.type === 'plugin-output');
    // Each path floods once (4 calls), one after the other, each armed by the trigger.
    const t0 = performance.now();
    for (const p of paths) {
      setWord(cls, TRIGGER, 1);
      expect(await runner.check(p, 5000)).toMatchObject({ state: 'up' });
    }
    const floodSeconds = (performance.now() - t0) / 1000;
    const written = paths.length * IOVECS * CHUNK;
    const passed = () => outputs().reduce((n, e) => n + e.text.length, 0);
    const dropped = () => outputs().reduce((n, e) => n + e.dropped, 0);
    // Quiet checks (no trigger) let each worker flush what it still counts, at most once a second.
    const deadline = performance.now() + 5000;
    while (passed() + dropped() < written && performance.now() < deadline) {
      await Promise.all(paths.map((p) => runner.check(p, 2000)));
      await sleep(100);
    }
    expect({ passed: passed(), dropped: dropped() }).toEqual({ passed: passed(), dropped: written - passed() });
    // Two threads, each with its own bucket: a burst each, plus what refilled while the flood went on.
    expect(passed()).toBeGreaterThanOrEqual(OUTPUT_BURST);
    expect(passed()).toBeLessThanOrEqual(2 * (OUTPUT_BURST + OUTPUT_REFILL_PER_SECOND * floodSeconds));
    for (const e of outputs()) {
      expect(e).toMatchObject({ name: 'flood', version: 1, stream: 'stdout' });
      expect(e.text.length).toBeLessThanOrEqual(OUTPUT_BURST);
      // Whole lines only.
      expect(e.text).toMatch(/^(A{63}\n)*$/);
    }
  });
});

// ---------------------------------------------------------------- 7. unload acknowledgements

describe('unloadUnused', () => {
  it('keeps a name whose paths could not move to its new version (they run on the draining one)', async () => {
    const { registry } = await start();
    await registry.load(fakePlugin({ name: 'fake' }));
    const path = await registry.bind('fake', sim('sim:ok?id=u1'));
    // The new version fails every pc_init: the path stays on v1, v2 is current with no checkers.
    const v2 = await registry.load(fakePlugin({ name: 'fake', init: '(i32.const 7)' }));
    await expect(registry.bind('fake', sim('sim:ok?id=u2'))).rejects.toThrow('fake checker failed to initialize a context (pc_init returned 7)');
    expect(registry.unloadUnused()).toEqual([]);
    expect(registry.current('fake')).toBe(v2);
    registry.unbind(path);
    expect(await until(() => registry.classes().length === 1)).toBe(true);
    expect(registry.unloadUnused()).toEqual(['fake']);
    expect(registry.current('fake')).toBeUndefined();
  });
});

describe('an unloaded class is listed until every worker has dropped its instance', () => {
  /** Load `gone`, check two paths with it, unbind them: only the registry's reference on it is left. */
  async function unusedClass(registry: Awaited<ReturnType<typeof start>>['registry'], runner: Awaited<ReturnType<typeof start>>['runner']) {
    const cls = await registry.load(fakePlugin({ name: 'gone' }));
    const paths = await Promise.all([0, 1].map((i) => registry.bind('gone', sim(`sim:ok?id=g${i}`))));
    for (const r of await Promise.all(paths.map((p) => runner.check(p, 2000)))) expect(r.state).toBe('up');
    for (const p of paths) registry.unbind(p);
    expect(await until(() => cls.refs.count === 1 && cls.contexts.inUse === 0, 2000)).toBe(true);
    return cls;
  }

  const released = (events: readonly { readonly type: string; readonly name?: string }[]) => events.filter((e) => e.type === 'released' && e.name === 'gone');

  it('state unloaded with releasePending > 0 until both workers acknowledged (one is busy in a long call), then released and gone', async () => {
    const { registry, runner, pool, events } = await start({ size: 2 });
    const gone = await unusedClass(registry, runner);
    await registry.load(fakePlugin({ name: 'busy', extra: CLOCK_IMPORT, check: busyCheck(1500) }));
    const long = runner.check(await registry.bind('busy', sim('sim:ok?id=busy')), 5000);
    expect(await until(() => pool.stats().busy === 1, 2000)).toBe(true);

    registry.unload('gone');
    expect(gone.state).toBe('unloaded');
    expect(events.filter((e) => e.type === 'unloaded')).toEqual([{ type: 'unloaded', name: 'gone', version: 1 }]);
    expect(registry.describe().find((c) => c.name === 'gone')).toMatchObject({ state: 'unloaded', releasePending: 2 });
    expect(pool.releasePending(gone.id)).toBe(2);
    // The idle worker acknowledges at once; the busy one only once its call has returned.
    expect(await until(() => pool.releasePending(gone.id) === 1, 2000)).toBe(true);
    await sleep(100);
    expect(pool.stats().busy).toBe(1);
    expect(pool.releasePending(gone.id)).toBe(1);
    expect(registry.describe().find((c) => c.name === 'gone')).toMatchObject({ state: 'unloaded', releasePending: 1 });
    expect(released(events)).toEqual([]);

    expect(await long).toMatchObject({ state: 'up' });
    expect(await until(() => released(events).length > 0, 2000)).toBe(true);
    expect(released(events)).toEqual([{ type: 'released', name: 'gone', version: 1 }]);
    expect(pool.releasePending(gone.id)).toBe(0);
    expect(registry.describe().map((c) => c.name)).toEqual(['busy']);
  });

  it('a worker terminated while stuck (condemned) counts as having released the class', async () => {
    const { registry, runner, pool, events } = await start({ size: 2, stuckAfterMs: 600 });
    const gone = await unusedClass(registry, runner);
    await registry.load(TUR);
    const device = sim('sim:hang-hard');
    const hung = runner.check(await registry.bind('tur', device), 100);
    expect(await until(() => device.commandCount === 1, 2000)).toBe(true);

    registry.unload('gone');
    expect(await until(() => pool.releasePending(gone.id) === 1, 2000)).toBe(true);
    // The other worker is blocked in the device and never reads its port: only its exit answers.
    expect(pool.stats()).toMatchObject({ busy: 1, replaced: 0 });
    expect(released(events)).toEqual([]);
    expect(registry.describe().find((c) => c.name === 'gone')).toMatchObject({ state: 'unloaded', releasePending: 1 });

    expect(await hung).toMatchObject({ state: 'timeout' });
    expect(await until(() => released(events).length > 0, 3000)).toBe(true);
    expect(pool.stats().replaced).toBe(1);
    const order = events.map((e) => e.type).filter((t) => t === 'worker-replaced' || t === 'released');
    expect(order).toEqual(['worker-replaced', 'released']);
    expect(pool.releasePending(gone.id)).toBe(0);
    expect(registry.describe().map((c) => c.name)).toEqual(['tur']);
  });
});
