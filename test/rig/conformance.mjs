#!/usr/bin/env node
/**
 * Conformance: the same .wasm bytes under two independent hosts of docs/ABI.md must give the same
 * answers. For every built checker (build/checkers/*.wasm) x every sim scenario in
 * host/backends/sim/scenarios.json (but hang-hard, which blocks threads by design; scenarios with
 * sense data in both sense formats), the Node host (Registry + checkInThread from dist/, as
 * `pathcheck scenarios` does) and the wasmtime rig (test/rig, Python, run once for the whole matrix)
 * each check a fresh path on a fresh device; state, code and message must be equal. Then a set of
 * hand-made modules, each broken in one way, must be refused by both hosts with the same one-line reason.
 *
 * usage: node test/rig/conformance.mjs [--json] [--runs N] [--timeout MS] [--python PATH]
 *   --json      one JSON document on stdout instead of tables
 *   --runs      checks per path for timing, for scenarios that do not wait (default 201); the time
 *               shown is the median in microseconds of the time spent in pc_check
 *   --timeout   checker_timeout of every check in ms (default 200: what `hang` reports as timeout)
 *   --python    the rig's interpreter (default .venv/bin/python, made by `npm run rig:setup`)
 * Exit status: 0 all equal, 1 any difference, 2 the comparison could not run (no build, no wasmtime...).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIO_FILE = join(ROOT, 'host', 'backends', 'sim', 'scenarios.json');
const CHECKERS_DIR = join(ROOT, 'build', 'checkers');
const DIST = join(ROOT, 'dist', 'host');
const RIG = join(ROOT, 'test', 'rig');
/** Blocks the checking thread, ignoring deadlines, by design: only a host that can kill a thread runs it. */
const SKIPPED = new Set(['hang-hard']);
/** Parameters that keep the matrix fast: a slow device that still answers well inside the timeout. */
const SCENARIO_PARAMS = { slow: 'latency=20' };
const SENSE_FORMATS = ['fixed', 'descriptor'];

class SetupError extends Error {}

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '201' },
      timeout: { type: 'string', default: '200' },
      python: { type: 'string', default: join(ROOT, '.venv', 'bin', 'python') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new SetupError(`--${name} must be an integer >= ${min}, got '${values[name]}'`);
    return n;
  };
  return { json: values.json, runs: int('runs', 1), timeoutMs: int('timeout', 1), python: values.python, help: values.help };
}

// ---------------------------------------------------------------------------------------------
// The matrix: built checkers x scenarios from the JSON (no scenario is named here but the skipped one)

/** Whether any response of a scenario's program carries sense data, or waits (latency, hang). */
function programFacts(program) {
  const responses = program.repeat !== undefined ? [program.repeat] : (program.sequence ?? program.alternate);
  return {
    sense: responses.some((r) => r.sense !== undefined),
    waits: responses.some((r) => r.hang !== undefined || (r.latency !== undefined && r.latency !== 0)),
  };
}

function builtCheckers() {
  if (!existsSync(CHECKERS_DIR)) throw new SetupError(`no ${relative(ROOT, CHECKERS_DIR)}: run \`npm run build\` first`);
  const files = readdirSync(CHECKERS_DIR).filter((f) => f.endsWith('.wasm')).sort();
  if (files.length === 0) throw new SetupError(`no checkers in ${relative(ROOT, CHECKERS_DIR)}: run \`npm run build\` first`);
  return files.map((f) => join(CHECKERS_DIR, f));
}

function matrix(checkers, opts) {
  const doc = JSON.parse(readFileSync(SCENARIO_FILE, 'utf8'));
  const cases = [];
  const scenarios = [];
  for (const [name, scenario] of Object.entries(doc.scenarios)) {
    if (SKIPPED.has(name)) continue;
    scenarios.push(name);
    const facts = programFacts(scenario.program);
    for (const sense of facts.sense ? SENSE_FORMATS : [null]) {
      const params = [SCENARIO_PARAMS[name], sense === null ? undefined : `sense=${sense}`].filter((p) => p !== undefined);
      const device = `sim:${name}${params.length > 0 ? `?${params.join('&')}` : ''}`;
      for (const file of checkers) {
        cases.push({ file, scenario: name, sense, device, timeoutMs: opts.timeoutMs, runs: facts.waits ? 1 : opts.runs });
      }
    }
  }
  return { cases, scenarios, skipped: Object.keys(doc.scenarios).filter((n) => SKIPPED.has(n)) };
}

// ---------------------------------------------------------------------------------------------
// Modules broken in exactly one way (after test/helpers/wat.ts fakePlugin), and one that is fine

function utf16(s) {
  return [...Buffer.from(s, 'utf16le')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

function fakePluginText(p = {}) {
  const name = p.name ?? 'fake';
  const message = 'says hello';
  const omit = new Set(p.omit ?? []);
  const exp = (n) => (omit.has(n) ? '' : `(export "${n}")`);
  const bytes = (s) => Buffer.byteLength(s, 'utf16le');
  return `(module
    ${p.memory ?? '(import "env" "memory" (memory 1 16384 shared))'}
    ${p.extra ?? ''}
    (data (i32.const 1024) "${utf16(name)}")
    (data (i32.const 1088) "${utf16(message)}")
    ${omit.has('memory') ? '' : '(export "memory" (memory 0))'}
    (func ${exp('pc_abi_version')} (result i32) (i32.const ${p.abi ?? 1}))
    (func ${exp('pc_name')} (result i32) (i32.const 1024))
    (func ${exp('pc_name_len')} (result i32) (i32.const ${bytes(name)}))
    (func ${exp('pc_ctx_size')} (result i32) (i32.const 16))
    (func ${exp('pc_scratch_size')} (result i32) (i32.const 64))
    (func ${exp('pc_msg_count')} (result i32) (i32.const 1))
    (func ${exp('pc_msg')} (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const 1088)))) (i32.const 0))
    (func ${exp('pc_msg_len')} (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const ${bytes(message)})))) (i32.const 0))
    (func ${exp('pc_init')} (param $ctx i32) (result i32) (i32.const 0))
    (func ${exp('pc_check')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
      (i32.or (i32.const 3) (i32.shl (i32.const 4) (i32.const 8))))
    (func ${exp('pc_free')} (param $ctx i32))
  )`;
}

/** id -> [what the Node host's LoadError code must be (null: loads), fakePlugin knobs]. */
const FIXTURES = {
  'bad-import': ['import', { extra: '(import "env" "abort" (func $abort (param i32 i32 i32 i32)))' }],
  'unsupported-wasi': ['import', { extra: '(import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))' }],
  'own-memory': ['own-memory', { memory: '(memory 1 16384 shared)' }],
  'unshared-memory': ['memory', { memory: '(import "env" "memory" (memory 1 16384))' }],
  'missing-export': ['missing-export', { omit: ['pc_check', 'pc_free'] }],
  'abi-version': ['abi-version', { abi: 2 }],
  'bad-name': ['bad-export', { name: 'Fake!' }],
  'well-formed': [null, {}],
};

async function writeFixtures(dir) {
  const { default: binaryen } = await import('binaryen');
  return Object.entries(FIXTURES).map(([id, [expect, knobs]]) => {
    const mod = binaryen.parseText(fakePluginText(knobs));
    try {
      mod.setFeatures(binaryen.Features.All);
      if (!mod.validate()) throw new SetupError(`fixture ${id} does not validate`);
      const path = join(dir, `${id}.wasm`);
      writeFileSync(path, mod.emitBinary());
      return { id, expect, path };
    } finally {
      mod.dispose();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The Node host: built dist/, in-thread, as host/cli/commands/scenarios.ts

async function nodeHost() {
  const need = ['registry/registry.js', 'registry/check-in-thread.js', 'backends/device-spec.js'];
  for (const f of need) if (!existsSync(join(DIST, f))) throw new SetupError(`no dist/host/${f}: run \`npm run build\` first`);
  const load = (f) => import(pathToFileURL(join(DIST, f)).href);
  const [{ Registry }, { checkInThread }, { openDevice }] = await Promise.all(need.map(load));
  const registry = new Registry({ scratchRegions: 1 });
  const names = new Map();
  return {
    async check(c) {
      if (!names.has(c.file)) names.set(c.file, (await registry.load(c.file)).name);
      const bound = registry.bind(names.get(c.file), openDevice(c.device));
      const times = [];
      let first;
      try {
        for (let i = 0; i < c.runs; i++) {
          const r = checkInThread(registry, bound, c.timeoutMs);
          first ??= r;
          times.push(r.ms * 1000);
        }
      } finally {
        registry.unbind(bound);
      }
      return { name: names.get(c.file), state: first.state, code: first.code, message: first.message, us: round(median(times)) };
    },
    async load(path) {
      try {
        const cls = await new Registry({ scratchRegions: 1 }).load(path);
        return { ok: true, name: cls.name };
      } catch (e) {
        if (e?.name !== 'LoadError') throw e;
        return { ok: false, code: e.code, reason: e.message };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The wasmtime rig: one Python process for the whole matrix

function runRig(python, requests) {
  if (!existsSync(python)) throw new SetupError(`wasmtime rig: no ${python}; run \`npm run rig:setup\` (a venv with the wasmtime package)`);
  const r = spawnSync(python, [RIG, '--json'], { cwd: ROOT, input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new SetupError(`wasmtime rig: cannot run ${python}: ${r.error.message}`);
  if (r.status !== 0) throw new SetupError(`wasmtime rig exited with status ${r.status}: ${r.stderr.trim() || '(no output)'}`);
  if (r.stderr.trim() !== '') process.stderr.write(r.stderr);
  const out = JSON.parse(r.stdout);
  if (!Array.isArray(out.results) || out.results.length !== requests.length) {
    throw new SetupError(`wasmtime rig answered ${out.results?.length} results for ${requests.length} cases`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x) {
  return Math.round(x * 100) / 100;
}

function sameAnswer(a, b) {
  return a.error === undefined && b.error === undefined && a.state === b.state && a.code === b.code && a.message === b.message;
}

function sameRefusal(a, b, expect) {
  if (a.error !== undefined || b.error !== undefined) return false;
  if (expect === null) return a.ok && b.ok && a.name === b.name;
  return !a.ok && !b.ok && a.code === expect && b.code === expect && a.reason === b.reason;
}

function table(headers, rows, right = []) {
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (right.includes(headers[i]) ? String(c).padStart(width[i]) : String(c).padEnd(width[i]))).join('  ').trimEnd();
  return [line(headers), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

async function main() {
  const opts = options();
  if (opts.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(2, 19).map((l) => l.replace(/^ \*\/? ?/, '')).join('\n'));
    return 0;
  }
  const checkers = builtCheckers();
  const { cases, scenarios, skipped } = matrix(checkers, opts);
  const dir = mkdtempSync(join(tmpdir(), 'pathcheck-rig-'));
  try {
    const fixtures = await writeFixtures(dir);
    const node = await nodeHost();

    const requests = [
      ...cases.map((c) => ({ op: 'check', checker: c.file, device: c.device, timeoutMs: c.timeoutMs, runs: c.runs })),
      ...fixtures.map((f) => ({ op: 'load', path: f.path })),
    ];
    const rig = runRig(opts.python, requests);
    const wasm = rig.results;

    const caseRows = [];
    for (const [i, c] of cases.entries()) {
      let n;
      try {
        n = await node.check(c);
      } catch (e) {
        n = { error: e.message };
      }
      const w = wasm[i];
      const strip = (r) => (r.error !== undefined ? { error: r.error } : { state: r.state, code: r.code, message: r.message, us: r.us });
      caseRows.push({
        checker: n.name ?? w.name ?? relative(CHECKERS_DIR, c.file),
        file: relative(ROOT, c.file),
        scenario: c.scenario,
        sense: c.sense,
        device: c.device,
        timeoutMs: c.timeoutMs,
        runs: c.runs,
        node: strip(n),
        wasmtime: strip(w),
        match: sameAnswer(n, w),
      });
    }
    const rejectRows = [];
    for (const [i, f] of fixtures.entries()) {
      const n = await node.load(f.path);
      const { op: _op, path: _path, ...w } = wasm[cases.length + i];
      rejectRows.push({ fixture: f.id, expect: f.expect, path: f.path, node: n, wasmtime: w, match: sameRefusal(n, w, f.expect) });
    }

    const timing = {};
    for (const name of [...new Set(caseRows.map((r) => r.checker))]) {
      const instant = caseRows.filter((r) => r.checker === name && r.runs > 1 && r.match);
      if (instant.length === 0) continue;
      timing[name] = { node: round(median(instant.map((r) => r.node.us))), wasmtime: round(median(instant.map((r) => r.wasmtime.us))), scenarios: instant.length };
    }
    const mismatched = caseRows.filter((r) => !r.match).length + rejectRows.filter((r) => !r.match).length;
    const summary = {
      checkers: [...new Set(caseRows.map((r) => r.checker))].length,
      scenarios: scenarios.length,
      cases: caseRows.length,
      matched: caseRows.filter((r) => r.match).length,
      rejects: rejectRows.length,
      rejectsMatched: rejectRows.filter((r) => r.match).length,
      medianUs: timing,
    };
    const report = {
      ok: mismatched === 0,
      engines: { node: process.version, wasmtime: rig.engine },
      timeoutMs: opts.timeoutMs,
      runs: opts.runs,
      checkers: checkers.map((f) => relative(ROOT, f)),
      scenarios,
      skipped,
      cases: caseRows,
      rejects: rejectRows,
      summary,
    };

    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const out = (l = '') => process.stdout.write(`${l}\n`);
      const show = (r) => (r.error !== undefined ? ['error', r.error] : [r.state, r.message]);
      out(`pathcheck conformance: Node ${process.version} vs wasmtime ${rig.engine.version} (Python ${rig.engine.python}), checker_timeout ${opts.timeoutMs} ms`);
      out();
      const rows = caseRows.map((r) => [r.checker, r.device, ...show(r.node), ...show(r.wasmtime), r.match ? 'yes' : 'NO', r.node.us ?? '-', r.wasmtime.us ?? '-', r.runs]);
      for (const l of table(['CHECKER', 'DEVICE', 'NODE STATE', 'NODE MESSAGE', 'WASMTIME STATE', 'WASMTIME MESSAGE', 'MATCH', 'NODE us', 'WASMTIME us', 'RUNS'], rows, ['NODE us', 'WASMTIME us', 'RUNS'])) out(l);
      out();
      out('Modules broken in one way: both hosts must refuse them with the same reason (the last one must load).');
      out();
      for (const r of rejectRows) {
        const say = (h) => (h.error !== undefined ? `error: ${h.error}` : h.ok ? `loads (checker '${h.name}')` : `[${h.code}] ${h.reason}`);
        out(`${r.match ? 'same' : 'DIFFERENT'}  ${r.fixture}`);
        out(`    node:     ${say(r.node)}`);
        out(`    wasmtime: ${say(r.wasmtime)}`);
      }
      out();
      out(`${summary.cases} checks (${summary.checkers} checkers x ${summary.scenarios} scenarios, sense scenarios in both formats; skipped: ${skipped.join(', ')}): ${summary.matched} match, ${summary.cases - summary.matched} differ`);
      out(`${summary.rejects} modules: ${summary.rejectsMatched} answered the same by both hosts`);
      for (const [name, t] of Object.entries(timing)) {
        out(`per-check time, ${name}: node ${t.node} us, wasmtime ${t.wasmtime} us (median over ${t.scenarios} non-waiting scenarios, ${opts.runs} checks each)`);
      }
      out(report.ok ? 'CONFORMANT: every answer and every refusal is the same under both hosts' : 'NOT CONFORMANT: see the rows marked NO / DIFFERENT');
    }
    return report.ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`conformance: ${e instanceof SetupError ? e.message : (e?.stack ?? e)}\n`);
    process.exitCode = 2;
  },
);
