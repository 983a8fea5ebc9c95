import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../host/cli/package-paths.js';

/*
 * The wasmtime rig (test/rig, Python, the real wasmtime engine) against the Node host, through
 * test/rig/conformance.mjs --json. Needs dist/ and build/ (npm test builds first) and .venv with
 * wasmtime (made here by `npm run rig:setup` when .venv is missing). No wasmtime is a failure, never a skip.
 */
const ROOT = PACKAGE_ROOT;
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

interface Answer {
  state?: string;
  code?: number;
  message?: string;
  us?: number;
  error?: string;
}
interface Case {
  checker: string;
  file: string;
  scenario: string;
  sense: string | null;
  device: string;
  node: Answer;
  wasmtime: Answer;
  match: boolean;
}
interface Load {
  ok?: boolean;
  code?: string;
  reason?: string;
  error?: string;
}
interface Probe {
  device: string;
  scenario: string;
  steps: { step: string; node: string | null; wasmtime: string | null }[];
  match: boolean;
}
interface Report {
  ok: boolean;
  checkers: string[];
  scenarios: string[];
  cases: Case[];
  probes: Probe[];
  rejects: { fixture: string; expect: string | null; node: Load; wasmtime: Load; match: boolean }[];
  summary: { medianUs: Record<string, { node: number; wasmtime: number }> };
}

/** The matrix as the data defines it: every built checker x every scenario but hang-hard, sense scenarios twice. */
function expectedMatrix(): string[] {
  const doc = JSON.parse(readFileSync(join(ROOT, 'host', 'backends', 'sim', 'scenarios.json'), 'utf8')) as {
    scenarios: Record<string, { program: Record<string, unknown> }>;
  };
  const checkers = readdirSync(join(ROOT, 'build', 'checkers')).filter((f) => f.endsWith('.wasm'));
  const keys: string[] = [];
  for (const [name, s] of Object.entries(doc.scenarios)) {
    if (name === 'hang-hard') continue;
    const hasSense = JSON.stringify(s.program).includes('"sense"');
    for (const sense of hasSense ? ['fixed', 'descriptor'] : [null]) {
      for (const file of checkers) keys.push(`build/checkers/${file} ${name} ${sense ?? '-'}`);
    }
  }
  return keys.sort();
}

describe('wasmtime rig: same .wasm, same answers, under the Node host and real wasmtime', () => {
  let run: { report: Report; status: number | null } | { problem: string } = { problem: 'the conformance runner did not run' };

  beforeAll(() => {
    try {
      if (!existsSync(PYTHON)) execSync('npm run rig:setup --silent', { cwd: ROOT, stdio: 'inherit' });
    } catch (e) {
      run = { problem: `npm run rig:setup failed, so there is no wasmtime to compare with: ${(e as Error).message}` };
      return;
    }
    const r = spawnSync(process.execPath, [join(ROOT, 'test', 'rig', 'conformance.mjs'), '--json', '--runs', '21'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    if (r.status === 2 || r.stdout.trim() === '') {
      run = { problem: `the conformance runner could not run (exit ${r.status}); is wasmtime installed in .venv? ${r.stderr.trim()}` };
      return;
    }
    run = { report: JSON.parse(r.stdout) as Report, status: r.status };
  }, 180_000);

  /** The runner's report; a missing wasmtime fails every test here with the reason, never skips it. */
  function ran(): { report: Report; status: number | null } {
    if ('problem' in run) expect.fail(run.problem);
    return run;
  }

  it('runs under real wasmtime (the rig and its engine are installed)', () => {
    const { report } = ran();
    expect(report.cases.length).toBeGreaterThan(0);
  });

  it('covers every built checker x every scenario in the JSON (but hang-hard), sense scenarios in both formats', () => {
    const { report } = ran();
    const got = report.cases.map((c) => `${c.file} ${c.scenario} ${c.sense ?? '-'}`).sort();
    const want = expectedMatrix();
    expect(want.length).toBeGreaterThan(0);
    expect(got).toEqual(want);
    expect(report.scenarios).not.toContain('hang-hard');
  });

  it('every answer is the same under both hosts', () => {
    const { report, status } = ran();
    const differ = report.cases
      .filter((c) => !c.match)
      .map((c) => `${c.checker} ${c.device}: node ${JSON.stringify(c.node)} vs wasmtime ${JSON.stringify(c.wasmtime)}`);
    expect(differ).toEqual([]);
    for (const c of report.cases) {
      expect(c.node.error).toBeUndefined();
      expect(c.wasmtime.error).toBeUndefined();
      expect(c.wasmtime.state).toBe(c.node.state);
      expect(c.wasmtime.message).toBe(c.node.message);
    }
    expect(report.ok).toBe(true);
    expect(status).toBe(0);
  });

  it('the frame probe observes the same sg v2 frames, errno values and memory layout under both hosts', () => {
    const { report } = ran();
    const devices = [...new Set(report.cases.filter((c) => c.scenario !== 'hang').map((c) => c.device))].sort();
    expect(report.probes.map((p) => p.device).sort()).toEqual(devices);
    const differ = report.probes.flatMap((p) =>
      p.steps.filter((st) => st.node === null || st.node !== st.wasmtime).map((st) => `${p.device}: ${st.step}: node ${st.node}, wasmtime ${st.wasmtime}`),
    );
    expect(differ).toEqual([]);
    expect(report.probes.every((p) => p.match)).toBe(true);
    // Not vacuous either: DRIVER_SENSE is set exactly when sense came back, and pack_len equals reply_len.
    const value = (device: string, step: string) => report.probes.find((p) => p.device === device)!.steps.find((st) => st.step.startsWith(step))!.node;
    expect(value('sim:standby?sense=fixed', 'tur driver_status')).toBe('8');
    expect(value('sim:ok', 'tur driver_status')).toBe('0');
    expect(value('sim:ok', 'tur pack_len - reply_len')).toBe('64');
    expect(value('sim:ok', 'read with no command outstanding')).toBe('6');
    expect(value('sim:ok', 'write while a reply is unread')).toBe('10');
  });

  it('cannot pass vacuously: the matrix has states other than up, timeout among them', () => {
    const { report } = ran();
    const states = new Set(report.cases.map((c) => c.wasmtime.state));
    expect([...states].filter((s) => s !== 'up').length).toBeGreaterThan(0);
    expect(states).toContain('timeout');
    expect(states).toContain('down');
  });

  it('a module with a bad import is refused by both hosts with the same one-line reason', () => {
    const { report } = ran();
    const bad = report.rejects.find((r) => r.fixture === 'bad-import');
    expect(bad).toBeDefined();
    expect(bad!.node.ok).toBe(false);
    expect(bad!.wasmtime.ok).toBe(false);
    expect(bad!.node.reason).toMatch(/: imports env\.abort \(function\); a checker may import only env\.memory and wasi_snapshot_preview1 functions$/);
    expect(bad!.wasmtime.reason).toBe(bad!.node.reason);
    const wasi = report.rejects.find((r) => r.fixture === 'unsupported-wasi');
    expect(wasi!.node.reason).toMatch(/: imports wasi_snapshot_preview1\.fd_seek, which the pathcheck WASI subset does not provide$/);
    expect(wasi!.wasmtime.reason).toBe(wasi!.node.reason);
    expect(report.rejects.filter((r) => !r.match).map((r) => r.fixture)).toEqual([]);
  });

  it('reports per-check time under both hosts', () => {
    const { report } = ran();
    for (const t of Object.values(report.summary.medianUs)) {
      expect(t.node).toBeGreaterThan(0);
      expect(t.wasmtime).toBeGreaterThan(0);
    }
    expect(Object.keys(report.summary.medianUs).length).toBe(report.checkers.length);
  });
});
