import { afterEach, describe, expect, it } from 'vitest';
import type { ScsiOutcome } from '../../../host/backends/device.js';
import { HostByte } from '../../../host/backends/host-byte.js';
import { IscsiSession, type SessionEvent, type SessionOptions } from '../../../host/backends/iscsi/iscsi-session.js';
import { INITIATOR_NAME } from '../../../host/backends/iscsi/iscsi-sessions.js';
import { sleep, waitUntil } from '../../helpers/daemon-process.js';
import {
  FakeTarget,
  HONEST,
  InitiatorOp,
  TARGET_IQN,
  TargetOp,
  asyncMessage,
  dataIn,
  loginResponse,
  nopIn,
  reject,
  scsiResponse,
  tmfResponse,
  targetPdu,
  type Exchange,
  type Script,
} from '../../helpers/fake-target.js';

// Issue 12: a target that misbehaves on purpose, at every login step and in Full Feature Phase. Every
// command completes within the login / ping bounds below with the documented host byte, the session
// says why in one line, nothing is left open, and the session works again once the target is honest.

const OPTIONS: SessionOptions = {
  initiatorName: INITIATOR_NAME,
  loginTimeoutMs: 400,
  pingAfterMs: 150,
  pingTimeoutMs: 250,
  commandTimeoutMs: 1500,
  abortTimeoutMs: 300,
  backoffMs: 20,
  maxBackoffMs: 20,
};
const CHAP = { user: 'pathcheck', secret: 'twelve-chars' };
const TUR = Uint8Array.of(0, 0, 0, 0, 0, 0);
const INQUIRY = Uint8Array.of(0x12, 0, 0, 0, 96, 0);
/** Far past every bound above, far below vitest's: a command that has not completed by then hangs. */
const HANG_MS = 5000;
const NEVER_ENDING = 0xff_ffff;

interface Rig {
  readonly target: FakeTarget;
  readonly session: IscsiSession;
  readonly events: SessionEvent[];
}

const rigs: Rig[] = [];
/** Sockets, servers and timers holding this process open when the test's first rig was made (vitest's own among them). */
let baseline: Map<string, number> | null = null;
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const h of process.getActiveResourcesInfo()) if (/^(TCPSocketWrap|TCPServerWrap|Timeout)$/.test(h)) counts.set(h, (counts.get(h) ?? 0) + 1);
  return counts;
}
/** No more of any kind than at the baseline. */
const noneLeft = (base: Map<string, number>) => [...handles()].every(([kind, n]) => n <= (base.get(kind) ?? 0));

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.session.close(200);
    await r.target.close();
  }
  const base = baseline;
  if (base !== null) await waitUntil('no socket, server or timer of the test left', () => noneLeft(base) || JSON.stringify([...handles()]), 2000);
  baseline = null;
});

async function rig(script: Script, options: Partial<SessionOptions> = {}): Promise<Rig> {
  baseline ??= handles();
  const target = await FakeTarget.start(script);
  const session = new IscsiSession(
    { host: '127.0.0.1', port: target.port, target: TARGET_IQN, ...(script.chap === true && { chap: CHAP }) },
    { ...OPTIONS, ...options },
  );
  const events: SessionEvent[] = [];
  session.on('event', (e) => events.push(e));
  const r = { target, session, events };
  rigs.push(r);
  return r;
}

/** One command; it must complete within HANG_MS. */
function run(session: IscsiSession, cdb: Uint8Array = TUR, dataInLength = 0): Promise<ScsiOutcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`command not completed within ${HANG_MS} ms (${JSON.stringify(session.load)})`)), HANG_MS);
    session.submit({
      lun: 1,
      cdb,
      dataInLength,
      done: (o) => {
        clearTimeout(timer);
        resolve(o);
      },
    });
  });
}

/** The one failure event the session emitted, after its `connected` (if it got that far). */
function failure(r: Rig): SessionEvent {
  const failures = r.events.filter((e) => e.type !== 'connected');
  expect(failures).toHaveLength(1);
  const f = failures[0]!;
  expect('reason' in f && !/[\r\n]/.test(f.reason)).toBe(true);
  return f;
}

/** The target turns honest: the next command after the backoff logs in again and is answered; close leaves nothing open. */
async function recovers(r: Rig): Promise<void> {
  r.target.script = HONEST;
  await sleep(OPTIONS.maxBackoffMs! * 3);
  const o = await run(r.session);
  expect([o.hostStatus, o.status]).toEqual([HostByte.OK, 0]);
  expect(r.session.load).toEqual({ outstanding: 0, waiting: 0, state: 'ready' });
  await r.session.close();
  expect(r.session.load).toEqual({ outstanding: 0, waiting: 0, state: 'closed' });
  await waitUntil('the target to see every connection closed', () => r.target.open === 0, 2000);
}

/** Misbehave on SCSI Commands only; log in and answer everything else honestly. */
const onCommand = (misbehave: (x: Exchange) => void): Script => ({
  pdu: (x) => (x.pdu.opcode === InitiatorOp.ScsiCommand ? misbehave(x) : x.answer()),
});

/** Never answer PDUs of opcode `a`; for opcode `b`, `onB` (default: no answer either); answer the rest honestly. */
const silentOn = (a: number, b: number, onB?: (x: Exchange) => void): Script => ({
  pdu: (x) => {
    if (x.pdu.opcode === a) return;
    if (x.pdu.opcode === b) return onB?.(x);
    x.answer();
  },
});

/** Misbehave at one login step; answer everything else honestly. */
const atLoginStep = (step: number, misbehave: (x: Exchange) => void, chap = false): Script => ({
  chap,
  pdu: (x) => (x.loginStep === step ? misbehave(x) : x.answer()),
});

/** A Login Response to `x` refusing it with Status-Class and -Detail. */
const refusal = (x: Exchange, cls: number, detail: number) =>
  loginResponse({ request: x.pdu, transit: false, csg: 0, nsg: 0, keys: [], statusClass: cls, statusDetail: detail, numbers: x.conn.numbers() });

/** The security stage of a CHAP login with these keys in the challenge. */
const chapChallenge = (keys: [string, string][]) =>
  atLoginStep(2, (x) => x.conn.send(loginResponse({ request: x.pdu, transit: false, csg: 0, nsg: 0, keys, numbers: x.conn.numbers() })), true);

/** Bytes that are no PDU: byte 0 an opcode nobody defines. */
const GARBAGE = Uint8Array.from({ length: 96 }, (_, i) => (i === 0 ? 0x3c : (i * 37) & 0xff));

describe('a target misbehaving during login: the command gets DID_NO_CONNECT, the session says why', () => {
  const cases: [string, Script, 'disconnected' | 'login-failed', RegExp][] = [
    ['closes the connection at login step 1', atLoginStep(1, (x) => x.conn.close()), 'disconnected', /^connection closed by the target during login$/],
    ['resets the connection at login step 2 (operational)', atLoginStep(2, (x) => x.conn.destroy()), 'disconnected', /^connection (closed by the target|to 127\.0\.0\.1:\d+ failed: ECONNRESET) during login$/],
    ['stalls at login step 1 (socket open, nothing sent)', atLoginStep(1, (x) => x.conn.stall()), 'disconnected', /^no login within 400 ms$/],
    ['sends half a Login Response, then stalls', atLoginStep(2, (x) => x.conn.sendHalf(x.honest()!)), 'disconnected', /^no login within 400 ms$/],
    ['refuses with Status-Class 2 (target not found)', atLoginStep(1, (x) => x.conn.send(refusal(x, 2, 3))), 'login-failed', /^target not found \(status 0x0203\)$/],
    ['refuses with Status-Class 3 (out of resources)', atLoginStep(1, (x) => x.conn.send(refusal(x, 3, 2))), 'login-failed', /^the target could not log us in \(status 0x0302, out of resources\)$/],
    [
      'never reaches Full Feature Phase (T=0 forever)',
      { pdu: (x) => x.conn.send(loginResponse({ request: x.pdu, transit: false, csg: (x.pdu.byte1 >>> 2) & 3, nsg: 0, keys: [], numbers: x.conn.numbers() })) },
      'login-failed',
      /^the login did not finish in 16 exchanges$/,
    ],
    ['CHAP with CHAP_A=7', chapChallenge([['CHAP_A', '7'], ['CHAP_I', '1'], ['CHAP_C', '0x00112233']]), 'login-failed', /^the target chose CHAP_A=7, not MD5 \(5\)$/],
    ['CHAP without CHAP_C', chapChallenge([['CHAP_A', '5'], ['CHAP_I', '1']]), 'login-failed', /^the target sent no CHAP_I or no CHAP_C$/],
    ['sends garbage bytes', atLoginStep(1, (x) => x.conn.send(GARBAGE)), 'disconnected', /^bad PDU from the target: .*unknown opcode 0x3c$/],
    [
      'sends a Login Response with DataSegmentLength 2^24 - 1',
      atLoginStep(1, (x) => x.conn.send(targetPdu({ opcode: TargetOp.LoginResponse, byte1: 0, itt: x.pdu.itt, dataSegmentLength: NEVER_ENDING }))),
      'disconnected',
      /^bad PDU from the target: Login Response: DataSegmentLength 16777215 over the 262144 negotiated$/,
    ],
    ['answers with a SCSI Response', atLoginStep(1, (x) => x.conn.send(scsiResponse(x.pdu.itt, 0, x.conn.numbers()))), 'disconnected', /^target broke the protocol: SCSI Response during login$/],
  ];

  it.each(cases)('%s', async (_, script, type, reason) => {
    const r = await rig(script);
    const o = await run(r.session);
    expect(o.hostStatus).toBe(HostByte.NO_CONNECT);
    expect(failure(r)).toMatchObject({ type, reason: expect.stringMatching(reason) });
    expect(r.session.load).toEqual({ outstanding: 0, waiting: 0, state: 'idle' });
    await recovers(r);
  });

  it('a command while the session backs off after a refused login fails at once with DID_NO_CONNECT, without a connection', async () => {
    const r = await rig(atLoginStep(1, (x) => x.conn.send(refusal(x, 2, 3))), { backoffMs: 60_000, maxBackoffMs: 60_000 });
    expect((await run(r.session)).hostStatus).toBe(HostByte.NO_CONNECT);
    const t0 = performance.now();
    expect((await run(r.session)).hostStatus).toBe(HostByte.NO_CONNECT);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.target.connections).toHaveLength(1);
  });
});

/** A SCSI Response for task `itt` with this PDU's numbers. */
const goodResponse = (x: Exchange, itt = x.pdu.itt) => scsiResponse(itt, 0, x.conn.numbers());

describe('a target misbehaving in Full Feature Phase: the outstanding command gets DID_TRANSPORT_DISRUPTED, the session says why', () => {
  const cases: [string, Script, RegExp, Uint8Array?][] = [
    ['closes the connection', onCommand((x) => x.conn.close()), /^connection closed by the target$/],
    ['stalls (socket open, nothing sent, pings not answered)', onCommand((x) => x.conn.stall()), /^no answer to a NOP-Out ping within 250 ms$/],
    ['sends half a SCSI Response, then stalls', onCommand((x) => x.conn.sendHalf(goodResponse(x))), /^no answer to a NOP-Out ping within 250 ms$/],
    [
      'sends a SCSI Response with DataSegmentLength 2^24 - 1',
      onCommand((x) => x.conn.send(targetPdu({ opcode: TargetOp.ScsiResponse, itt: x.pdu.itt, dataSegmentLength: NEVER_ENDING }))),
      /^bad PDU from the target: SCSI Response: DataSegmentLength 16777215 over the 262144 negotiated$/,
    ],
    ['sends an unknown opcode', onCommand((x) => x.conn.send(targetPdu({ opcode: 0x3c, itt: x.pdu.itt }))), /^bad PDU from the target: .*unknown opcode 0x3c$/],
    ['sends garbage bytes', onCommand((x) => x.conn.send(GARBAGE)), /^bad PDU from the target: .*unknown opcode 0x3c$/],
    ['answers a task never sent', onCommand((x) => x.conn.send(goodResponse(x, x.pdu.itt + 1000))), /^target broke the protocol: SCSI Response for task 0x[0-9a-f]+, which is not outstanding$/],
    [
      'sends a Data-In past the expected length',
      onCommand((x) => x.conn.send(dataIn({ itt: x.pdu.itt, lun: x.pdu.bytes8, data: new Uint8Array(200), dataSN: 0, offset: 0, status: 0, numbers: x.conn.numbers() }))),
      /^target broke the protocol: Data-In of 200 bytes at offset 0 past the 96 expected$/,
      INQUIRY,
    ],
    [
      'sends Data-In out of DataSN order',
      onCommand((x) => x.conn.send(dataIn({ itt: x.pdu.itt, lun: x.pdu.bytes8, data: new Uint8Array(48), dataSN: 1, offset: 48, numbers: x.conn.numbers(false) }))),
      /^target broke the protocol: Data-In DataSN 1, expected 0$/,
      INQUIRY,
    ],
    ['says it drops the connection (Asynchronous Message, event 2)', onCommand((x) => x.conn.send(asyncMessage(2, x.conn.numbers(), [0, 2, 20]))), /^the target is dropping this connection \(Asynchronous Message, event 2\)$/],
    ['answers pings but never the command, nor its ABORT TASK', silentOn(InitiatorOp.ScsiCommand, InitiatorOp.TaskManagementRequest), /^no answer to the ABORT TASK of task 0x[0-9a-f]+ within 300 ms$/],
    [
      'refuses the ABORT TASK of a command it never answers',
      silentOn(InitiatorOp.ScsiCommand, InitiatorOp.TaskManagementRequest, (x) => x.conn.send(tmfResponse(x.pdu.itt, 255, x.conn.numbers()))),
      /^target broke the protocol: ABORT TASK of task 0x[0-9a-f]+ refused \(response 255\)$/,
    ],
    ['answers an ABORT TASK we never sent', onCommand((x) => x.conn.send(tmfResponse(x.pdu.itt + 1000, 0, x.conn.numbers()))), /^target broke the protocol: Task Management Function Response for task 0x[0-9a-f]+, which is no abort of ours$/],
  ];

  it.each(cases)('%s', async (_, script, reason, cdb = TUR) => {
    const r = await rig(script);
    const o = await run(r.session, cdb, cdb === INQUIRY ? 96 : 0);
    expect(o.hostStatus).toBe(HostByte.TRANSPORT_DISRUPTED);
    expect(r.events[0]).toEqual({ type: 'connected' });
    expect(failure(r)).toMatchObject({ type: 'disconnected', reason: expect.stringMatching(reason) });
    expect(r.session.load).toEqual({ outstanding: 0, waiting: 0, state: 'idle' });
    await recovers(r);
  });

  it('a Reject of the command fails that command with DID_ERROR; the session stays up and answers the next one', async () => {
    let rejected = false;
    const r = await rig(onCommand((x) => (rejected ? x.answer() : ((rejected = true), x.conn.send(reject(0x09, x.pdu, x.conn.numbers()))))));
    expect((await run(r.session)).hostStatus).toBe(HostByte.ERROR);
    expect((await run(r.session)).hostStatus).toBe(HostByte.OK);
    expect(r.events).toEqual([{ type: 'connected' }]);
    expect(r.target.connections).toHaveLength(1);
    await recovers(r);
  });

  it("a target's NOP-In ping is answered with a NOP-Out echoing its TTT and LUN (ITT 0xffffffff, immediate); the command is then answered", async () => {
    const LUN = Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0);
    const r = await rig(onCommand((x) => (x.conn.send(nopIn({ ttt: 0x1234, lun: LUN, numbers: x.conn.numbers(false) })), x.answer())));
    expect((await run(r.session)).hostStatus).toBe(HostByte.OK);
    await waitUntil('the NOP-Out reply', () => r.target.received.find((p) => p.opcode === InitiatorOp.NopOut), 2000);
    const reply = r.target.received.find((p) => p.opcode === InitiatorOp.NopOut)!;
    expect({ immediate: reply.immediate, itt: reply.itt, ttt: reply.word20, lun: [...reply.bytes8] }).toEqual({ immediate: true, itt: 0xffffffff, ttt: 0x1234, lun: [...LUN] });
    expect(r.events).toEqual([{ type: 'connected' }]);
    await recovers(r);
  });

  it('asked to log out (Asynchronous Message, event 1), the initiator sends a Logout (close the session) and nothing else; the Logout Response ends the connection, the next command logs in again', async () => {
    // The Logout Response comes 200 ms late: time to submit a command while the logout is under way.
    const r = await rig({
      pdu: (x) => {
        if (x.pdu.opcode === InitiatorOp.ScsiCommand) x.conn.send(asyncMessage(1, x.conn.numbers(), [0, 0, 5]));
        else if (x.pdu.opcode === InitiatorOp.LogoutRequest) setTimeout(() => x.answer(), 200);
        else x.answer();
      },
    });
    const first = run(r.session);
    await waitUntil('the Logout Request', () => r.target.received.some((p) => p.opcode === InitiatorOp.LogoutRequest), 2000);
    // Submitted while the logout is under way: not sent on the leaving connection.
    const second = run(r.session);
    expect((await first).hostStatus).toBe(HostByte.TRANSPORT_DISRUPTED);
    expect((await second).hostStatus).toBe(HostByte.NO_CONNECT);
    const sent = r.target.received.map((p) => p.opcode).filter((op) => op !== InitiatorOp.NopOut && op !== InitiatorOp.LoginRequest);
    expect(sent).toEqual([InitiatorOp.ScsiCommand, InitiatorOp.LogoutRequest]);
    const logout = r.target.received.find((p) => p.opcode === InitiatorOp.LogoutRequest)!;
    expect({ immediate: logout.immediate, final: (logout.byte1 & 0x80) !== 0, reason: logout.byte1 & 0x7f }).toEqual({ immediate: true, final: true, reason: 0 });
    expect(failure(r)).toMatchObject({ type: 'disconnected', reason: 'the target asked us to log out (Asynchronous Message, event 1): logged out' });
    await recovers(r);
  });

  it('a command never answered is aborted after commandTimeoutMs: ABORT TASK (immediate) names its task, LUN and CmdSN; confirmed, it completes DID_TIME_OUT and the session carries on', async () => {
    const r = await rig(silentOn(InitiatorOp.ScsiCommand, -1));
    const o = await run(r.session);
    expect(o.hostStatus).toBe(HostByte.TIME_OUT);
    const [cmd] = r.target.received.filter((p) => p.opcode === InitiatorOp.ScsiCommand);
    const [tmf] = r.target.received.filter((p) => p.opcode === InitiatorOp.TaskManagementRequest);
    const refCmdSN = new DataView(tmf!.bytes32.buffer, tmf!.bytes32.byteOffset).getUint32(0);
    expect({ immediate: tmf!.immediate, fn: tmf!.byte1, lun: [...tmf!.bytes8], referenced: tmf!.word20, refCmdSN, cmdSN: tmf!.cmdSN }).toEqual({
      immediate: true,
      fn: 0x81,
      lun: [...cmd!.bytes8],
      referenced: cmd!.itt,
      refCmdSN: cmd!.cmdSN,
      cmdSN: (cmd!.cmdSN + 1) >>> 0,
    });
    expect(r.events).toEqual([{ type: 'connected' }]);
    expect(r.session.load).toEqual({ outstanding: 0, waiting: 0, state: 'ready' });
    await recovers(r);
  });

  it('abort() of a command still waiting for the login completes it DID_TIME_OUT and never sends it', async () => {
    const r = await rig(atLoginStep(1, () => {}));
    const outcomes: ScsiOutcome[] = [];
    const task = { lun: 1, cdb: TUR, dataInLength: 0, done: (o: ScsiOutcome) => outcomes.push(o) };
    r.session.submit(task);
    r.session.abort(task);
    expect(outcomes.map((o) => o.hostStatus)).toEqual([HostByte.TIME_OUT]);
    expect(r.session.load.waiting).toBe(0);
    await r.session.close(200);
    expect(r.target.received.filter((p) => p.opcode === InitiatorOp.ScsiCommand)).toEqual([]);
  });

  it('a vendor-specific Asynchronous Message (event 255) is no reason to drop the connection', async () => {
    const r = await rig(onCommand((x) => (x.conn.send(asyncMessage(255, x.conn.numbers(false))), x.answer())));
    expect((await run(r.session)).hostStatus).toBe(HostByte.OK);
    expect(r.events).toEqual([{ type: 'connected' }]);
    await recovers(r);
  });
});

describe('a target holding the session with bytes but no answer: bounded in time and memory', () => {
  it('trickling a PDU one byte every 20 ms (never completing it) does not count as an answer to the ping', async () => {
    const r = await rig(onCommand((x) => x.conn.trickle(dataIn({ itt: x.pdu.itt, lun: x.pdu.bytes8, data: new Uint8Array(512), dataSN: 0, offset: 0, numbers: x.conn.numbers(false) }), 20)));
    const t0 = performance.now();
    const o = await run(r.session);
    // pingAfterMs + pingTimeoutMs is 400 ms; the trickle would last 560 x 20 ms, over 11 s.
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(o.hostStatus).toBe(HostByte.TRANSPORT_DISRUPTED);
    expect(failure(r)).toMatchObject({ type: 'disconnected', reason: 'no answer to a NOP-Out ping within 250 ms' });
    await recovers(r);
  });

  it('100 MB of one never-ending Data-In: cut off at its header, not buffered', async () => {
    const header = targetPdu({ opcode: TargetOp.ScsiDataIn, byte1: 0, itt: 1, dataSegmentLength: NEVER_ENDING });
    const zeros = new Uint8Array(1 << 16);
    let poured: Promise<number> = Promise.resolve(0);
    let chunks = 0;
    const r = await rig(onCommand((x) => void (poured = x.conn.pour(() => (chunks++ === 0 ? header : chunks <= 1600 ? zeros : undefined)))));
    const o = await run(r.session);
    expect(o.hostStatus).toBe(HostByte.TRANSPORT_DISRUPTED);
    expect(failure(r)).toMatchObject({ reason: 'bad PDU from the target: SCSI Data-In: DataSegmentLength 16777215 over the 262144 negotiated' });
    const written = await poured;
    // What loopback's socket buffers took before the reset; not 100 MB.
    expect(written).toBeLessThan(32 << 20);
    await recovers(r);
  });
});

describe('a target flooding NOP-In pings while it reads nothing', () => {
  it('our NOP-Out replies do not pile up without bound: the connection is dropped, naming why', async () => {
    const BATCH = 1000;
    const BATCHES = 2000;
    let poured: Promise<number> = Promise.resolve(0);
    const r = await rig(
      onCommand((x) => {
        x.conn.stopReading();
        x.conn.stall();
        const batch = Buffer.concat(Array.from({ length: BATCH }, (_, i) => nopIn({ ttt: i + 1, numbers: x.conn.numbers(false) })));
        let n = 0;
        poured = x.conn.pour(() => (n++ < BATCHES ? batch : undefined));
      }),
      // Answering 150,000 pings one at a time takes longer than the test's short command timeout.
      { commandTimeoutMs: HANG_MS },
    );
    const o = await run(r.session);
    expect(o.hostStatus).toBe(HostByte.TRANSPORT_DISRUPTED);
    expect(failure(r)).toMatchObject({ reason: expect.stringMatching(/^target broke the protocol: NOP-In pings while \d+ bytes we sent are unread$/) });
    // Measured: about 8 MB of the 96 MB get into the socket before the reset (kernel buffers both ways, 1 MiB of ours).
    expect(await poured).toBeLessThan((BATCH * BATCHES * 48) / 2);
    await recovers(r);
  });
});

describe('closing a session', () => {
  it('logs out quietly: no disconnected event, no command sent after the Logout Request, a command during the logout fails at once', async () => {
    const r = await rig({ pdu: (x) => (x.pdu.opcode === InitiatorOp.LogoutRequest ? void setTimeout(() => x.answer(), 100) : x.answer()) });
    expect((await run(r.session)).hostStatus).toBe(HostByte.OK);
    const closed = r.session.close();
    expect((await run(r.session)).hostStatus).toBe(HostByte.NO_CONNECT);
    await closed;
    expect(r.target.received.map((p) => p.opcode).slice(-2)).toEqual([InitiatorOp.ScsiCommand, InitiatorOp.LogoutRequest]);
    expect(r.events).toEqual([{ type: 'connected' }]);
    expect(r.session.load).toEqual({ outstanding: 0, waiting: 0, state: 'closed' });
    await waitUntil('the target to see the connection closed', () => r.target.open === 0, 2000);
  });
});
