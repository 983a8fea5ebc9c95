import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlRequestError } from '../../host/control/control-client.js';
import { BUILT_CHECKERS, DaemonProcess, stopAllDaemons, tempDir } from '../helpers/daemon-process.js';

// Issue 11 row 2: a checker named by a client is a name, resolved only inside checker_dir (or through a
// `checkers` pin), never a path; and a module must be the checker it was looked up as. A refused
// command changes nothing.

afterEach(async () => {
  await stopAllDaemons();
});

async function start(): Promise<{ d: DaemonProcess; dir: string; outside: string }> {
  const dir = tempDir();
  copyFileSync(join(BUILT_CHECKERS, 'tur.wasm'), join(dir, 'tur.wasm'));
  // A copy of tur under another name inside checker_dir, and one outside it.
  copyFileSync(join(BUILT_CHECKERS, 'tur.wasm'), join(dir, 'evil.wasm'));
  const outside = join(tempDir(), 'some', 'dir');
  mkdirSync(outside, { recursive: true });
  copyFileSync(join(BUILT_CHECKERS, 'tur.wasm'), join(outside, 'evil.wasm'));
  const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, checkerDir: dir, paths: ['sim:ok?id=a'] } });
  return { d, dir, outside };
}

const rows = async (d: DaemonProcess) => (await d.checkers()).map((c) => `${c.name} v${c.version} ${c.origin}`);

describe('checker names from clients', () => {
  it('a path, an absolute path or any non-name is refused with one line; nothing is loaded or reloaded', async () => {
    const { d, dir, outside } = await start();
    const before = await rows(d);
    expect(before).toEqual([`tur v1 ${join(dir, 'tur.wasm')}`]);
    const traversal = `../../../../..${outside}/evil`;
    for (const bad of [traversal, `${outside}/evil.wasm`, 'Tur', 'tur.wasm', '', '-x', 'a'.repeat(33)]) {
      const err = (await d.request('add path', { spec: `sim:ok?id=${bad.length}`, checker: bad }).catch((e: unknown) => e)) as Error;
      expect(err, bad).toBeInstanceOf(ControlRequestError);
      // An empty name is refused by the argument check, every other by the name check.
      expect(err.message, bad).toMatch(bad === '' ? /^add path: 'checker' must be a non-empty string$/ : /^checker name ".*" is not a checker name \(1-32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit\)$/);
    }
    expect(await rows(d)).toEqual(before);
    expect((await d.paths()).map((p) => p.device)).toEqual(['sim:ok?id=a']);
  });

  it("a module in checker_dir whose pc_name is not its file's name is refused before it can replace that checker", async () => {
    const { d, dir } = await start();
    const err = (await d.request('add path', { spec: 'sim:ok?id=e', checker: 'evil' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ControlRequestError);
    expect(err.message).toBe(`${join(dir, 'evil.wasm')}: its pc_name is 'tur', not 'evil'`);
    // tur was not hot-reloaded from evil.wasm: still version 1 from tur.wasm, and its path still on it.
    expect(await rows(d)).toEqual([`tur v1 ${join(dir, 'tur.wasm')}`]);
    expect((await d.paths()).map((p) => p.device)).toEqual(['sim:ok?id=a']);
  });
});
