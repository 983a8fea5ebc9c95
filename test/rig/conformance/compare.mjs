/**
 * One rig mode against the Node host: the rows of the report (matrix cases, probe devices, behaviour
 * fixtures, refusals), each with both answers and whether they are the same, and their summary.
 * The Node host is a resuming host; a probe step that tells the kinds of host apart is compared with
 * what each kind must answer.
 */
import { PROBE_STEPS } from './probe.mjs';
import { median, round } from './stats.mjs';

const NODE_KIND = 'resuming';

function sameAnswer(a, b, normalise = (m) => m) {
  return a.error === undefined && b.error === undefined && a.state === b.state && a.code === b.code && normalise(a.message) === normalise(b.message);
}

function sameRefusal(a, b, expect) {
  if (a.error !== undefined || b.error !== undefined) return false;
  if (expect === null) return a.ok && b.ok && a.name === b.name;
  return !a.ok && !b.ok && a.code === expect && b.code === expect && a.reason === b.reason;
}

const answer = (r) => (r.error !== undefined ? { error: r.error } : { state: r.state, code: r.code, message: r.message, us: r.us });
/** What only the rig reports: how often it parked the check. */
const parking = (r) => ({ runs: r.runs, parked: r.parked, waits: r.waits, initWaits: r.initWaits });
const rigAnswer = (r) => (r.error !== undefined ? { error: r.error } : { ...answer(r), ...parking(r) });
/** The fd a wait named is each host's own number for the device. */
const anyFd = (m) => m?.replace(/ on fd \d+ /, ' on fd N ');

/**
 * `node`: the Node answers {cases, probes, behaviours, refusals}; `rig`: this mode's results, in the
 * order the requests were made (cases, probes, behaviours, refusals).
 */
export function compareMode(mode, { cases, probes, behaviours, refusals }, node, rig, rel) {
  let i = 0;
  const next = () => rig[i++];
  const caseRows = cases.map((c, k) => {
    const n = node.cases[k];
    const w = next();
    return {
      checker: n.name ?? w.name ?? rel(c.file),
      file: rel(c.file),
      scenario: c.scenario,
      sense: c.sense,
      device: c.device,
      timeoutMs: c.timeoutMs,
      runs: c.runs,
      node: answer(n),
      wasmtime: rigAnswer(w),
      match: sameAnswer(n, w),
    };
  });
  const probeRows = probes.map((c, k) => {
    const n = node.probes[k];
    const w = next();
    const values = (r) => (r.answers ?? []).map((a) => / value (\d+)$/.exec(a)?.[1] ?? a);
    const steps = PROBE_STEPS.map(([what, , byKind], s) => ({
      step: what,
      node: values(n)[s] ?? null,
      wasmtime: values(w)[s] ?? null,
      ...(byKind && { expect: { node: byKind[NODE_KIND], wasmtime: byKind[mode] } }),
    }));
    const alike = (st) => (st.expect ? st.node === st.expect.node && st.wasmtime === st.expect.wasmtime : st.node === st.wasmtime);
    return {
      device: c.device,
      scenario: c.scenario,
      sense: c.sense,
      ...(n.error !== undefined && { nodeError: n.error }),
      ...(w.error !== undefined && { wasmtimeError: w.error }),
      ...(w.error === undefined && parking(w)),
      steps,
      match: n.error === undefined && w.error === undefined && steps.every((st) => st.node !== null && alike(st)),
    };
  });
  const behaviourRows = behaviours.map((b, k) => {
    const n = node.behaviours[k];
    const w = next();
    return { fixture: b.id, device: b.device, node: answer(n), wasmtime: rigAnswer(w), match: sameAnswer(n, w, anyFd) };
  });
  const rejectRows = refusals.map((f, k) => {
    const n = node.refusals[k];
    const { op: _op, path: _path, ...w } = next();
    return { fixture: f.id, expect: f.expect, path: f.path, node: n, wasmtime: w, match: sameRefusal(n, w, f.expect) };
  });

  const checkers = [...new Set(caseRows.map((r) => r.checker))];
  const timing = {};
  for (const name of checkers) {
    const instant = caseRows.filter((r) => r.checker === name && r.runs > 1 && r.match);
    if (instant.length === 0) continue;
    timing[name] = { node: round(median(instant.map((r) => r.node.us))), wasmtime: round(median(instant.map((r) => r.wasmtime.us))), scenarios: instant.length };
  }
  const count = (rows) => rows.filter((r) => r.match).length;
  const sum = (rows, f) => rows.reduce((n, r) => n + (r.wasmtime?.[f] ?? r[f] ?? 0), 0);
  const summary = {
    checkers: checkers.length,
    cases: caseRows.length,
    matched: count(caseRows),
    probes: probeRows.length,
    probeSteps: PROBE_STEPS.length,
    probesMatched: count(probeRows),
    behaviours: behaviourRows.length,
    behavioursMatched: count(behaviourRows),
    rejects: rejectRows.length,
    rejectsMatched: count(rejectRows),
    medianUs: timing,
    parked: {
      checks: sum(caseRows, 'parked'),
      cases: caseRows.filter((r) => (r.wasmtime.parked ?? 0) > 0).map((r) => `${r.checker} ${r.device}`),
      probeChecks: sum(probeRows, 'parked'),
      initWaits: sum(caseRows, 'initWaits') + sum(probeRows, 'initWaits'),
    },
  };
  const ok = [caseRows, probeRows, behaviourRows, rejectRows].every((rows) => rows.every((r) => r.match));
  return { ok, cases: caseRows, probes: probeRows, behaviours: behaviourRows, rejects: rejectRows, summary };
}
