import { execSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../host/cli/package-paths.js';

/*
 * The wasmtime rig (test/rig, Python, the real wasmtime engine) against the Node host, through
 * test/rig/conformance.mjs --json, with the rig in both of its modes: blocking device fds (a stock WASI
 * runtime: a v2 checker never sees EAGAIN) and resuming (non-blocking fds, WAIT | fd continued with
 * pc_pending on another instance). Needs dist/ and build/ (npm test builds first) and .venv with
 * wasmtime (made here by `npm run rig:setup` when .venv is missing). No wasmtime is a failure, never a skip.
 */
const ROOT = PACKAGE_ROOT;
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const MODES = ['blocking', 'resuming'] as const;
type Mode = (typeof MODES)[number];

interface Answer {
  state?: string;
  code?: number;
  message?: string;
  us?: number;
  error?: string;
}
interface RigAnswer extends Answer {
  runs?: number;
  parked?: number;
  waits?: number;
  initWaits?: number;
}
interface Case {
  checker: string;
  file: string;
  scenario: string;
  sense: string | null;
  device: string;
  runs: number;
  node: Answer;
  wasmtime: RigAnswer;
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
  runs?: number;
  parked?: number;
  initWaits?: number;
  steps: { step: string; node: string | null; wasmtime: string | null; expect?: { node: string; wasmtime: string } }[];
  match: boolean;
}
interface ModeReport {
  ok: boolean;
  cases: Case[];
  probes: Probe[];
  behaviours: { fixture: string; device: string; node: Answer; wasmtime: RigAnswer; match: boolean }[];
  rejects: { fixture: string; expect: string | null; path: string; node: Load; wasmtime: Load; match: boolean }[];
  summary: { medianUs: Record<string, { node: number; wasmtime: number }>; parked: { checks: number; probeChecks: number; initWaits: number } };
}
interface Report {
  ok: boolean;
  checkers: string[];
  scenarios: string[];
  modeNames: string[];
  modes: Record<Mode, ModeReport>;
}

interface ScenarioDoc {
  scenarios: Record<string, { program: Record<string, unknown>; commands?: Record<string, Record<string, unknown>> }>;
}

function scenarioDoc(): ScenarioDoc {
  return JSON.parse(readFileSync(join(ROOT, 'host', 'backends', 'sim', 'scenarios.json'), 'utf8')) as ScenarioDoc;
}

/** Scenarios whose device does not answer at once (a latency or a hang in the program), as the data says. */
function waitingScenarios(): Set<string> {
  const waits = (r: Record<string, unknown>) => r.hang !== undefined || (r.latency !== undefined && r.latency !== 0);
  type Program = { repeat?: Record<string, unknown>; sequence?: Record<string, unknown>[]; alternate?: Record<string, unknown>[] };
  const responses = (p: Program) => (p.repeat !== undefined ? [p.repeat] : (p.sequence ?? p.alternate ?? []));
  const names = Object.entries(scenarioDoc().scenarios).filter(([, s]) =>
    [s.program, ...Object.values(s.commands ?? {})].some((p) => responses(p as Program).some(waits)),
  );
  return new Set(names.map(([name]) => name));
}

/** The matrix as the data defines it: every built checker x every scenario but hang-hard, sense scenarios twice. */
function expectedMatrix(): string[] {
  const doc = scenarioDoc();
  const checkers = readdirSync(join(ROOT, 'build', 'checkers')).filter((f) => f.endsWith('.wasm'));
  const keys: string[] = [];
  for (const [name, s] of Object.entries(doc.scenarios)) {
    if (name === 'hang-hard') continue;
    const hasSense = JSON.stringify([s.program, s.commands ?? {}]).includes('"sense"');
    for (const sense of hasSense ? ['fixed', 'descriptor'] : [null]) {
      for (const file of checkers) keys.push(`build/checkers/${file} ${name} ${sense ?? '-'}`);
    }
  }
  return keys.sort();
}

const caseKey = (c: Case) => `${c.file} ${c.scenario} ${c.sense ?? '-'}`;

describe('wasmtime rig: same .wasm, same answers, under the Node host and real wasmtime, blocking and resuming', () => {
  let run: { report: Report; status: number | null } | { problem: string } = { problem: 'the conformance runner did not run' };

  beforeAll(() => {
    // Without python3 the rig cannot exist: say so in one line (README "Two commands"), do not skip.
    if (!existsSync(PYTHON) && spawnSync('python3', ['--version']).error !== undefined) {
      run = { problem: 'python3 is not installed: the wasmtime rig (test/rig) needs python3 with its venv module; npm run rig:setup then makes .venv with wasmtime' };
      return;
    }
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

  const find = (m: ModeReport, checker: string, device: string) => {
    const c = m.cases.find((x) => x.checker === checker && x.device === device);
    expect(c, `${checker} on ${device}`).toBeDefined();
    return c!;
  };

  it('runs under real wasmtime, in both modes (the rig and its engine are installed)', () => {
    const { report } = ran();
    expect(report.modeNames).toEqual([...MODES]);
    for (const mode of MODES) expect(report.modes[mode].cases.length).toBeGreaterThan(0);
  });

  it('covers every built checker x every scenario in the JSON (but hang-hard), sense scenarios in both formats, in both modes alike', () => {
    const { report } = ran();
    const want = expectedMatrix();
    expect(want.length).toBeGreaterThan(0);
    for (const mode of MODES) expect(report.modes[mode].cases.map(caseKey).sort()).toEqual(want);
    const { blocking, resuming } = report.modes;
    expect(resuming.cases.map(caseKey)).toEqual(blocking.cases.map(caseKey));
    expect(resuming.probes.map((p) => p.device)).toEqual(blocking.probes.map((p) => p.device));
    expect(resuming.rejects.map((r) => r.fixture)).toEqual(blocking.rejects.map((r) => r.fixture));
    expect(report.scenarios).not.toContain('hang-hard');
  });

  it('every answer is the same under the Node host and the rig, in both modes', () => {
    const { report, status } = ran();
    for (const mode of MODES) {
      const differ = report.modes[mode].cases
        .filter((c) => !c.match)
        .map((c) => `${mode}: ${c.checker} ${c.device}: node ${JSON.stringify(c.node)} vs wasmtime ${JSON.stringify(c.wasmtime)}`);
      expect(differ).toEqual([]);
      for (const c of report.modes[mode].cases) {
        expect(c.node.error).toBeUndefined();
        expect(c.wasmtime.error).toBeUndefined();
        expect(c.wasmtime.state).toBe(c.node.state);
        expect(c.wasmtime.message).toBe(c.node.message);
      }
      expect(report.modes[mode].ok).toBe(true);
    }
    expect(report.ok).toBe(true);
    expect(status).toBe(0);
  });

  it('with blocking fds a v2 checker never waits: no check, probe step or pc_init of the matrix parks', () => {
    const { report } = ran();
    const m = report.modes.blocking;
    const parked = m.cases.filter((c) => c.wasmtime.parked !== 0 || c.wasmtime.waits !== 0 || c.wasmtime.initWaits !== 0).map((c) => `${c.checker} ${c.device}`);
    expect(parked).toEqual([]);
    expect(m.probes.filter((p) => p.parked !== 0 || p.initWaits !== 0).map((p) => p.device)).toEqual([]);
    expect(m.summary.parked).toEqual({ ...m.summary.parked, checks: 0, probeChecks: 0, initWaits: 0 });
    // ...and still waits for the device: the slow path is up after its latency, in one call.
    expect(find(m, 'tur', 'sim:slow?latency=20').wasmtime.state).toBe('up');
  });

  it('a resuming host really parks: tur on a slow device waits and is continued, on a healthy one never', () => {
    const { report } = ran();
    const m = report.modes.resuming;
    const slow = find(m, 'tur', 'sim:slow?latency=20');
    expect(slow.wasmtime.state).toBe('up');
    expect(slow.wasmtime.parked).toBe(slow.runs);
    expect(slow.wasmtime.parked).toBeGreaterThanOrEqual(1);
    expect(slow.wasmtime.waits).toBeGreaterThanOrEqual(slow.runs);
    const ok = find(m, 'tur', 'sim:ok');
    expect(ok.runs).toBeGreaterThan(1);
    expect(ok.wasmtime.parked).toBe(0);
    expect(ok.wasmtime.waits).toBe(0);
    // Every device that answers at once: the reply is readable right after the write.
    const waiting = waitingScenarios();
    expect(waiting.has('slow')).toBe(true);
    const instant = m.cases.filter((c) => !waiting.has(c.scenario));
    expect(instant.length).toBeGreaterThan(0);
    expect(instant.filter((c) => c.wasmtime.parked !== 0).map((c) => `${c.checker} ${c.device}`)).toEqual([]);
    // Every device that does not: tur parks in every check (none never looks at the device).
    const slowTur = m.cases.filter((c) => waiting.has(c.scenario) && c.checker === 'tur');
    expect(slowTur.filter((c) => c.wasmtime.parked !== c.runs).map((c) => `${c.device}: parked ${c.wasmtime.parked} of ${c.runs}`)).toEqual([]);
    expect(m.cases.filter((c) => c.checker === 'none').every((c) => c.wasmtime.parked === 0)).toBe(true);
    expect(m.summary.parked.checks).toBeGreaterThan(0);
  });

  it('the resumable probe parks on a slow device, pc_init included, and observes the same values as where it never waits', () => {
    const { report } = ran();
    const slow = (mode: Mode) => report.modes[mode].probes.find((p) => p.device === 'sim:slow?latency=20')!;
    expect(slow('resuming').parked).toBeGreaterThan(0);
    expect(slow('resuming').initWaits).toBeGreaterThanOrEqual(1);
    expect(report.modes.resuming.probes.find((p) => p.device === 'sim:ok')!.parked).toBe(0);
    const values = (p: Probe) => p.steps.filter((st) => st.expect === undefined).map((st) => st.wasmtime);
    expect(values(slow('resuming'))).toEqual(values(slow('blocking')));
  });

  it('a hung device is timeout under every host, in both modes', () => {
    const { report } = ran();
    for (const mode of MODES) {
      const hang = find(report.modes[mode], 'tur', 'sim:hang');
      expect(hang.node.state).toBe('timeout');
      expect(hang.node.message).toBe('tur checker timed out');
      expect(hang.wasmtime.state).toBe('timeout');
      expect(hang.wasmtime.message).toBe('tur checker timed out');
    }
    // Blocking: the read gave up at the deadline; resuming: the check was parked and abandoned.
    expect(find(report.modes.blocking, 'tur', 'sim:hang').wasmtime.parked).toBe(0);
    expect(find(report.modes.resuming, 'tur', 'sim:hang').wasmtime.parked).toBe(1);
  });

  it('the frame probe observes the same sg v2 frames, errno values and memory layout rules under every host', () => {
    const { report } = ran();
    for (const mode of MODES) {
      const m = report.modes[mode];
      const devices = [...new Set(m.cases.filter((c) => c.scenario !== 'hang').map((c) => c.device))].sort();
      expect(m.probes.map((p) => p.device).sort()).toEqual(devices);
      const differ = m.probes.flatMap((p) =>
        p.steps
          .filter((st) => st.node === null || (st.expect ? st.node !== st.expect.node || st.wasmtime !== st.expect.wasmtime : st.node !== st.wasmtime))
          .map((st) => `${mode}: ${p.device}: ${st.step}: node ${st.node}, wasmtime ${st.wasmtime}`),
      );
      expect(differ).toEqual([]);
      expect(m.probes.every((p) => p.match)).toBe(true);
      // Not vacuous either: DRIVER_SENSE is set exactly when sense came back, and pack_len equals reply_len.
      const step = (device: string, name: string) => m.probes.find((p) => p.device === device)!.steps.find((st) => st.step.startsWith(name))!;
      const value = (device: string, name: string) => step(device, name).node;
      expect(value('sim:standby?sense=fixed', 'tur driver_status')).toBe('8');
      expect(value('sim:ok', 'tur driver_status')).toBe('0');
      expect(value('sim:ok', 'tur pack_len - reply_len')).toBe('64');
      expect(value('sim:ok', 'read with no command outstanding')).toBe('6');
      expect(value('sim:ok', 'write while a reply is unread')).toBe('10');
      expect(value('sim:ok', "close the path's device fd")).toBe('58');
      expect(value('sim:ok', 'pc_init tur errno')).toBe('0');
      expect(value('sim:gone', 'pc_init tur errno')).toBe('43');
      expect(value('sim:ok', 'memory layout')).toBe('15');
      // fs_flags tells the kinds of host apart: NONBLOCK (0x4) on the Node host and a resuming rig, 0 when fds block.
      const flags = step('sim:ok', 'device fd fs_flags');
      expect(flags.node).toBe('4');
      expect(flags.wasmtime).toBe(mode === 'resuming' ? '4' : '0');
    }
  });

  it('cannot pass vacuously: the matrix has states other than up, timeout among them', () => {
    const { report } = ran();
    for (const mode of MODES) {
      const states = new Set(report.modes[mode].cases.map((c) => c.wasmtime.state));
      expect([...states].filter((s) => s !== 'up').length).toBeGreaterThan(0);
      expect(states).toContain('timeout');
      expect(states).toContain('down');
    }
  });

  it('a wait on an fd with nothing outstanding is wild under every host, with the host message', () => {
    const { report } = ran();
    for (const mode of MODES) {
      const m = report.modes[mode];
      const stdin = m.behaviours.find((b) => b.fixture === 'wait-on-stdin')!;
      for (const a of [stdin.node, stdin.wasmtime]) {
        expect(a.state).toBe('wild');
        expect(a.message).toBe('wait-stdin checker waited on fd 0 with no command outstanding');
      }
      const idle = m.behaviours.find((b) => b.fixture === 'wait-on-idle-device')!;
      for (const a of [idle.node, idle.wasmtime]) {
        expect(a.state).toBe('wild');
        expect(a.message).toMatch(/^wait-idle checker waited on fd \d+ with no command outstanding$/);
      }
      expect(m.behaviours.filter((b) => !b.match).map((b) => b.fixture)).toEqual([]);
    }
  });

  it('a module with a bad import is refused by every host with the same one-line reason', () => {
    const { report } = ran();
    for (const mode of MODES) {
      const rejects = report.modes[mode].rejects;
      const bad = rejects.find((r) => r.fixture === 'bad-import');
      expect(bad).toBeDefined();
      expect(bad!.node.ok).toBe(false);
      expect(bad!.wasmtime.ok).toBe(false);
      expect(bad!.node.reason).toMatch(/: imports env\.abort \(function\); a checker may import only env\.memory and wasi_snapshot_preview1 functions$/);
      expect(bad!.wasmtime.reason).toBe(bad!.node.reason);
      const wasi = rejects.find((r) => r.fixture === 'unsupported-wasi');
      expect(wasi!.node.reason).toMatch(/: imports wasi_snapshot_preview1\.fd_seek, which the pathcheck WASI subset does not provide$/);
      expect(wasi!.wasmtime.reason).toBe(wasi!.node.reason);
      expect(rejects.filter((r) => !r.match).map((r) => r.fixture)).toEqual([]);
    }
  });

  it('a v1 module and one without pc_pending are refused by every host with the same text', () => {
    const { report } = ran();
    for (const mode of MODES) {
      const rejects = report.modes[mode].rejects;
      const v1 = rejects.find((r) => r.fixture === 'abi-version-1')!;
      const text = `${v1.path}: plugin ABI version 1, this host implements version 2 (rebuild the checker against the v2 SDK)`;
      for (const h of [v1.node, v1.wasmtime]) expect(h).toEqual({ ok: false, code: 'abi-version', reason: text });
      const pending = rejects.find((r) => r.fixture === 'missing-pc-pending')!;
      for (const h of [pending.node, pending.wasmtime]) expect(h).toEqual({ ok: false, code: 'missing-export', reason: `${pending.path}: missing export pc_pending` });
      expect(rejects.find((r) => r.fixture === 'well-formed')!.wasmtime.ok).toBe(true);
    }
  });

  it('reports per-check time under every host, in both modes', () => {
    const { report } = ran();
    for (const mode of MODES) {
      const timing = report.modes[mode].summary.medianUs;
      for (const t of Object.values(timing)) {
        expect(t.node).toBeGreaterThan(0);
        expect(t.wasmtime).toBeGreaterThan(0);
      }
      expect(Object.keys(timing).length).toBe(report.checkers.length);
    }
  });
});

describe("wasmtime rig, stock WASI: a checker under wasmtime's own WASI, no shim of ours, on read-only disk images", () => {
  /** `python test/rig stock-check` of one checker on one image, as JSON. */
  function stock(checker: string, image: string): { state?: string; message?: string; error?: string } {
    const r = spawnSync(PYTHON, [join(ROOT, 'test', 'rig'), '--json', 'stock-check', join(ROOT, 'build', 'checkers', `${checker}.wasm`), image], { cwd: ROOT, encoding: 'utf8' });
    if (r.stdout.trim() === '') throw new Error(`stock-check ${checker} ${image}: exit ${r.status}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout);
  }

  it('directio reads a block of a disk image (up), a too-short image is down; readsector0 needs sg frames (down there); no image is written to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pathcheck-stock-'));
    try {
      const disk = join(dir, 'disk.img');
      const tiny = join(dir, 'tiny.img');
      writeFileSync(disk, randomBytes(1 << 20));
      writeFileSync(tiny, randomBytes(100));
      const before = [disk, tiny].map((f) => createHash('sha256').update(readFileSync(f)).digest('hex'));
      expect(stock('directio', disk)).toMatchObject({ state: 'up', message: 'directio checker reports path is up' });
      expect(stock('directio', tiny)).toMatchObject({ state: 'down', message: 'directio checker reports path is down' });
      expect(stock('readsector0', disk)).toMatchObject({ state: 'down', message: 'readsector0 checker reports path is down' });
      expect([disk, tiny].map((f) => createHash('sha256').update(readFileSync(f)).digest('hex'))).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
