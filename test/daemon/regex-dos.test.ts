import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, confText, runPathcheckd, stopAllDaemons, tempDir, type ConfOptions } from '../helpers/daemon-process.js';

// Issue 11 row 3: devices{} vendor/product patterns were JavaScript RegExps. Vendor "(a+)+$" against a
// path whose vendor is 34 `a`s and a `!` backtracked for good: start-up never ended, the socket never
// answered, SIGTERM was never handled. They are POSIX EREs now, matched in linear time, and syntax
// POSIX ERE lacks is refused at load.

afterEach(stopAllDaemons);

const HOSTILE_VENDOR = `${'a'.repeat(34)}!`;

/** confText plus a devices{} section whose one entry has vendor `vendor`, product ".*", checker none. */
function withDevice(vendor: string, o: ConfOptions): string {
  return `${confText(o)}devices {\n    device {\n        vendor "${vendor}"\n        product ".*"\n        path_checker none\n    }\n}\n`;
}

const PATHS: ConfOptions['paths'] = [
  { device: 'sim:ok?id=hostile', vendor: HOSTILE_VENDOR, product: 'SIM ok' },
  { device: 'sim:ok?id=matching', vendor: 'aaa', product: 'SIM ok' },
];

/** The daemon answers `show paths`: the hostile vendor matched no device, the other one did. */
async function expectServing(d: DaemonProcess): Promise<void> {
  const rows = await d.paths();
  expect(rows.map((r) => [r.device, r.checker])).toEqual([
    ['sim:ok?id=hostile', 'tur'],
    ['sim:ok?id=matching', 'none'],
  ]);
}

/** SIGTERM ends it gracefully; healthy, that takes well under a second. */
async function expectStopsOnSigterm(d: DaemonProcess): Promise<void> {
  d.signal('SIGTERM');
  expect(await d.waitExit(10_000), `stderr: ${d.stderr.join(' | ')}`).toEqual({ code: 0, signal: null });
}

describe('a catastrophic-backtracking vendor pattern', () => {
  it('at start-up: the daemon starts, answers show paths and stops on SIGTERM', async () => {
    const d = await DaemonProcess.start({ config: withDevice('(a+)+$', { paths: PATHS }), readyTimeoutMs: 10_000 });
    await expectServing(d);
    await expectStopsOnSigterm(d);
  });

  it('on reconfigure: the daemon applies it, answers show paths and stops on SIGTERM', async () => {
    const d = await DaemonProcess.start({ config: { paths: PATHS } });
    expect((await d.paths()).map((r) => r.checker)).toEqual(['tur', 'tur']);
    d.writeConfig(withDevice('(a+)+$', { paths: PATHS }));
    expect(await d.request('reconfigure', {}, 5_000)).toMatchObject({ type: 'reconfigured' });
    await expectServing(d);
    await expectStopsOnSigterm(d);
  });
});

describe('a pattern POSIX ERE does not have', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('(?<=a)b is refused at load: exit 2, one line naming the file, line and construct', async () => {
    const file = join(dir, 'lookbehind.conf');
    const text = withDevice('(?<=a)b', { paths: PATHS });
    writeFileSync(file, text);
    const line = text.split('\n').indexOf('        vendor "(?<=a)b"') + 1;
    expect(line).toBeGreaterThan(0);
    const r = await runPathcheckd(['--config', file, '--socket', join(dir, 'never.sock'), '--foreground'], 15_000);
    expect(r.signal, 'pathcheckd was killed at the time bound').toBeNull();
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `pathcheckd: ${file}:${line}: keyword 'vendor' in devices/device: expected a regular expression, found '(?<=a)b' (lookbehind '(?<=' is not POSIX ERE)\n`,
    );
  });
});
