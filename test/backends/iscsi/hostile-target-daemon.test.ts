import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, EventLog, runPathcheck, sleep, stopAllDaemons, waitUntil } from '../../helpers/daemon-process.js';
import { FakeTarget, HONEST, InitiatorOp, TargetOp, loginResponse, targetPdu, type Script } from '../../helpers/fake-target.js';
import { staysResponsive } from '../../helpers/responsive.js';

// Issue 12's hostile targets through the built CLI and the real daemon (default session options).

const targets: FakeTarget[] = [];

afterEach(async () => {
  await stopAllDaemons();
  for (const t of targets.splice(0)) await t.close();
});

async function target(script: Script): Promise<FakeTarget> {
  const t = await FakeTarget.start(script);
  targets.push(t);
  return t;
}

const GARBAGE = Uint8Array.from({ length: 96 }, (_, i) => (i === 0 ? 0x3c : i));

/** Refused at login step 1 (Status-Class 2, target not found). */
const REFUSED: Script = {
  pdu: (x) => x.conn.send(loginResponse({ request: x.pdu, transit: false, csg: 0, nsg: 0, keys: [], statusClass: 2, statusDetail: 3, numbers: x.conn.numbers() })),
};

/** Logs in, then answers the first SCSI Command with bytes that are no PDU. */
const GARBAGE_ON_COMMAND: Script = { pdu: (x) => (x.pdu.opcode === InitiatorOp.ScsiCommand ? void x.conn.send(GARBAGE) : x.answer()) };

async function check(url: string): Promise<{ state: string; status: number | null; ms: number }> {
  const t0 = performance.now();
  const r = await runPathcheck(['check', url, '--json', '--timeout', '5000'], 20_000);
  expect(r.stderr).toBe('');
  return { state: (JSON.parse(r.stdout) as { state: string }).state, status: r.status, ms: performance.now() - t0 };
}

describe('pathcheck check iscsi:// against a hostile target', () => {
  it('refused login: down; garbage for the TUR: down; honest: up; each run exits well within its --timeout', async () => {
    const [refused, garbage, honest] = await Promise.all([target(REFUSED), target(GARBAGE_ON_COMMAND), target(HONEST)]);
    const results = await Promise.all([check(refused.url()), check(garbage.url()), check(honest.url())]);
    expect(results.map((r) => [r.state, r.status])).toEqual([
      ['down', 1],
      ['down', 1],
      ['up', 0],
    ]);
    for (const r of results) expect(r.ms).toBeLessThan(5000);
    for (const t of [refused, garbage, honest]) await waitUntil('every connection closed', () => t.open === 0, 2000);
  });
});

/** A different misbehaviour on each connection, all of them fast. */
const ROTATION: ((x: Parameters<NonNullable<Script['pdu']>>[0]) => void)[] = [
  (x) => x.conn.send(GARBAGE),
  (x) => (x.loginStep === 2 ? x.conn.destroy() : x.answer()),
  (x) => REFUSED.pdu!(x),
  (x) => (x.pdu.opcode === InitiatorOp.ScsiCommand ? void x.conn.send(targetPdu({ opcode: TargetOp.ScsiResponse, itt: x.pdu.itt, dataSegmentLength: 0xffffff })) : x.answer()),
];

describe('the daemon with one path on a hostile target and 10 sim paths', () => {
  it('show paths keeps answering, the sim paths stay up, the hostile path is down, and up once the target turns honest', async () => {
    const hostile = await target({ pdu: (x) => ROTATION[x.conn.index % ROTATION.length]!(x) });
    const sims = Array.from({ length: 10 }, (_, i) => `sim:ok?id=s${i}`);
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, checkerTimeout: 2, paths: [hostile.url(), ...sims] } });
    const r = await staysResponsive(d, sleep(5000), sims, { maxMs: 8000 });
    expect(r.timeline.flatMap((s) => s.notUp)).toEqual([]);
    expect(r.worstMs).toBeLessThan(1000);
    expect(hostile.connections.length).toBeGreaterThanOrEqual(ROTATION.length);
    expect((await d.path(hostile.url()))!.state).toBe('down');
    hostile.script = HONEST;
    // The session's backoff has doubled towards its 8 s cap.
    await waitUntil('the path up on an honest target', async () => (await d.path(hostile.url()))?.state === 'up', 20_000, 200);
  });
});

describe('a LUN that does not answer one command, on a session that stays up', () => {
  it('the check times out, the command gets ABORT TASK at the deadline, and the next check runs (up), not pending; the session is kept', async () => {
    let commands = 0;
    let ignored: number | null = null;
    // Answers everything but the second SCSI Command (the first check's TUR comes first).
    const t = await target({
      pdu: (x) => {
        if (x.pdu.opcode === InitiatorOp.ScsiCommand && ++commands === 2) {
          ignored = x.pdu.itt;
          return;
        }
        x.answer();
      },
    });
    // The next check is due 1 s after the abort (a check that outlasts its interval is followed at once,
    // racing the abort's round trip: a device still busy with it is pending, honestly).
    const d = await DaemonProcess.start({ config: { pollingInterval: 2, maxPollingInterval: 2, checkerTimeout: 1, paths: [t.url()] } });
    // Opened before the second check's deadline (3 s in): its timeout and what follows are seen.
    const log = await EventLog.open(d.socket);
    const timedOut = await log.waitFor('the timeout', (e) => e.type === 'state' && e.to === 'timeout', 10_000);
    await log.waitFor('up again', (e) => e.type === 'state' && e.to === 'up' && e.seq > timedOut.seq, 10_000);
    // Two more checks: it stays up (the aborted command no longer holds the LUN).
    await sleep(4500);
    const states = log.ofType('state').map((e) => e.to);
    expect(states.slice(states.indexOf('timeout'))).toEqual(['timeout', 'up']);
    const aborts = t.received.filter((p) => p.opcode === InitiatorOp.TaskManagementRequest);
    expect(aborts.map((p) => ({ fn: p.byte1 & 0x7f, referenced: p.word20 }))).toEqual([{ fn: 1, referenced: ignored }]);
    expect(t.connections).toHaveLength(1);
    await log.stop();
  });
});
