import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeEvent } from '../../host/cli/commands/control-verbs.js';
import { renderResult } from '../../host/cli/commands/render-result.js';
import { BOUNDS, type Bound } from '../../host/daemon/bounds.js';
import { PACKAGE_ROOT } from '../../host/cli/package-paths.js';
import { parseConfig } from '../../host/daemon/config/daemon-config.js';
import { DaemonProcess, confText, tempDir } from '../helpers/daemon-process.js';
import { runCli } from '../helpers/run-cli.js';

/** Issue 11 row 19: every verb has human output without --json, errors are JSON under --json, unused options are usage errors. */
describe('pathcheck output for a person', () => {
  let d: DaemonProcess;
  const cli = (...args: string[]) => runCli(['--socket', d.socket, ...args]);
  beforeAll(async () => {
    d = await DaemonProcess.start({ config: { paths: ['sim:ok?id=a', 'sim:standby?id=b'] } });
  });
  afterAll(() => d.stop());

  it('mutations print ok, with what changed where it is not obvious', () => {
    const cases: [string[], string][] = [
      [['add', 'path', 'sim:ok?id=c'], 'ok'],
      [['fault', 'sim:ok?id=c', 'standby'], 'ok'],
      [['del', 'path', 'sim:ok?id=c'], 'ok'],
      [['reload', 'checker', 'tur'], 'ok: tur version 2'],
      [['reconfigure'], 'ok: 0 paths added, 0 removed, reloaded: none'],
    ];
    for (const [args, line] of cases) expect([args.join(' '), cli(...args)]).toEqual([args.join(' '), { status: 0, stdout: `${line}\n`, stderr: '' }]);
  });

  it('show stats: a short aligned table, memory in MiB, no raw byte counts', () => {
    const r = cli('show', 'stats');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^COUNTER +VALUE$/);
    expect(lines.length).toBeLessThanOrEqual(16);
    const at = lines[0]!.indexOf('VALUE');
    for (const l of lines) expect([l, l.slice(0, at).trimEnd().length < at - 1 && l[at] !== ' ']).toEqual([l, true]);
    expect(lines).toContainEqual(expect.stringMatching(/^paths +2 \(up 1, ghost 1\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^memory +rss [0-9]+\.[0-9] MiB, heap [0-9]+\.[0-9] MiB$/));
    expect(r.stdout).not.toMatch(/[0-9]{7}/);
  });

  it('an option the verb does not take is a usage error (exit 2, one line), also under --json as a JSON object', () => {
    const cases: [string[], string][] = [
      [['show', 'paths', '--checker', 'tur'], "--checker applies only to add path, not to 'show'"],
      [['del', 'path', 'sim:ok?id=a', '--checker', 'tur'], "--checker applies only to add path, not to 'del'"],
      [['show', 'stats', '--reconnect'], "--reconnect applies only to watch, not to 'show'"],
      [['watch', '--timeout', '5'], "--timeout applies only to a verb that waits for an answer (not watch), not to 'watch'"],
    ];
    for (const [args, message] of cases) {
      expect(cli(...args)).toEqual({ status: 2, stdout: '', stderr: `pathcheck: ${message}\n` });
      expect(cli(...args, '--json')).toEqual({ status: 2, stdout: '', stderr: `${JSON.stringify({ error: message, status: 2 })}\n` });
    }
    // Nothing was changed by the refused command.
    expect(cli('show', 'paths', '--json').stdout).toContain('sim:ok?id=a');
  });

  it('errors under --json: a refused command and an unreachable daemon are JSON objects with their exit status', () => {
    expect(cli('unload', 'checker', 'nosuch', '--json')).toEqual({
      status: 2,
      stdout: '',
      stderr: `${JSON.stringify({ error: "unload checker: checker 'nosuch' is not loaded", status: 2 })}\n`,
    });
    const gone = join(tempDir(), 'nobody.sock');
    const r = runCli(['--socket', gone, 'show', 'paths', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ status: 1, error: expect.stringContaining(gone) });
  });
});

describe('control characters never reach the terminal raw', () => {
  it('table cells, event lines and metrics text are escaped; each row stays one line', () => {
    const evil = 'a\u001b[2Jb\nforged\u009b\u2028';
    const row = { device: evil, checker: 'tur', state: 'up', message: evil, interval: 5, lastCheck: null, nextCheck: null };
    const lines = renderResult('show paths', [row]);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('a\\u001b[2Jb\\u000aforged\\u009b\\u2028');
    expect(lines.join('')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028]/);
    const event = describeEvent({ seq: 1, time: 't', type: 'state', path: evil });
    expect(event).toBe('t #1 state path=a\\u001b[2Jb\\u000aforged\\u009b\\u2028');
    expect(renderResult('show metrics', `x{path="${evil}"} 1\n`).join('')).not.toMatch(/[\u001b\u009b]/);
  });
});

describe('numeric options: the CLI and the config share one bound per meaning', () => {
  it('check --timeout is checker_timeout in ms: the same range, refused with the same numbers', () => {
    expect(BOUNDS.checkTimeoutMs.max).toBe(BOUNDS.checkerTimeout.max * 1000);
    expect(runCli(['check', 'sim:ok', '--timeout', String(BOUNDS.checkTimeoutMs.max + 1)]).stderr).toBe(
      "pathcheck: check: --timeout must be an integer from 1 to 3600000 (ms), got '3600001'\n",
    );
    expect(() => parseConfig(confText({ checkerTimeout: 3601 }), 'x.conf')).toThrow('expected an integer from 1 to 3600');
  });

  it("the README's config block states each keyword's bound as the config enforces it", () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const keywords: Record<string, Bound> = {
      polling_interval: BOUNDS.pollingInterval,
      max_polling_interval: BOUNDS.maxPollingInterval,
      checker_timeout: BOUNDS.checkerTimeout,
      verbosity: BOUNDS.verbosity,
      workers: BOUNDS.workers,
    };
    for (const [keyword, bound] of Object.entries(keywords)) {
      const stated = new RegExp(`^ +${keyword} +[0-9]+ +#[^\\n]*?([0-9]+)\\.\\.([0-9]+)`, 'm').exec(readme);
      expect([keyword, stated?.slice(1, 3).map(Number)]).toEqual([keyword, [bound.min, bound.max]]);
    }
  });

  it('every bounded option refuses one past its top and zero', () => {
    const cases: [string[], string][] = [
      [['check', 'sim:ok', '--timeout'], "check: --timeout must be an integer from 1 to 3600000 (ms), got 'V'"],
      [['--socket', '/nonexistent/s', 'show', 'paths', '--timeout'], "--timeout must be an integer from 1 to 2147483647 (ms), got 'V'"],
    ];
    for (const [args, message] of cases) {
      const top = args[0] === 'check' ? BOUNDS.checkTimeoutMs.max : BOUNDS.replyTimeoutMs.max;
      for (const v of ['0', String(top + 1), '1e3', '1.5']) {
        const r = runCli([...args, v]);
        expect([v, r.status, r.stderr]).toEqual([v, 2, `pathcheck: ${message.replace('V', v)}\n`]);
      }
    }
  });
});
