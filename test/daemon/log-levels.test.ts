import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, runPathcheck, stopAllDaemons, waitUntil } from '../helpers/daemon-process.js';

// Issue 11 row 16: log levels mean what they say (README "Logs"), and every client mutation is
// logged at notice with who sent it: the peer's pid and uid from the socket, not from the request.

afterEach(stopAllDaemons);

/** The level of a --foreground log line: `2026-... notice msg`. */
const levelOf = (line: string) => line.split(/\s+/)[1];
const levels = (d: DaemonProcess) => new Set(d.stderr.map(levelOf));

async function exercise(d: DaemonProcess): Promise<void> {
  // A state change (info), checks (debug), a show (debug), a mutation and a refused one (notice).
  await waitUntil('a state change', async () => (await d.path('sim:standby?id=b'))?.state === 'ghost', 10_000);
  await d.request('show paths');
  expect((await runPathcheck(['--socket', d.socket, 'fault', 'sim:ok?id=a', 'standby'])).status).toBe(0);
  await waitUntil('the fault seen', async () => (await d.path('sim:ok?id=a'))?.state === 'ghost', 10_000);
}

describe('log levels', () => {
  const config = { pollingInterval: 1, paths: ['sim:ok?id=a', 'sim:standby?id=b'] };

  it('default (2): notices and above only; -v adds info (state changes); -vv adds debug (every check, every request); -vvvv is -vv', async () => {
    const seen: Record<string, Set<string | undefined>> = {};
    const lines: Record<string, string[]> = {};
    for (const v of ['', '-v', '-vv', '-vvvv']) {
      const d = await DaemonProcess.start({ config, args: v === '' ? [] : [v] });
      await exercise(d);
      seen[v] = levels(d);
      lines[v] = [...d.stderr];
      await d.stop();
    }
    expect([...seen['']!].sort()).toEqual(['notice']);
    expect([...seen['-v']!].sort()).toEqual(['info', 'notice']);
    expect([...seen['-vv']!].sort()).toEqual(['debug', 'info', 'notice']);
    expect([...seen['-vvvv']!].sort()).toEqual(['debug', 'info', 'notice']);
    expect(lines['-v']).toContainEqual(expect.stringMatching(/ info +sim:ok\?id=a: up -> ghost message=/));
    expect(lines['-vv']).toContainEqual(expect.stringMatching(/ debug +sim:ok\?id=a: checked: up in [0-9.]+ ms message=/));
    expect(lines['-vv']).toContainEqual(expect.stringMatching(/ debug +client [0-9]+: show paths$/));
  });
});

describe('every client mutation is logged at notice with who and what', () => {
  it("names the client process's pid and uid, the command and its arguments; a refused one is logged too", async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok?id=a'] } });
    const uid = process.getuid!();
    const add = await runPathcheck(['--socket', d.socket, 'add', 'path', 'sim:ok?id=new', '--checker', 'tur']);
    expect(add.status, add.stderr).toBe(0);
    const bad = await runPathcheck(['--socket', d.socket, 'unload', 'checker', 'nosuch']);
    expect(bad.status).toBe(2);
    const del = await runPathcheck(['--socket', d.socket, 'del', 'path', 'sim:ok?id=new']);
    expect(del.status).toBe(0);
    const notices = d.stderr.filter((l) => levelOf(l) === 'notice').map((l) => l.replace(/^\S+\s+notice\s+/, ''));
    const by = (pid: number | undefined) => `client [0-9]+ \\(pid ${pid} uid ${uid}\\)`;
    expect(notices).toContainEqual(expect.stringMatching(new RegExp(`^${by(add.pid)}: add path spec=sim:ok\\?id=new checker=tur$`)));
    expect(notices).toContainEqual(expect.stringMatching(new RegExp(`^${by(bad.pid)}: unload checker name=nosuch$`)));
    expect(notices).toContainEqual(expect.stringMatching(new RegExp(`^${by(bad.pid)}: unload checker refused: checker 'nosuch' is not loaded$`)));
    expect(notices).toContainEqual(expect.stringMatching(new RegExp(`^${by(del.pid)}: del path spec=sim:ok\\?id=new$`)));
  });
});
