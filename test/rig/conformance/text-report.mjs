/** The conformance report for a terminal: one table per section, every rig mode beside the Node host. */
import { PROBE_STEPS } from './probe.mjs';

function table(headers, rows, right = []) {
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (right.includes(headers[i]) ? String(c).padStart(width[i]) : String(c).padEnd(width[i]))).join('  ').trimEnd();
  return [line(headers), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const said = (r) => (r.error !== undefined ? `error: ${r.error}` : `${r.state}: ${r.message}`);
const upper = (mode) => mode.toUpperCase();

export function printReport(report, out) {
  const modes = report.modeNames;
  const byMode = (pick) => modes.map((m) => pick(report.modes[m], m));
  out(
    `pathcheck conformance: Node ${report.engines.node} (a resuming host) vs wasmtime ${report.engines.wasmtime.version} ` +
      `(Python ${report.engines.wasmtime.python}) in ${modes.join(' and ')} mode, checker_timeout ${report.timeoutMs} ms`,
  );
  out();
  const first = report.modes[modes[0]];
  const caseRows = first.cases.map((r, k) => {
    const rig = modes.map((m) => report.modes[m].cases[k]);
    return [
      r.checker,
      r.device,
      r.node.state ?? 'error',
      r.node.message ?? r.node.error,
      ...rig.map((x) => (x.match ? 'same' : `NO (${said(x.wasmtime)})`)),
      ...rig.map((x) => `${x.wasmtime.parked ?? '-'}/${x.runs}`),
      r.node.us ?? '-',
      ...rig.map((x) => x.wasmtime.us ?? '-'),
    ];
  });
  const headers = ['CHECKER', 'DEVICE', 'NODE STATE', 'NODE MESSAGE', ...modes.map(upper), ...modes.map((m) => `PARKED ${upper(m)}`), 'NODE us', ...modes.map((m) => `${upper(m)} us`)];
  for (const l of table(headers, caseRows, headers.filter((h) => h.includes('us') || h.startsWith('PARKED')))) out(l);
  out();

  out(`Frame probe: ${PROBE_STEPS.length} WASI / sg v2 observations per device, one per check; each value must be the same under every host`);
  out('(the fs_flags step excepted: NONBLOCK on a resuming host, 0 on a blocking one).');
  out(PROBE_STEPS.map(([what], k) => `${String(k).padStart(2)} ${what}`).join('\n'));
  out();
  const probeRows = first.probes.map((r, k) => {
    const rig = modes.map((m) => report.modes[m].probes[k]);
    const values = r.steps.map((st, s) => {
      const theirs = rig.map((x) => x.steps[s].wasmtime);
      return theirs.every((v) => v === st.node) ? st.node : [st.node, ...theirs].join('/');
    });
    return [r.device, ...rig.map((x) => (x.match ? 'yes' : 'NO')), ...rig.map((x) => `${x.parked ?? '-'}/${x.runs ?? '-'}`), values.join(' ')];
  });
  const probeHeaders = ['DEVICE', ...modes.map((m) => `MATCH ${upper(m)}`), ...modes.map((m) => `PARKED ${upper(m)}`), `VALUES BY STEP (node/${modes.join('/')} where they differ)`];
  for (const l of table(probeHeaders, probeRows)) out(l);
  for (const m of modes) {
    for (const r of report.modes[m].probes.filter((row) => !row.match)) {
      if (r.nodeError) out(`  ${r.device}: node error: ${r.nodeError}`);
      if (r.wasmtimeError) out(`  ${r.device}: wasmtime (${m}) error: ${r.wasmtimeError}`);
      for (const st of r.steps.filter((x) => x.node !== x.wasmtime || x.expect)) {
        if (st.expect ? st.node === st.expect.node && st.wasmtime === st.expect.wasmtime : st.node === st.wasmtime) continue;
        out(`  ${r.device}: ${st.step}: node ${st.node}, wasmtime (${m}) ${st.wasmtime}${st.expect ? ` (expected ${st.expect.node}, ${st.expect.wasmtime})` : ''}`);
      }
    }
  }
  out();

  out('Checks a host judges itself (a wait on nothing): the same state and message under every host (fd numbers are each host\'s own).');
  out();
  for (const [k, r] of first.behaviours.entries()) {
    const rig = modes.map((m) => report.modes[m].behaviours[k]);
    out(`${rig.every((x) => x.match) ? 'same' : 'DIFFERENT'}  ${r.fixture} on ${r.device}`);
    out(`    node:     ${said(r.node)}`);
    for (const [j, m] of modes.entries()) out(`    ${`${m}:`.padEnd(10)}${said(rig[j].wasmtime)}`);
  }
  out();

  out('Modules broken in one way: every host must refuse them with the same reason (the last one must load).');
  out();
  const refusal = (h) => (h.error !== undefined ? `error: ${h.error}` : h.ok ? `loads (checker '${h.name}')` : `[${h.code}] ${h.reason}`);
  for (const [k, r] of first.rejects.entries()) {
    const rig = modes.map((m) => report.modes[m].rejects[k]);
    out(`${rig.every((x) => x.match) ? 'same' : 'DIFFERENT'}  ${r.fixture}`);
    out(`    node:     ${refusal(r.node)}`);
    for (const [j, m] of modes.entries()) out(`    ${`${m}:`.padEnd(10)}${refusal(rig[j].wasmtime)}`);
  }
  out();

  byMode((mr, m) => {
    const s = mr.summary;
    out(`${m}: ${s.cases} checks (${s.checkers} checkers x ${report.scenarios.length} scenarios, sense scenarios in both formats; skipped: ${report.skipped.join(', ')}): ${s.matched} match, ${s.cases - s.matched} differ`);
    out(`${m}: ${s.probes} devices probed (${s.probeSteps} steps each): ${s.probesMatched} alike in every step; ${s.behaviours} judged checks: ${s.behavioursMatched} alike; ${s.rejects} modules: ${s.rejectsMatched} answered the same`);
    out(`${m}: checks parked: ${s.parked.checks} in the matrix (${s.parked.cases.join(', ') || 'none'}), ${s.parked.probeChecks} of the probe's, ${s.parked.initWaits} pc_init waits`);
    for (const [name, t] of Object.entries(s.medianUs)) {
      out(`${m}: per-check time, ${name}: node ${t.node} us, wasmtime ${t.wasmtime} us (median over ${t.scenarios} non-waiting scenarios, ${report.runs} checks each)`);
    }
    return null;
  });
  out(report.ok ? 'CONFORMANT: every answer, probe value and refusal is the same under the Node host and the rig in every mode' : 'NOT CONFORMANT: see the rows marked NO / DIFFERENT');
}
