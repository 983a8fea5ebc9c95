import { afterEach, describe, expect, it } from 'vitest';
import { ControlRequestError } from '../../host/control/control-client.js';
import { DaemonProcess, stopAllDaemons } from '../helpers/daemon-process.js';
import { runCli } from '../helpers/run-cli.js';

// Issue 11 row 8: a device spec is shown in tables, logs and events, so a spec with a control character
// (an escape sequence that clears the admin's screen, a newline that forges a log line) is refused.

afterEach(async () => {
  await stopAllDaemons();
});

const HOSTILE = [
  ['an escape sequence', 'sim:ok?id=\u001b[2J\u001b[H', 'U+001B at offset 10'],
  ['a forged log line', 'sim:ok?id=x\n2026-12-01T20:58:00.000Z notice FAKE: pathcheckd stopped', 'U+000A at offset 11'],
  ['a carriage return', 'sim:ok?id=x\rup', 'U+000D at offset 11'],
  ['a C1 control', 'sim:ok?id=\u009b2J', 'U+009B at offset 10'],
  ['a Unicode line separator', 'sim:ok?id=a\u2028b', 'U+2028 at offset 11'],
] as const;

describe('device specs with control characters', () => {
  it('add path refuses each with one line that does not echo it; nothing is added or logged raw', async () => {
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, paths: ['sim:ok?id=a'] } });
    for (const [what, spec, where] of HOSTILE) {
      const err = (await d.request('add path', { spec }).catch((e: unknown) => e)) as Error;
      expect(err, what).toBeInstanceOf(ControlRequestError);
      expect(err.message, what).toBe(`device spec has a control character (${where}); a spec is printable text`);
    }
    expect((await d.paths()).map((p) => p.device)).toEqual(['sim:ok?id=a']);
    // The attempt is logged (who tried what, at notice), escaped: no raw control character, no forged line.
    expect(d.stderr.filter((l) => /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(l))).toEqual([]);
    expect(d.stderr.filter((l) => l.startsWith('2026-12-01T20:58:00.000Z'))).toEqual([]);
    expect(d.stderr).toContainEqual(expect.stringMatching(/: add path spec=sim:ok\?id=x\\u000a2026-12-01T20:58:00\.000Z notice FAKE: pathcheckd stopped$/));
  });

  it('pathcheck check refuses them too (exit 2, one line), and a spec over 1,024 characters', () => {
    for (const [what, spec, where] of HOSTILE) {
      const r = runCli(['check', spec]);
      expect([r.status, r.stderr], what).toEqual([2, `pathcheck: device spec has a control character (${where}); a spec is printable text\n`]);
    }
    const long = `sim:ok?id=${'a'.repeat(1100)}`;
    expect(runCli(['check', long]).stderr).toBe(`pathcheck: device spec is ${long.length} characters long, over the 1024-character limit\n`);
  });
});
