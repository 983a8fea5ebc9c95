#!/usr/bin/env node
/**
 * Conformance: the same .wasm bytes under two independent hosts of docs/ABI.md must give the same
 * answers. The Node host (CheckHost from dist/: worker pool, registry, runner; a resuming host) and
 * the wasmtime rig (test/rig, Python embedding of the real wasmtime engine, one process per mode) in
 * both of its modes: blocking device fds, as a stock WASI runtime has them, and resuming (non-blocking
 * fds, WAIT | fd continued with pc_pending on another instance with another scratch region).
 *
 *  1. every built checker (build/checkers/*.wasm) x every sim scenario in
 *     host/backends/sim/scenarios.json but hang-hard (it blocks threads by design), scenarios with
 *     sense data in both sense formats: a fresh path on a fresh device, state + code + message equal;
 *     the rig also says how many checks it parked (WAIT answered);
 *  2. a frame probe (a hand-written v2 plugin, one WASI / sg v2 observation per check, resumable) on
 *     every device of the matrix that answers: header fields, status word, DRIVER_SENSE, pack_len =
 *     reply_len, truncation, errno values, memory layout rules, pc_init's wait, all equal;
 *  3. checks the host judges itself (a wait on an fd with nothing outstanding): the same `wild`;
 *  4. modules broken in one way each (a v1 module, one without pc_pending, ...): refused by every host
 *     with the same one-line reason.
 *
 * usage: node test/rig/conformance.mjs [--json] [--runs N] [--timeout MS] [--python PATH]
 *   --json      one JSON document on stdout instead of tables
 *   --runs      checks per path, for timing, where the scenario does not wait (default 201); times
 *               are medians in microseconds of a check's time in plugin calls, device waits included
 *   --timeout   checker_timeout of every check in ms (default 200: what `hang` reports as timeout)
 *   --python    the rig's interpreter (default .venv/bin/python, made by `npm run rig:setup`)
 * Exit status: 0 all equal, 1 any difference, 2 the comparison could not run (no build, no wasmtime...).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assemble } from './conformance/assemble.mjs';
import { compareMode } from './conformance/compare.mjs';
import { writeBehaviours, writeRefusals } from './conformance/fixtures.mjs';
import { nodeHost } from './conformance/node-host.mjs';
import { PROBE_STEPS, probeText } from './conformance/probe.mjs';
import { runRig } from './conformance/rig-process.mjs';
import { SetupError } from './conformance/setup-error.mjs';
import { printReport } from './conformance/text-report.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIO_FILE = join(ROOT, 'host', 'backends', 'sim', 'scenarios.json');
const CHECKERS_DIR = join(ROOT, 'build', 'checkers');
const DIST = join(ROOT, 'dist', 'host');
const RIG = join(ROOT, 'test', 'rig');
/** The rig's modes, each run against the same Node answers. */
const MODES = ['blocking', 'resuming'];
/** Blocks the checking thread, ignoring deadlines, by design: only a host that can kill a thread runs it. */
const SKIPPED = new Set(['hang-hard']);
/** Parameters that keep the matrix fast: a slow device that still answers well inside the timeout. */
const SCENARIO_PARAMS = { slow: 'latency=20' };
const SENSE_FORMATS = ['fixed', 'descriptor'];
/** Where the behaviour fixtures are checked: a device that answers at once. */
const BEHAVIOUR_DEVICE = 'sim:ok';

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

/** Whether any response of any of a scenario's programs (its default one and per-command ones) carries sense data, waits (latency, hang), hangs. */
function scenarioFacts(scenario) {
  const programs = [scenario.program, ...Object.values(scenario.commands ?? {})];
  const responses = programs.flatMap((p) => (p.repeat !== undefined ? [p.repeat] : (p.sequence ?? p.alternate)));
  return {
    sense: responses.some((r) => r.sense !== undefined),
    waits: responses.some((r) => r.hang !== undefined || (r.latency !== undefined && r.latency !== 0)),
    hangs: responses.some((r) => r.hang !== undefined),
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
  /** Devices the frame probe runs on: every one in the matrix that answers (a hang would stall each step). */
  const probeDevices = [];
  for (const [name, scenario] of Object.entries(doc.scenarios)) {
    if (SKIPPED.has(name)) continue;
    scenarios.push(name);
    const facts = scenarioFacts(scenario);
    for (const sense of facts.sense ? SENSE_FORMATS : [null]) {
      const params = [SCENARIO_PARAMS[name], sense === null ? undefined : `sense=${sense}`].filter((p) => p !== undefined);
      const device = `sim:${name}${params.length > 0 ? `?${params.join('&')}` : ''}`;
      for (const file of checkers) {
        cases.push({ file, scenario: name, sense, device, timeoutMs: opts.timeoutMs, runs: facts.waits ? 1 : opts.runs });
      }
      if (!facts.hangs) probeDevices.push({ scenario: name, sense, device });
    }
  }
  return { cases, probeDevices, scenarios, skipped: Object.keys(doc.scenarios).filter((n) => SKIPPED.has(n)) };
}

// ---------------------------------------------------------------------------------------------

/** Every check and load, asked of the Node host in the order the rig is asked. */
async function askNode(node, { cases, probes, behaviours, refusals }) {
  const check = async (c) => {
    try {
      return await node.check(c);
    } catch (e) {
      return { error: e.message };
    }
  };
  const out = { cases: [], probes: [], behaviours: [], refusals: [] };
  for (const c of cases) out.cases.push(await check(c));
  for (const c of probes) out.probes.push(await check(c));
  for (const c of behaviours) out.behaviours.push(await check(c));
  for (const f of refusals) out.refusals.push(await node.load(f.path));
  return out;
}

function rigRequests({ cases, probes, behaviours, refusals }) {
  const check = (c) => ({ op: 'check', checker: c.file, device: c.device, timeoutMs: c.timeoutMs, runs: c.runs, ...(c.answers && { answers: true }) });
  return [...cases.map(check), ...probes.map(check), ...behaviours.map(check), ...refusals.map((f) => ({ op: 'load', path: f.path }))];
}

async function main() {
  const opts = options();
  if (opts.help) {
    const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const header = text.slice(text.indexOf('/**') + 3, text.indexOf('*/'));
    console.log(header.split('\n').map((l) => l.replace(/^ \* ?/, '')).join('\n').trim());
    return 0;
  }
  const checkers = builtCheckers();
  const { cases, probeDevices, scenarios, skipped } = matrix(checkers, opts);
  const dir = mkdtempSync(join(tmpdir(), 'pathcheck-rig-'));
  try {
    const refusals = await writeRefusals(dir);
    const probePath = await assemble(dir, 'probe', probeText());
    const probes = probeDevices.map((d) => ({ ...d, file: probePath, timeoutMs: opts.timeoutMs, runs: PROBE_STEPS.length, answers: true }));
    const behaviours = (await writeBehaviours(dir)).map((b) => ({ ...b, file: b.path, device: BEHAVIOUR_DEVICE, timeoutMs: opts.timeoutMs, runs: 1 }));
    const work = { cases, probes, behaviours, refusals };

    // One after the other, not side by side: the timings are per-check medians on a shared machine.
    const node = await nodeHost(DIST);
    let nodeAnswers;
    try {
      nodeAnswers = await askNode(node, work);
    } finally {
      await node.close();
    }
    const requests = rigRequests(work);
    const rel = (f) => relative(ROOT, f);
    const modes = {};
    let engine;
    for (const mode of MODES) {
      const rig = runRig({ python: opts.python, rig: RIG, cwd: ROOT, mode, requests });
      engine ??= rig.engine;
      modes[mode] = compareMode(mode, work, nodeAnswers, rig.results, rel);
    }
    const report = {
      ok: MODES.every((m) => modes[m].ok),
      engines: { node: process.version, wasmtime: { name: engine.name, version: engine.version, python: engine.python } },
      timeoutMs: opts.timeoutMs,
      runs: opts.runs,
      checkers: checkers.map(rel),
      scenarios,
      skipped,
      modeNames: MODES,
      modes,
      summary: Object.fromEntries(MODES.map((m) => [m, modes[m].summary])),
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else printReport(report, (l = '') => process.stdout.write(`${l}\n`));
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
