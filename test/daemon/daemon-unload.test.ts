import { afterEach, describe, expect, it } from 'vitest';
import { ControlRequestError } from '../../host/control/control-client.js';
import { DaemonProcess, runPathcheck, stopAllDaemons, waitUntil, type CheckerRow } from '../helpers/daemon-process.js';
import { CLASS_METRICS } from '../helpers/class-metrics.js';

// Black-box tests of unloading checker classes no path uses (issue 10): after a reconfigure, and by
// `unload checker`, against the built daemon through its control socket (npm test builds dist/ first).
// Quarantine and plugin output cannot be provoked with the built checkers: what the daemon makes of
// them is tested in test/daemon/class-events.test.ts; black-box tests of them come with that behaviour.

afterEach(async () => {
  await stopAllDaemons();
});

/** What `show checkers` answers since issue 10. */
interface ClassRow extends CheckerRow {
  readonly quarantine: string | null;
  readonly strikes: number;
  readonly releasePending: number;
}

const TUR_PATHS = ['sim:ok?id=a', 'sim:ok?id=b'];
const NONE_PATH = 'sim:down?id=n';

function start(): Promise<DaemonProcess> {
  return DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, paths: [...TUR_PATHS, { device: NONE_PATH, checker: 'none' }] } });
}

const classes = (d: DaemonProcess): Promise<ClassRow[]> => d.checkers() as Promise<ClassRow[]>;

/** Unloaded classes stay listed until every worker has acknowledged dropping them: wait for that. */
const noClassesLeft = (d: DaemonProcess): Promise<true> =>
  waitUntil('show checkers empty (every release acknowledged)', async () => (await classes(d)).length === 0, 15_000);

/** `show metrics` as sample name -> value. */
async function samples(d: DaemonProcess): Promise<Map<string, number>> {
  const text = await d.request<string>('show metrics');
  const out = new Map<string, number>();
  for (const l of text.trimEnd().split('\n')) {
    if (l.startsWith('#')) continue;
    const m = /^(\S+) (\S+)$/.exec(l);
    if (m === null) throw new Error(`bad metric line: ${l}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}


async function everyPathChecked(d: DaemonProcess): Promise<void> {
  await waitUntil('every path checked', async () => (await d.paths()).every((p) => p.checks >= 1), 15_000);
}

describe('reconfigure unloads the classes no path uses any more', () => {
  it('a config with no paths: no class stays current, class-unloaded and class-released come for each', async () => {
    const d = await start();
    await everyPathChecked(d);
    const log = await d.events();
    expect((await classes(d)).map((c) => [c.name, c.version, c.state])).toEqual([
      ['tur', 1, 'current'],
      ['none', 1, 'current'],
    ]);

    d.writeConfig({ pollingInterval: 1, maxPollingInterval: 1, paths: [] });
    expect(await d.request('reconfigure')).toEqual({ type: 'reconfigured', added: 0, removed: 3, reloaded: [] });
    // At once: nothing is current; a class with a check still in flight drains until it ends.
    expect((await classes(d)).filter((c) => c.state === 'current')).toEqual([]);
    for (const name of ['tur', 'none']) {
      const unloaded = await log.waitFor(`class-unloaded ${name}`, (e) => e.type === 'class-unloaded' && e.checker === name, 15_000);
      expect(unloaded).toMatchObject({ version: 1 });
      await log.waitFor(`class-released ${name}`, (e) => e.type === 'class-released' && e.checker === name && e.version === 1 && e.seq > unloaded.seq, 15_000);
      expect(d.logged(`checker ${name} unloaded: no path uses it`)).toHaveLength(1);
    }
    await noClassesLeft(d);
    expect(log.ofType('refcount-error')).toEqual([]);

    const m = await samples(d);
    expect(m.get('pathcheck_classes_unloaded_total')).toBe(2);
    expect(m.get('pathcheck_classes_loaded')).toBe(0);
    expect(m.get('pathcheck_class_releases_pending')).toBe(0);
    expect(await d.stats()).toMatchObject({ classes: 0, classesUnloaded: 2, releasesPending: 0 });
  }, 60_000);

  it('a reconfigure that keeps a class in use leaves it loaded, and unloads only the one left unused', async () => {
    const d = await start();
    await everyPathChecked(d);
    d.writeConfig({ pollingInterval: 1, maxPollingInterval: 1, paths: TUR_PATHS });
    expect(await d.request('reconfigure')).toEqual({ type: 'reconfigured', added: 0, removed: 1, reloaded: [] });
    await waitUntil('none unloaded and released', async () => (await classes(d)).every((c) => c.name === 'tur'), 15_000);
    expect((await classes(d)).map((c) => [c.name, c.version, c.state, c.checkers])).toEqual([['tur', 1, 'current', 2]]);
  }, 60_000);
});

describe('unload checker', () => {
  it('is refused with one line while paths are bound; after del path of all it unloads, and add path loads it again', async () => {
    const d = await start();
    await everyPathChecked(d);
    const log = await d.events();
    const pc = (...args: string[]) => runPathcheck(['--socket', d.socket, ...args]);
    const before = await samples(d);
    for (const name of CLASS_METRICS) expect(before.get(name), name).toBe(0);

    // Bound: refused, nothing changes.
    await expect(d.request('unload checker', { name: 'tur' })).rejects.toThrow(new ControlRequestError("checker 'tur' is used by 2 paths; delete or move them first"));
    const refused = await pc('unload', 'checker', 'none');
    expect([refused.status, refused.stdout, refused.stderr]).toEqual([2, '', "pathcheck: unload checker: checker 'none' is used by 1 path; delete or move them first\n"]);
    expect((await classes(d)).map((c) => [c.name, c.version, c.state, c.checkers])).toEqual([
      ['tur', 1, 'current', 2],
      ['none', 1, 'current', 1],
    ]);
    expect((await d.paths()).map((p) => p.device)).toEqual([...TUR_PATHS, NONE_PATH]);

    // No path left on tur: the CLI unloads it.
    for (const spec of TUR_PATHS) await d.request('del path', { spec });
    const ok = await pc('unload', 'checker', 'tur');
    expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, 'ok: tur version 1 unloaded\n', '']);
    const unloaded = await log.waitFor('class-unloaded tur', (e) => e.type === 'class-unloaded' && e.checker === 'tur' && e.version === 1, 15_000);
    await log.waitFor('class-released tur', (e) => e.type === 'class-released' && e.checker === 'tur' && e.seq > unloaded.seq, 15_000);
    await waitUntil('tur gone from show checkers', async () => (await classes(d)).every((c) => c.name !== 'tur'), 15_000);
    expect(d.logged('checker tur v1 unloaded by request')).toHaveLength(1);
    // The other class and its path carry on.
    expect((await classes(d)).map((c) => [c.name, c.state])).toEqual([['none', 'current']]);

    // Unloaded: a second unload is refused; add path loads the class again, as version 2.
    await expect(d.request('unload checker', { name: 'tur' })).rejects.toThrow(new ControlRequestError("checker 'tur' is not loaded"));
    await d.request('add path', { spec: 'sim:ok?id=c' });
    await log.waitFor('class-loaded tur v2', (e) => e.type === 'class-loaded' && e.checker === 'tur' && e.version === 2, 5000);
    await waitUntil('the new path up', async () => (await d.path('sim:ok?id=c'))?.state === 'up', 10_000);
    expect((await classes(d)).map((c) => [c.name, c.version, c.state, c.checkers])).toEqual([
      ['none', 1, 'current', 1],
      ['tur', 2, 'current', 1],
    ]);

    // Both classes unused: the show checkers table empties once every worker has released them.
    await d.request('del path', { spec: 'sim:ok?id=c' });
    await d.request('del path', { spec: NONE_PATH });
    expect(await d.request('unload checker', { name: 'tur' })).toEqual({ checker: 'tur', version: 2 });
    expect(await d.request('unload checker', { name: 'none' })).toEqual({ checker: 'none', version: 1 });
    await noClassesLeft(d);
    const table = await pc('show', 'checkers');
    expect([table.status, table.stdout.trimEnd()]).toEqual([0, expect.stringMatching(/^NAME +VERSION +ABI +STATE +REFCOUNT +PATHS +CONTEXTS +IN-FLIGHT +STRIKES +RELEASE PENDING +SHA256 +QUARANTINE$/)]);

    const after = await samples(d);
    expect(after.get('pathcheck_classes_unloaded_total')).toBe(3);
    expect(after.get('pathcheck_class_releases_pending')).toBe(0);
    expect(after.get('pathcheck_classes_quarantined')).toBe(0);
    expect(after.get('pathcheck_checker_quarantines_total')).toBe(0);
    expect(await d.stats()).toMatchObject({ classesUnloaded: 3, classesQuarantined: 0, quarantines: 0, releasesPending: 0, pluginOutput: { lines: 0, droppedBytes: 0 } });
    expect(log.ofType('refcount-error')).toEqual([]);
  }, 60_000);

  it('answers at once while a check is in flight; the class drains and unloads when that check ends', async () => {
    const SLOW = 'sim:slow?latency=2000&id=s';
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 10, paths: [SLOW] } });
    const log = await d.events();
    await waitUntil('a check of the slow path in flight', async () => (await classes(d))[0]!.inFlight === 1, 10_000, 20);
    await d.request('del path', { spec: SLOW });
    expect(await d.request('unload checker', { name: 'tur' })).toEqual({ checker: 'tur', version: 1 });
    const answeredAt = performance.now();
    expect((await classes(d)).map((c) => [c.name, c.state, c.checkers, c.inFlight])).toEqual([['tur', 'draining', 0, 1]]);
    expect(log.ofType('class-unloaded')).toEqual([]);
    const unloaded = await log.waitFor('class-unloaded tur', (e) => e.type === 'class-unloaded' && e.checker === 'tur', 15_000);
    // The slow check had most of its 2 s still to run when the unload was answered.
    expect(log.arrivals[log.events.indexOf(unloaded)]! - answeredAt).toBeGreaterThan(300);
    await noClassesLeft(d);
  }, 60_000);

  it('of an unknown name, or without a name, is refused with one line', async () => {
    const d = await start();
    await expect(d.request('unload checker', { name: 'nope' })).rejects.toThrow(new ControlRequestError("checker 'nope' is not loaded"));
    await expect(d.request('unload checker', {})).rejects.toThrow(new ControlRequestError("unload checker: 'name' must be a non-empty string"));
    const pc = (...args: string[]) => runPathcheck(['--socket', d.socket, ...args]);
    const cases: [string[], string][] = [
      [['unload', 'checker', 'nope'], "pathcheck: unload checker: checker 'nope' is not loaded"],
      [['unload', 'checker'], 'pathcheck: usage: pathcheck unload checker <name>'],
      [['unload', 'checkers', 'tur'], "pathcheck: unload: expected 'checker', got 'checkers'"],
    ];
    for (const [args, line] of cases) {
      const r = await pc(...args);
      expect([args.join(' '), r.status, r.stdout, r.stderr]).toEqual([args.join(' '), 2, '', `${line}\n`]);
    }
    expect((await classes(d)).map((c) => [c.name, c.state])).toEqual([
      ['tur', 'current'],
      ['none', 'current'],
    ]);
  }, 60_000);

  it('show checkers has the quarantine fields for every class, and the table their columns', async () => {
    const d = await start();
    await everyPathChecked(d);
    for (const c of await classes(d)) expect(c).toMatchObject({ state: 'current', quarantine: null, strikes: 0, releasePending: 0 });
    const table = await runPathcheck(['--socket', d.socket, 'show', 'checkers']);
    expect(table.status, table.stderr).toBe(0);
    const [head, ...rows] = table.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^NAME +VERSION +ABI +STATE +REFCOUNT +PATHS +CONTEXTS +IN-FLIGHT +STRIKES +RELEASE PENDING +SHA256 +QUARANTINE$/);
    expect(rows.map((r) => r.split(/ +/))).toEqual([
      ['tur', '1', '2', 'current', expect.any(String), '2', '2', expect.any(String), '0', '0', expect.stringMatching(/^[0-9a-f]{16}$/), '-'],
      ['none', '1', '2', 'current', expect.any(String), '1', '1', expect.any(String), '0', '0', expect.stringMatching(/^[0-9a-f]{16}$/), '-'],
    ]);
  }, 60_000);
});
