import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKERS_DIR } from '../../host/cli/package-paths.js';
import { runCli } from '../helpers/run-cli.js';
import { fakePlugin } from '../helpers/wat.js';

function oneLineError(r: { status: number | null; stdout: string; stderr: string }, text: string) {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`pathcheck: ${text}\n`);
}

describe('pathcheck check', () => {
  it('sim:standby --json prints state ghost and exits 0', () => {
    const r = runCli(['check', 'sim:standby', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['device', 'checker', 'state', 'code', 'message', 'ms']);
    expect(out).toMatchObject({ device: 'sim:standby', checker: 'tur', state: 'ghost', code: 5, message: 'tur checker reports path is ghost' });
    expect(out.ms).toBeGreaterThan(0);
  });

  it('a down path exits 1, in the human format too', () => {
    const r = runCli(['check', 'sim:down']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^sim:down {2}tur {2}down {2}tur checker reports path is down {2}\([0-9.]+ ms\)\n$/);
  });

  it('a hung device times out at --timeout and exits 1', () => {
    const r = runCli(['check', 'sim:hang', '--timeout', '300', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'timeout', code: 7, message: 'tur checker timed out' });
  });

  it('--checker none and --checker <path.wasm>', () => {
    expect(JSON.parse(runCli(['check', 'sim:down', '--checker', 'none', '--json']).stdout).state).toBe('up');
    const r = runCli(['check', 'sim:standby', '--checker', join(CHECKERS_DIR, 'tur.wasm'), '--json']);
    expect(JSON.parse(r.stdout).state).toBe('ghost');
  });

  it('a checker that traps or loops: one line each, never a stack trace, and the right exit status', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-'));
    const plugin = (name: string, knobs: Parameters<typeof fakePlugin>[0]) => {
      const file = join(dir, `${name}.wasm`);
      writeFileSync(file, fakePlugin({ name, ...knobs }));
      return file;
    };
    const init = runCli(['check', 'sim:ok', '--checker', plugin('initrap', { init: '(unreachable)' })]);
    expect([init.status, init.stdout, init.stderr]).toEqual([1, '', 'pathcheck: initrap checker pc_init trapped: unreachable\n']);
    // The result stands; the failed pc_free is said on stderr.
    const free = runCli(['check', 'sim:ok', '--checker', plugin('freetrap', { free: '(unreachable)' }), '--json']);
    expect([free.status, JSON.parse(free.stdout).state, free.stderr]).toEqual([0, 'up', 'pathcheck: warning: freetrap checker pc_free trapped: unreachable\n']);
    const check = runCli(['check', 'sim:ok', '--checker', plugin('checktrap', { check: '(unreachable)' }), '--json']);
    expect([check.status, JSON.parse(check.stdout), check.stderr]).toEqual([1, expect.objectContaining({ state: 'down', message: 'checktrap checker trapped: unreachable' }), '']);
    const spin = runCli(['check', 'sim:ok', '--checker', plugin('spin', { check: '(loop $l (br $l)) (i32.const 0)' }), '--timeout', '300', '--json']);
    expect([spin.status, JSON.parse(spin.stdout).state, spin.stderr]).toEqual([1, 'timeout', '']);
  });

  it("worker start-up is not charged to the check's deadline (issue 11 row 13)", () => {
    for (let i = 0; i < 3; i++) {
      const r = runCli(['check', 'sim:slow?latency=20', '--timeout', '60', '--json']);
      expect(JSON.parse(r.stdout)).toMatchObject({ state: 'up' });
    }
  });

  it('bad input: one line naming the problem, exit 2', () => {
    oneLineError(runCli(['check', 'floppy:a']), "unknown device scheme 'floppy' in 'floppy:a' (known: sim, iscsi)");
    oneLineError(runCli(['check', 'nodevice']), "device spec 'nodevice' has no scheme (expected <scheme>:..., schemes: sim, iscsi)");
    expect(runCli(['check', 'sim:stanby']).stderr).toMatch(/^pathcheck: unknown sim scenario 'stanby' \(known: .*standby.*\)\n$/);
    oneLineError(runCli(['check', 'sim:ok', '--checker', '/nonexistent/x.wasm']), 'cannot read checker module /nonexistent/x.wasm: no such file');
    // A file that never ends is read to the cap and one byte past it, no further.
    oneLineError(runCli(['check', 'sim:ok', '--checker', '/dev/zero']), 'cannot read checker module /dev/zero: larger than the 16 MiB cap');
    oneLineError(runCli(['check', 'sim:ok', '--checker', 'nosuch']), `cannot read checker module ${join(CHECKERS_DIR, 'nosuch.wasm')}: no such file`);
    const junk = join(mkdtempSync(join(tmpdir(), 'pc-')), 'junk.wasm');
    writeFileSync(junk, 'definitely not wasm');
    oneLineError(runCli(['check', 'sim:ok', '--checker', junk]), `${junk}: not a WebAssembly module (no \\0asm header)`);
    oneLineError(runCli(['check', 'sim:ok', '--bogus']), "check: Unknown option '--bogus'");
    oneLineError(runCli(['check', 'sim:ok', '--timeout', 'soon']), "check: --timeout must be an integer from 1 to 3600000 (ms), got 'soon'");
    oneLineError(runCli(['check']), 'check: expected exactly one device, got 0');
    const unknown = runCli(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe("pathcheck: unknown command 'frobnicate' (commands: check, checkers, show, add, del, fault, reconfigure, reload, unload, watch, shutdown)\n");
  });

  it('--help on every command', () => {
    for (const args of [['--help'], ['check', '--help'], ['checkers', '--help'], ['scenarios', '--help'], ['show', '--help']]) {
      const r = runCli(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^usage: pathcheck/);
    }
  });
});

describe('pathcheck checkers', () => {
  it('lists each built checker with ABI version, size and the sha256 of its file', () => {
    const r = runCli(['checkers', '--json']);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; abi: number; bytes: number; sha256: string; file: string }[];
    expect(rows.map((x) => x.name)).toEqual(['cciss_tur', 'directio', 'emc_clariion', 'hp_sw', 'none', 'rdac', 'readsector0', 'tur']);
    for (const row of rows) {
      const bytes = readFileSync(join(CHECKERS_DIR, `${row.name}.wasm`));
      expect(row.abi).toBe(2);
      expect(row.bytes).toBe(bytes.length);
      expect(row.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    // The table: aligned columns (the SHA256 column starts at one offset on every line), sizes in KiB.
    const lines = runCli(['checkers']).stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +ABI +SIZE +SHA256 +FILE$/);
    const at = lines[0]!.indexOf('SHA256');
    for (const [i, row] of rows.entries()) {
      expect(lines[i + 1]!.slice(at, at + 64)).toBe(row.sha256);
      expect(lines[i + 1]).toContain(`${(row.bytes / 1024).toFixed(1)} KiB`);
    }
  });
});
