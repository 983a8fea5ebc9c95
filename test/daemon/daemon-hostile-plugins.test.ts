import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlRequestError } from '../../host/control/control-client.js';
import { BUILT_CHECKERS, DaemonProcess, runPathcheckd, stopAllDaemons, tempDir, waitUntil, type DaemonProcess as Daemon } from '../helpers/daemon-process.js';
import { HEALTHY, staysResponsive } from '../helpers/responsive.js';
import { fakePlugin } from '../helpers/wat.js';

// Plugins that loop in pc_init, pc_free or a metadata export: before ABI v2 these ran on the daemon's
// main thread and froze the control socket and every check until SIGKILL. Now every plugin call runs on
// a worker with a deadline (checker_timeout); the looping worker is terminated and replaced.

afterEach(async () => {
  await stopAllDaemons();
});

const LOOP = '(loop $l (br $l))';
const PLUGINS: Record<string, Uint8Array<ArrayBuffer>> = {
  spininit: fakePlugin({ name: 'spininit', init: `${LOOP} (i32.const 0)` }),
  spinfree: fakePlugin({ name: 'spinfree', free: LOOP }),
  // pc_name is the first metadata export a host reads after the version.
  spinmeta: fakePlugin({ name: 'spinmeta', omit: ['pc_name'], extra: `(func (export "pc_name") (result i32) ${LOOP} (i32.const 0))` }),
};

/** A checker_dir with tur and the looping plugins, each as <name>.wasm. */
function checkerDir(): string {
  const dir = tempDir();
  copyFileSync(join(BUILT_CHECKERS, 'tur.wasm'), join(dir, 'tur.wasm'));
  for (const [name, bytes] of Object.entries(PLUGINS)) writeFileSync(join(dir, `${name}.wasm`), bytes);
  return dir;
}

async function healthyDaemon(): Promise<Daemon> {
  return DaemonProcess.start({
    config: { workers: 2, pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 1, checkerDir: checkerDir(), paths: HEALTHY },
  });
}

describe('plugins that loop outside pc_check cannot stall the daemon', () => {
  it('add path with a checker looping in pc_init: one-line error, the daemon keeps answering and checking', async () => {
    const d = await healthyDaemon();
    const add = d.request('add path', { spec: 'sim:ok?id=bad', checker: 'spininit' }, 20_000);
    const live = await staysResponsive(d, add);
    await expect(add).rejects.toThrow(new ControlRequestError('sim:ok?id=bad: spininit checker pc_init did not return within 1000 ms'));
    expect(live.worstMs).toBeLessThanOrEqual(100);
    expect(live.worstAgeMs).toBeLessThan(2500);
    expect((await d.paths()).map((p) => p.device)).toEqual(HEALTHY);
    // The stuck worker is terminated and replaced.
    await waitUntil('the looping worker replaced', async () => (await d.stats()).pool.replaced >= 1, 10_000);
    expect((await d.paths()).every((p) => p.state === 'up')).toBe(true);
  }, 60_000);

  it('add path with a checker looping in a metadata export: the load fails with one line, nothing is loaded', async () => {
    const d = await healthyDaemon();
    const add = d.request('add path', { spec: 'sim:ok?id=bad', checker: 'spinmeta' }, 20_000);
    const live = await staysResponsive(d, add);
    const err = (await add.catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ControlRequestError);
    expect(err.message).toMatch(/spinmeta\.wasm: reading its metadata exports did not return within 1000 ms$/);
    expect(err.message.includes('\n')).toBe(false);
    expect(live.worstMs).toBeLessThanOrEqual(100);
    expect(live.worstAgeMs).toBeLessThan(2500);
    expect((await d.checkers()).map((c) => c.name)).toEqual(['tur']);
  }, 60_000);

  it('del path of a checker looping in pc_free, then SIGTERM while it loops: bounded, the daemon answered throughout', async () => {
    const d = await healthyDaemon();
    await d.request('add path', { spec: 'sim:ok?id=f', checker: 'spinfree' });
    await d.request('del path', { spec: 'sim:ok?id=f' });
    // pc_free is looping on a worker now.
    const live = await staysResponsive(d, new Promise((r) => setTimeout(r, 2500)));
    expect(live.worstMs).toBeLessThanOrEqual(100);
    expect(live.worstAgeMs).toBeLessThan(2500);
    await waitUntil('pc_free reported as failed', () => d.stderr.some((l) => /spinfree checker pc_free did not finish: worker \d+ stuck \d+ ms past the deadline, terminated/.test(l)), 10_000);
    await d.request('add path', { spec: 'sim:ok?id=g', checker: 'spinfree' });
    await d.request('del path', { spec: 'sim:ok?id=g' });
    const t = performance.now();
    d.signal('SIGTERM');
    const exit = await d.waitExit(10_000);
    expect(exit).toMatchObject({ code: 0 });
    expect(performance.now() - t).toBeLessThan(5000);
  }, 60_000);

  it('reload checker onto a version that loops in pc_init: the paths stay on the working version', async () => {
    const dir = checkerDir();
    const d = await DaemonProcess.start({
      config: { workers: 2, pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 1, checkerDir: dir, paths: HEALTHY },
    });
    // The next version of tur loops in pc_init.
    writeFileSync(join(dir, 'tur.wasm'), fakePlugin({ name: 'tur', init: `${LOOP} (i32.const 0)` }));
    const reload = d.request('reload checker', { name: 'tur' }, 60_000);
    const live = await staysResponsive(d, reload);
    // The first path's init fails; the others are not tried (each would hold a worker for a second).
    await expect(reload).rejects.toThrow(
      new ControlRequestError(`checker tur version 2 loaded, but 20 paths stay on the previous version: ${HEALTHY[0]}: tur checker pc_init did not return within 1000 ms`),
    );
    expect(d.stderr.some((l) => l.includes('checker tur: 19 more paths stay on their current binding'))).toBe(true);
    expect(live.worstMs).toBeLessThanOrEqual(100);
    expect(live.worstAgeMs).toBeLessThan(2500);
    const rows = await d.paths();
    expect(rows.map((r) => r.state)).toEqual(HEALTHY.map(() => 'up'));
    expect(d.stderr.some((l) => l.includes('tur checker pc_init did not return within 1000 ms'))).toBe(true);
    // And onto a version whose metadata export loops: refused with one line, nothing changes.
    writeFileSync(join(dir, 'tur.wasm'), fakePlugin({ name: 'tur', omit: ['pc_name'], extra: `(func (export "pc_name") (result i32) ${LOOP} (i32.const 0))` }));
    const again = d.request('reload checker', { name: 'tur' }, 20_000);
    const live2 = await staysResponsive(d, again);
    const err = (await again.catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ControlRequestError);
    // Timed out, or preempted sooner: the previous version's looping pc_init may still hold the other worker.
    expect(err.message).toMatch(/tur\.wasm: reading its metadata exports (did not return within 1000 ms|did not finish: its call ran \d+ ms on worker \d+ while long calls held every worker and other jobs waited)$/);
    expect(live2.worstMs).toBeLessThanOrEqual(100);
    expect(live2.worstAgeMs).toBeLessThan(2500);
    expect((await d.paths()).map((r) => r.state)).toEqual(HEALTHY.map(() => 'up'));
  }, 90_000);

  it('a config naming a checker that loops in pc_init: start-up fails in bounded time with FILE:LINE', async () => {
    const dir = checkerDir();
    const conf = join(tempDir(), 'bad.conf');
    writeFileSync(conf, `defaults {\n  checker_timeout 1\n  checker_dir "${dir}"\n}\npaths {\n  path {\n    device "sim:ok?id=x"\n    checker spininit\n  }\n}\n`);
    const t = performance.now();
    const r = await runPathcheckd(['--config', conf, '--socket', join(tempDir(), 's.sock')], 20_000);
    expect(performance.now() - t).toBeLessThan(10_000);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`pathcheckd: ${conf}:6: sim:ok?id=x: spininit checker pc_init did not return within 1000 ms`);
  }, 30_000);
});
