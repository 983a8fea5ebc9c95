import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../host/cli/package-paths.js';
import { visibleWidth } from '../../host/cli/terminal-text.js';
import { PATHCHECK_BIN } from '../helpers/run-cli.js';

/** The real demo (built dist/), run for a few seconds: on a pseudo-terminal made by util-linux `script`, and piped. */
const DEMO = join(PACKAGE_ROOT, 'dist', 'host', 'cli', 'demo.js');
const FOLDED_FAILOVER = 'fault x32 ctrlA-lun00..ctrlA-lun15 -> standby, ctrlB-lun00..ctrlB-lun15 -> ok';

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 25_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

/**
 * `script` runs `shell` on a fresh pseudo-terminal; its output is what the terminal received. The demo
 * gets a TMPDIR of its own, so `$UP` (a shell loop, at most 100 tries) can wait until its daemon
 * answers on the control socket: resizes and signals are timed from the demo being up, not from a
 * start that a loaded machine delays.
 */
async function onTerminal(shell: string, env: Record<string, string | undefined>): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'pathcheck-demo-run-'));
  const answers = `'${process.execPath}' '${PATHCHECK_BIN}' --socket "$TMPDIR"/pathcheck-demo-*/pathcheckd.sock show paths >/dev/null 2>&1`;
  const up = `i=0; while [ $i -lt 100 ] && ! ${answers}; do sleep 0.1; i=$((i+1)); done`;
  try {
    return await run('script', ['-qfec', shell.replace('$UP', up), '/dev/null'], { ...env, TMPDIR: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each full repaint (cursor home) as its lines, with the cursor and line-clearing controls taken out. */
function frames(out: string): string[][] {
  const body = out.slice(0, out.lastIndexOf('demo stopped')).replace(/\r?\n$/, '');
  return body
    .split('\x1b[H')
    .slice(1)
    .map((f) => f.replace(/\x1b\[\?25[lh]|\x1b\[2K/g, '').split(/\r?\n/));
}

function stoppedCleanly(r: Run): void {
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/demo stopped; 0 checks abandoned\r?\n/);
}

describe.concurrent('demo, run for real', () => {
  it('on a terminal with NO_COLOR=1: no colour, every frame within the terminal, resizes followed, faults folded, cursor restored', async () => {
    const r = await onTerminal(`stty cols 120 rows 30; node '${DEMO}' --duration 6 & $UP; sleep 1; stty cols 60 rows 20; wait $!`, { NO_COLOR: '1' });
    stoppedCleanly(r);
    const all = frames(r.stdout);
    expect(all.length).toBeGreaterThan(8);
    for (const f of all) {
      for (const l of f) expect(l, JSON.stringify(l)).not.toContain('\x1b');
      expect(f.length).toBeLessThanOrEqual(30);
      for (const l of f) expect(visibleWidth(l)).toBeLessThanOrEqual(120);
    }
    // Before the resize the table used the width; after it every frame fits 60 x 20.
    expect(Math.max(...all[0]!.map((l) => l.length))).toBeGreaterThan(60);
    const last = all.at(-1)!;
    expect(last.length).toBeLessThanOrEqual(20);
    for (const l of last) expect(l.length).toBeLessThanOrEqual(60);
    expect(last.some((l) => / fault x32 ctrlA-lun00\.\.ctrlA-lun15/.test(l)), last.join('\n')).toBe(true);
    expect(last.some((l) => / fault path=/.test(l))).toBe(false);
    // The cursor hidden for the screen is shown again after the last frame.
    expect(r.stdout.lastIndexOf('\x1b[?25h')).toBeGreaterThan(r.stdout.lastIndexOf('\x1b[?25l'));
  });

  it('on a terminal with NO_COLOR empty: states in colour, every frame within 160 x 40; Ctrl-C stops it and shows the cursor', async () => {
    const r = await onTerminal(`stty cols 160 rows 40; node '${DEMO}' & $UP; sleep 4; kill -INT $!; wait $!`, { NO_COLOR: '' });
    stoppedCleanly(r);
    expect(r.stdout.lastIndexOf('\x1b[?25h')).toBeGreaterThan(r.stdout.lastIndexOf('\x1b[?25l'));
    const all = frames(r.stdout);
    expect(all.length).toBeGreaterThan(4);
    for (const f of all) {
      expect(f.length).toBeLessThanOrEqual(40);
      for (const l of f) expect(visibleWidth(l)).toBeLessThanOrEqual(160);
      expect(f.filter((l) => /^sim:\S+ +tur +\x1b\[\d+m\w+\x1b\[0m /.test(l)).length).toBeGreaterThan(0);
    }
    expect(all.at(-1)!.some((l) => l.includes(FOLDED_FAILOVER)), all.at(-1)!.join('\n')).toBe(true);
  });

  it('piped: one line per event, no colour, the failover step folded into one line after its narration', async () => {
    const r = await run(process.execPath, [DEMO, '--duration', '4'], {});
    stoppedCleanly(r);
    expect(r.stdout).not.toContain('\x1b');
    const lines = r.stdout.trimEnd().split('\n');
    const at = lines.findIndex((l) => l.endsWith(FOLDED_FAILOVER));
    expect(at, r.stdout).toBeGreaterThan(0);
    expect(lines[at - 1]).toBe('# controller A goes to standby, B takes over');
    expect(lines.filter((l) => / fault path=/.test(l))).toEqual([]);
    expect(lines.at(-1)).toBe('demo stopped; 0 checks abandoned');
  });
});
