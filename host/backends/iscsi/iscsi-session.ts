import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { ScsiOutcome } from '../device.js';
import { HostByte } from '../host-byte.js';
import { RESERVED_TAG } from './bhs.js';
import { LoginError, LoginNegotiation, type ChapCredentials, type Negotiated } from './login-negotiation.js';
import { encodeLogoutRequest, encodeNopOutPing, encodeNopOutReply, encodeScsiCommand, encodeTaskManagementRequest, TaskFunction } from './pdu-encode.js';
import { PduError } from './pdu-error.js';
import { Opcode, opcodeName } from './pdu-opcode.js';
import { PduReader } from './pdu-reader.js';
import { encodeLun } from './scsi-lun.js';
import { cmdWindowOpen, cmdWindowValid, snAdd, snLt } from './serial-number.js';
import type { LoginResponse, ScsiDataIn, ScsiResponse, TargetPdu, TaskManagementResponse } from './target-pdu.js';

/** One SCSI command for a LUN behind this session; `done` is called exactly once. */
export interface ScsiTask {
  readonly lun: number;
  readonly cdb: Uint8Array;
  readonly dataInLength: number;
  done(outcome: ScsiOutcome): void;
}

export interface SessionTarget {
  readonly host: string;
  readonly port: number;
  readonly target: string;
  readonly chap?: ChapCredentials;
}

export interface SessionOptions {
  readonly initiatorName: string;
  /** Bound on connect + login (default 10 s). */
  readonly loginTimeoutMs?: number;
  /** A NOP-Out ping after this long without a PDU from the target (default 5 s, open-iscsi's noop_out_interval)... */
  readonly pingAfterMs?: number;
  /** ... and the connection is dropped when it is not answered within this (default 5 s, noop_out_timeout). */
  readonly pingTimeoutMs?: number;
  /**
   * A command not answered within this is aborted (default: never here; the host aborts a command when
   * the check waiting for it passes its deadline, the checker_timeout, as the kernel does at SG_IO's).
   */
  readonly commandTimeoutMs?: number;
  /** An ABORT TASK not answered within this drops the connection (default 15 s, open-iscsi's abort_timeout). */
  readonly abortTimeoutMs?: number;
  /** After a failed connection, no new attempt for this long, doubling up to `maxBackoffMs` (default 250 ms .. 8 s). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** `connected`, `disconnected` (with the reason), `login-failed` (with the LoginError): for the daemon's log. */
export type SessionEvent = { type: 'connected' } | { type: 'disconnected'; reason: string } | { type: 'login-failed'; reason: string };

/** We declare this MaxRecvDataSegmentLength: a READ of 256 KiB arrives in one Data-In. */
const MAX_RECV = 262144;
/** Bytes we may have queued for a target that reads none of them (it can make us answer pings without end). */
const MAX_UNSENT = 1 << 20;
const FAIL_NOW: ScsiOutcome = { status: 0, hostStatus: HostByte.NO_CONNECT, driverStatus: 0, sense: new Uint8Array(0), dataIn: new Uint8Array(0) };

interface Outstanding {
  readonly task: ScsiTask;
  readonly data: Uint8Array;
  received: number;
  nextDataSN: number;
  readonly sentAt: number;
  readonly cmdSN: number;
  /** Its ABORT TASK is on its way since then. */
  abortSentAt?: number;
}

/** What a command aborted at its deadline completes with (the target confirmed the abort). */
const TIMED_OUT: ScsiOutcome = { ...FAIL_NOW, hostStatus: HostByte.TIME_OUT };

type State = 'idle' | 'connecting' | 'ready' | 'closed';

/**
 * One iSCSI session (one connection, ErrorRecoveryLevel 0) to one target, shared by the paths of all
 * its LUNs, on the main thread (DESIGN.md: socket I/O never runs where plugin code does). Commands
 * wait for the login and for room in the CmdSN window; many are outstanding at once, each under its
 * own ITT. Connection loss completes every outstanding command with DID_TRANSPORT_DISRUPTED, as the
 * kernel's initiator does. A command nobody waits for any more (abort(), or past `commandTimeoutMs`)
 * gets ABORT TASK; an abort not answered, or a target that makes us answer pings it never reads,
 * ends the connection too. While the session cannot log in (a backoff
 * after a failure, a login refused), a command completes at once with DID_NO_CONNECT: a checker sees
 * the path down, not a hang.
 * The next command after the backoff reconnects: a target back up is found by the next check.
 */
export class IscsiSession extends EventEmitter<{ event: [SessionEvent] }> {
  private state: State = 'idle';
  private socket: net.Socket | null = null;
  private reader: PduReader | null = null;
  private login: LoginNegotiation | null = null;
  private loginTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingItt: number | null = null;
  /** ABORT TASK requests on their way: their ITT -> the ITT of the task they abort. */
  private readonly aborts = new Map<number, number>();
  /** The target asked for a Logout (Asynchronous Message, event 1) and ours is on its way. */
  private leaving = false;
  private lastHeard = 0;
  private retryAt = 0;
  private backoff: number;

  private readonly isid = randomBytes(6);
  private cmdSN = 1;
  private expStatSN = 0;
  private maxCmdSN = 0;
  private nextItt = 1;
  private readonly tasks = new Map<number, Outstanding>();
  /** Waiting for the login or for the CmdSN window. */
  private readonly waiting: ScsiTask[] = [];

  private readonly loginTimeoutMs: number;
  private readonly pingAfterMs: number;
  private readonly pingTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly abortTimeoutMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    readonly target: SessionTarget,
    private readonly opts: SessionOptions,
  ) {
    super();
    this.loginTimeoutMs = opts.loginTimeoutMs ?? 10_000;
    this.pingAfterMs = opts.pingAfterMs ?? 5000;
    this.pingTimeoutMs = opts.pingTimeoutMs ?? 5000;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? Infinity;
    this.abortTimeoutMs = opts.abortTimeoutMs ?? 15_000;
    this.backoffMs = opts.backoffMs ?? 250;
    this.maxBackoffMs = opts.maxBackoffMs ?? 8000;
    this.backoff = this.backoffMs;
  }

  /** Outstanding and waiting commands: for tests and `show stats`. */
  get load(): { outstanding: number; waiting: number; state: State } {
    return { outstanding: this.tasks.size, waiting: this.waiting.length, state: this.state };
  }

  submit(task: ScsiTask): void {
    if (this.state === 'closed') return task.done(FAIL_NOW);
    if (this.state === 'idle') {
      if (performance.now() < this.retryAt) return task.done(FAIL_NOW);
      this.connect();
    }
    this.waiting.push(task);
    if (this.state === 'ready') this.flush();
  }

  /**
   * Nobody waits for `task` any more (its check's deadline passed). Not yet sent, it is dropped; sent, it
   * gets ABORT TASK (RFC 7143 11.5), and completes DID_TIME_OUT once the target confirms (function
   * complete, or no such task); a refusal, or no answer within `abortTimeoutMs`, ends the connection
   * (ERL 0 has nothing finer). Either way the LUN is free for its next command well before a connection
   * backstop would come, and the other LUNs of the session are untouched.
   */
  abort(task: ScsiTask): void {
    const w = this.waiting.indexOf(task);
    if (w >= 0) {
      this.waiting.splice(w, 1);
      return task.done(TIMED_OUT);
    }
    for (const [itt, o] of this.tasks) if (o.task === task) return this.sendAbort(itt, o);
  }

  private sendAbort(itt: number, o: Outstanding): void {
    // A leaving connection ends soon and completes it; one abort per task is enough.
    if (this.state !== 'ready' || this.leaving || o.abortSentAt !== undefined) return;
    o.abortSentAt = performance.now();
    const tmf = this.allocateItt();
    this.aborts.set(tmf, itt);
    this.socket!.write(
      encodeTaskManagementRequest({
        function: TaskFunction.AbortTask,
        immediate: true,
        lun: encodeLun(o.task.lun),
        itt: tmf,
        referencedTaskTag: itt,
        refCmdSN: o.cmdSN,
        cmdSN: this.cmdSN,
        expStatSN: this.expStatSN,
      }),
    );
  }

  private aborted(pdu: TaskManagementResponse): void {
    const itt = this.aborts.get(pdu.itt);
    if (itt === undefined) throw new ProtocolError(`Task Management Function Response for task 0x${pdu.itt.toString(16)}, which is no abort of ours`);
    this.aborts.delete(pdu.itt);
    this.expStatSN = snAdd(pdu.statSN, 1);
    // RFC 7143 11.6.1: 0 function complete, 1 task does not exist (answered meanwhile, or lost).
    if (pdu.response !== 0 && pdu.response !== 1) throw new ProtocolError(`ABORT TASK of task 0x${itt.toString(16)} refused (response ${pdu.response})`);
    const o = this.tasks.get(itt);
    if (o !== undefined) this.complete(itt, o, TIMED_OUT);
  }

  /**
   * Log out (bounded by `timeoutMs`) and close; answers to outstanding commands are still taken, new
   * ones fail at once, and the target's closing is no `disconnected`. Every command still here then
   * completes DID_NO_CONNECT.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.state === 'closed') return;
    const socket = this.socket;
    const ready = this.state === 'ready';
    this.state = 'closed';
    for (const t of this.waiting.splice(0)) t.done(FAIL_NOW);
    if (ready && socket !== null) {
      const ended = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      socket.write(encodeLogoutRequest({ itt: this.allocateItt(), immediate: true, cmdSN: this.cmdSN, expStatSN: this.expStatSN }));
      await ended;
    }
    this.drop(HostByte.NO_CONNECT);
  }

  private connect(): void {
    this.state = 'connecting';
    const socket = net.connect({ host: this.target.host, port: this.target.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.reader = new PduReader({ maxRecvDataSegmentLength: MAX_RECV });
    this.login = new LoginNegotiation({
      initiatorName: this.opts.initiatorName,
      targetName: this.target.target,
      isid: this.isid,
      cmdSN: this.cmdSN,
      itt: this.allocateItt(),
      maxRecvDataSegmentLength: MAX_RECV,
      ...(this.target.chap !== undefined && { chap: this.target.chap }),
    });
    this.loginTimer = setTimeout(() => this.fail(`no login within ${this.loginTimeoutMs} ms`), this.loginTimeoutMs);
    let connected = false;
    // Which login step a connection ends at is for the reason to say: a target refusing us without a word.
    const during = () => (connected && this.state === 'connecting' ? ' during login' : '');
    socket.on('connect', () => {
      connected = true;
      socket.write(this.login!.first());
    });
    socket.on('data', (chunk: Buffer) => this.receive(socket, chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => this.fail(`connection to ${this.target.host}:${this.target.port} failed: ${e.code ?? e.message}${during()}`, socket));
    socket.on('close', () => this.fail(`connection closed by the target${during()}`, socket));
  }

  private receive(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    let pdus: TargetPdu[];
    try {
      pdus = this.reader!.push(chunk);
    } catch (e) {
      return this.fail(e instanceof PduError ? `bad PDU from the target: ${e.message}` : String(e), socket);
    }
    // A whole PDU is a sign of life; a PDU trickled in a byte at a time is not.
    if (pdus.length > 0) this.lastHeard = performance.now();
    for (const pdu of pdus) {
      if (socket !== this.socket) return;
      try {
        if (this.state === 'connecting') this.loginStep(pdu);
        else this.handle(pdu);
      } catch (e) {
        if (e instanceof LoginError) return this.loginFailed(e);
        return this.fail(e instanceof ProtocolError || e instanceof PduError ? `target broke the protocol: ${e.message}` : String(e), socket);
      }
    }
  }

  private loginStep(pdu: TargetPdu): void {
    if (pdu.opcode !== Opcode.LoginResponse) throw new ProtocolError(`${opcodeName(pdu.opcode)} during login`);
    const next = this.login!.receive(pdu as LoginResponse);
    if ('send' in next) return void this.socket!.write(next.send);
    this.loggedIn(next.done);
  }

  private loggedIn(n: Negotiated): void {
    clearTimeout(this.loginTimer!);
    this.loginTimer = null;
    this.login = null;
    this.state = 'ready';
    this.backoff = this.backoffMs;
    this.cmdSN = n.cmdSN;
    this.expStatSN = n.expStatSN;
    this.maxCmdSN = cmdWindowValid(n.expCmdSN, n.maxCmdSN) ? n.maxCmdSN : n.cmdSN;
    this.pingTimer = setInterval(() => this.keepalive(), Math.max(50, Math.min(this.pingAfterMs, this.pingTimeoutMs) / 2)).unref();
    this.emit('event', { type: 'connected' });
    this.flush();
  }

  private loginFailed(e: LoginError): void {
    this.backOff();
    this.drop(HostByte.NO_CONNECT);
    this.emit('event', { type: 'login-failed', reason: e.message });
  }

  /** Send what the CmdSN window has room for, oldest first. */
  private flush(): void {
    if (this.leaving) return;
    while (this.waiting.length > 0 && cmdWindowOpen(this.cmdSN, this.maxCmdSN)) this.send(this.waiting.shift()!);
  }

  private send(task: ScsiTask): void {
    const itt = this.allocateItt();
    this.tasks.set(itt, { task, data: new Uint8Array(task.dataInLength), received: 0, nextDataSN: 0, sentAt: performance.now(), cmdSN: this.cmdSN });
    const pdu = encodeScsiCommand({
      read: task.dataInLength > 0,
      write: false,
      lun: encodeLun(task.lun),
      itt,
      expectedDataTransferLength: task.dataInLength,
      cdb: task.cdb,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
    });
    this.cmdSN = snAdd(this.cmdSN, 1);
    this.socket!.write(pdu);
  }

  private handle(pdu: TargetPdu): void {
    if ('expCmdSN' in pdu && cmdWindowValid(pdu.expCmdSN, pdu.maxCmdSN) && snLt(this.maxCmdSN, pdu.maxCmdSN)) this.maxCmdSN = pdu.maxCmdSN;
    switch (pdu.opcode) {
      case Opcode.ScsiResponse:
        return this.response(pdu);
      case Opcode.ScsiDataIn:
        return this.dataIn(pdu);
      case Opcode.NopIn:
        // RFC 7143 11.19: StatSN advances only on a NOP-In that answers a ping of ours.
        if (pdu.itt !== RESERVED_TAG) {
          if (pdu.itt !== this.pingItt) throw new ProtocolError(`NOP-In for task 0x${pdu.itt.toString(16)}, which is no ping of ours`);
          this.pingItt = null;
          this.expStatSN = snAdd(pdu.statSN, 1);
        }
        if (pdu.ttt !== RESERVED_TAG) {
          if (this.socket!.writableLength > MAX_UNSENT) throw new ProtocolError(`NOP-In pings while ${this.socket!.writableLength} bytes we sent are unread`);
          this.socket!.write(encodeNopOutReply({ lun: pdu.lun, ttt: pdu.ttt, cmdSN: this.cmdSN, expStatSN: this.expStatSN }));
        }
        return this.flush();
      case Opcode.Reject: {
        const itt = new DataView(pdu.rejected.buffer, pdu.rejected.byteOffset, pdu.rejected.byteLength).getUint32(16);
        const o = this.tasks.get(itt);
        if (o === undefined) throw new ProtocolError(`Reject (reason 0x${pdu.reason.toString(16)}) of a PDU that is no command of ours`);
        this.tasks.delete(itt);
        o.task.done({ ...FAIL_NOW, hostStatus: HostByte.ERROR });
        return this.flush();
      }
      case Opcode.AsyncMessage:
        // 0: a SCSI async event (its sense is for the LUN's next command anyway); 255: vendor-specific, not ours to act on.
        if (pdu.asyncEvent === 0 || pdu.asyncEvent === VENDOR_EVENT) return;
        if (pdu.asyncEvent === LOGOUT_REQUESTED) return this.logOutOnRequest();
        // The target's right, no breach of the protocol: the connection ends, ERL 0 has nothing to keep.
        return this.fail(`the target ${ASYNC_EVENTS.get(pdu.asyncEvent) ?? 'sent an unknown event'} (Asynchronous Message, event ${pdu.asyncEvent})`);
      case Opcode.TaskManagementResponse:
        return this.aborted(pdu);
      case Opcode.LogoutResponse:
        if (this.leaving) return this.fail(`the target ${ASYNC_EVENTS.get(LOGOUT_REQUESTED)} (Asynchronous Message, event 1): logged out`);
        this.socket?.end();
        return;
      default:
        throw new ProtocolError(`unexpected ${opcodeName(pdu.opcode)}`);
    }
  }

  /**
   * RFC 7143 11.9.1, event 1: log out at once (well within the Parameter3 seconds the target allows);
   * nothing new is sent meanwhile. The Logout Response ends the connection; the next command logs in again.
   */
  private logOutOnRequest(): void {
    if (this.leaving) return;
    this.leaving = true;
    this.socket!.write(encodeLogoutRequest({ itt: this.allocateItt(), immediate: true, cmdSN: this.cmdSN, expStatSN: this.expStatSN }));
  }

  private outstanding(itt: number, what: string): Outstanding {
    const o = this.tasks.get(itt);
    if (o === undefined) throw new ProtocolError(`${what} for task 0x${itt.toString(16)}, which is not outstanding`);
    return o;
  }

  private dataIn(pdu: ScsiDataIn): void {
    const o = this.outstanding(pdu.itt, 'Data-In');
    if (pdu.dataSN !== o.nextDataSN) throw new ProtocolError(`Data-In DataSN ${pdu.dataSN}, expected ${o.nextDataSN}`);
    o.nextDataSN++;
    if (pdu.bufferOffset + pdu.data.length > o.data.length) {
      throw new ProtocolError(`Data-In of ${pdu.data.length} bytes at offset ${pdu.bufferOffset} past the ${o.data.length} expected`);
    }
    o.data.set(pdu.data, pdu.bufferOffset);
    o.received = Math.max(o.received, pdu.bufferOffset + pdu.data.length);
    if (!pdu.statusPresent) return;
    this.expStatSN = snAdd(pdu.statSN!, 1);
    this.complete(pdu.itt, o, { status: pdu.status!, hostStatus: HostByte.OK, driverStatus: 0, sense: new Uint8Array(0), dataIn: o.data.subarray(0, o.received) });
  }

  private response(pdu: ScsiResponse): void {
    const o = this.outstanding(pdu.itt, 'SCSI Response');
    this.expStatSN = snAdd(pdu.statSN, 1);
    // RFC 7143 11.4.3: a response other than "Command Completed at Target" carries no SCSI status.
    const hostStatus = pdu.response === 0 ? HostByte.OK : HostByte.ERROR;
    this.complete(pdu.itt, o, { status: pdu.response === 0 ? pdu.status : 0, hostStatus, driverStatus: 0, sense: pdu.sense, dataIn: o.data.subarray(0, o.received) });
  }

  private complete(itt: number, o: Outstanding, outcome: ScsiOutcome): void {
    this.tasks.delete(itt);
    o.task.done(outcome);
    this.flush();
  }

  private keepalive(): void {
    const now = performance.now();
    // A target may answer pings and never a command, nor an abort of one. Tasks are in the order sent.
    for (const [itt, o] of this.tasks) {
      if (o.abortSentAt !== undefined && now - o.abortSentAt > this.abortTimeoutMs) {
        return this.fail(`no answer to the ABORT TASK of task 0x${itt.toString(16)} within ${this.abortTimeoutMs} ms`);
      }
      if (now - o.sentAt > this.commandTimeoutMs) this.sendAbort(itt, o);
    }
    if (this.pingItt !== null) {
      if (now - this.lastHeard > this.pingTimeoutMs) this.fail(`no answer to a NOP-Out ping within ${this.pingTimeoutMs} ms`);
      return;
    }
    if (now - this.lastHeard < this.pingAfterMs) return;
    this.pingItt = this.allocateItt();
    this.lastHeard = now;
    this.socket!.write(encodeNopOutPing({ itt: this.pingItt, immediate: true, cmdSN: this.cmdSN, expStatSN: this.expStatSN }));
  }

  /** An ITT no outstanding command (nor the ping) has, never the reserved 0xffffffff. */
  private allocateItt(): number {
    for (;;) {
      const itt = this.nextItt;
      this.nextItt = this.nextItt >= 0xfffffffe ? 1 : this.nextItt + 1;
      if (!this.tasks.has(itt) && !this.aborts.has(itt) && itt !== this.pingItt) return itt;
    }
  }

  /** The connection is lost (or never made): complete everything, back off, and reconnect on the next command. */
  private fail(reason: string, socket: net.Socket | null = this.socket): void {
    if (socket === null || socket !== this.socket || this.state === 'closed') return;
    this.backOff();
    this.drop(HostByte.TRANSPORT_DISRUPTED);
    this.emit('event', { type: 'disconnected', reason });
  }

  private backOff(): void {
    if (this.state !== 'closed') this.state = 'idle';
    this.retryAt = performance.now() + this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.maxBackoffMs);
  }

  /** Tear the connection down; outstanding commands get `host`, waiting ones DID_NO_CONNECT. */
  private drop(host: number): void {
    const socket = this.socket;
    this.socket = null;
    this.reader = null;
    this.login = null;
    this.pingItt = null;
    this.leaving = false;
    this.aborts.clear();
    if (this.loginTimer !== null) clearTimeout(this.loginTimer);
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.loginTimer = this.pingTimer = null;
    socket?.destroy();
    const outstanding = [...this.tasks.values()];
    this.tasks.clear();
    const waiting = this.waiting.splice(0);
    for (const o of outstanding) o.task.done({ ...FAIL_NOW, hostStatus: host });
    for (const t of waiting) t.done(FAIL_NOW);
  }
}

/** RFC 7143 11.9.1: what an Asynchronous Message ending the connection says. */
const ASYNC_EVENTS = new Map([
  [1, 'asked us to log out'],
  [2, 'is dropping this connection'],
  [3, 'is dropping every connection of this session'],
  [4, 'asked to renegotiate parameters, which is not supported'],
]);
const LOGOUT_REQUESTED = 1;
const VENDOR_EVENT = 255;

/** A PDU that decodes but breaks the session's rules: the connection is dropped. */
class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}
