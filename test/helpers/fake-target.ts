import net from 'node:net';
import { decodeTextKeys, encodeTextKeys } from '../../host/backends/iscsi/text-keys.js';
import { readInitiatorPdu, type InitiatorFields } from '../backends/iscsi/initiator-fields.js';

/**
 * A small scriptable iSCSI target on 127.0.0.1 (issue 12's hostile targets). The honest target is
 * the least RFC 7143 asks: login with AuthMethod None (or CHAP, any response accepted), the
 * operational keys echoed, every SCSI command answered GOOD (a read with one Data-In carrying the
 * status), pings answered, logout answered. A script sees every PDU the initiator sends and decides:
 * `x.answer()` for the honest answer, or anything else a connection can do (close, stall, send
 * bytes, stop reading). Connections and bytes are counted; every PDU received is kept.
 */

export const TARGET_IQN = 'iqn.2026-12.io.pathcheck:fake-target';
const RESERVED_TAG = 0xffff_ffff;

/** Target opcodes (RFC 7143 11.2.1.2). */
export const TargetOp = {
  NopIn: 0x20,
  ScsiResponse: 0x21,
  LoginResponse: 0x23,
  ScsiDataIn: 0x25,
  LogoutResponse: 0x26,
  TaskManagementResponse: 0x22,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;

/** Initiator opcodes the honest target answers. */
export const InitiatorOp = { NopOut: 0x00, ScsiCommand: 0x01, TaskManagementRequest: 0x02, LoginRequest: 0x03, LogoutRequest: 0x06 } as const;

/** RFC 7143 11.6: Task Management Function Response; `response` 0 is "function complete". */
export function tmfResponse(itt: number, response: number, numbers: Numbers): Uint8Array {
  return targetPdu({ opcode: TargetOp.TaskManagementResponse, byte2: response, itt, word20: 0, ...numbers });
}

/** The BHS words a target PDU sets (RFC 7143 11.2.1 offsets); unset ones are 0. */
export interface TargetBhs {
  readonly opcode: number;
  readonly byte1?: number;
  readonly byte2?: number;
  readonly byte3?: number;
  /** Overrides the data's length in bytes 5-7 (an oversized or lying DataSegmentLength). */
  readonly dataSegmentLength?: number;
  /** Bytes 8-15: LUN, or ISID + TSIH in a Login Response. */
  readonly bytes8?: Uint8Array;
  readonly itt?: number;
  readonly word20?: number;
  readonly statSN?: number;
  readonly expCmdSN?: number;
  readonly maxCmdSN?: number;
  readonly word36?: number;
  readonly word40?: number;
  readonly word44?: number;
  readonly data?: Uint8Array;
}

/** One target PDU: BHS, data segment, padding to 4 bytes. */
export function targetPdu(f: TargetBhs): Uint8Array {
  const data = f.data ?? new Uint8Array(0);
  const out = new Uint8Array(48 + ((data.length + 3) & ~3));
  const v = new DataView(out.buffer);
  out[0] = f.opcode;
  out[1] = f.byte1 ?? 0x80;
  out[2] = f.byte2 ?? 0;
  out[3] = f.byte3 ?? 0;
  const dsl = f.dataSegmentLength ?? data.length;
  out[5] = dsl >>> 16;
  v.setUint16(6, dsl & 0xffff);
  if (f.bytes8 !== undefined) out.set(f.bytes8, 8);
  v.setUint32(16, f.itt ?? RESERVED_TAG);
  v.setUint32(20, f.word20 ?? RESERVED_TAG);
  v.setUint32(24, f.statSN ?? 0);
  v.setUint32(28, f.expCmdSN ?? 0);
  v.setUint32(32, f.maxCmdSN ?? 0);
  v.setUint32(36, f.word36 ?? 0);
  v.setUint32(40, f.word40 ?? 0);
  v.setUint32(44, f.word44 ?? 0);
  out.set(data, 48);
  return out;
}

/** RFC 7143 11.13: Login Response. Byte 1 is T, C, CSG, NSG; bytes 36-37 Status-Class and -Detail. */
export function loginResponse(f: {
  request: InitiatorFields;
  transit: boolean;
  csg: number;
  nsg: number;
  keys: [string, string][];
  tsih?: number;
  statusClass?: number;
  statusDetail?: number;
  numbers: Numbers;
}): Uint8Array {
  const bytes8 = Uint8Array.from(f.request.bytes8);
  new DataView(bytes8.buffer).setUint16(6, f.tsih ?? 0);
  return targetPdu({
    opcode: TargetOp.LoginResponse,
    byte1: (f.transit ? 0x80 : 0) | (f.csg << 2) | (f.transit ? f.nsg : 0),
    bytes8,
    itt: f.request.itt,
    word20: 0,
    ...f.numbers,
    word36: ((f.statusClass ?? 0) << 24) | ((f.statusDetail ?? 0) << 16),
    data: encodeTextKeys(f.keys, 'Login Response'),
  });
}

/** StatSN, ExpCmdSN, MaxCmdSN of one target PDU. */
export interface Numbers {
  readonly statSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

/** RFC 7143 11.4: SCSI Response, "Command Completed at Target" with `status`, optional sense. */
export function scsiResponse(itt: number, status: number, numbers: Numbers, sense?: Uint8Array): Uint8Array {
  const data = sense === undefined ? undefined : Uint8Array.from([sense.length >>> 8, sense.length & 0xff, ...sense]);
  return targetPdu({ opcode: TargetOp.ScsiResponse, byte3: status, itt, word20: 0, ...numbers, ...(data !== undefined && { data }) });
}

/** RFC 7143 11.7: SCSI Data-In; with `status` it is final and carries it (F and S). */
export function dataIn(f: { itt: number; lun: Uint8Array; data: Uint8Array; dataSN: number; offset: number; status?: number; numbers: Numbers }): Uint8Array {
  const withStatus = f.status !== undefined;
  return targetPdu({
    opcode: TargetOp.ScsiDataIn,
    byte1: withStatus ? 0x81 : 0,
    byte3: f.status ?? 0,
    bytes8: f.lun,
    itt: f.itt,
    ...f.numbers,
    statSN: withStatus ? f.numbers.statSN : 0,
    word36: f.dataSN,
    word40: f.offset,
    data: f.data,
  });
}

/** RFC 7143 11.19: NOP-In answering a ping (`itt`), or asking for one (`ttt`, ITT reserved). */
export function nopIn(f: { itt?: number; ttt?: number; lun?: Uint8Array; numbers: Numbers }): Uint8Array {
  return targetPdu({ opcode: TargetOp.NopIn, ...(f.lun !== undefined && { bytes8: f.lun }), itt: f.itt ?? RESERVED_TAG, word20: f.ttt ?? RESERVED_TAG, ...f.numbers });
}

/** RFC 7143 11.17: Reject with `reason`, the rejected PDU's BHS as data. */
export function reject(reason: number, rejected: Received, numbers: Numbers): Uint8Array {
  return targetPdu({ opcode: TargetOp.Reject, byte2: reason, itt: RESERVED_TAG, word20: 0, ...numbers, data: rejected.raw.subarray(0, 48) });
}

/** RFC 7143 11.9: Asynchronous Message, `event` with its three parameters. */
export function asyncMessage(event: number, numbers: Numbers, params: [number, number, number] = [0, 0, 0]): Uint8Array {
  return targetPdu({ opcode: TargetOp.AsyncMessage, itt: RESERVED_TAG, word20: 0, ...numbers, word36: (event << 24) | params[0], word40: (params[1] << 16) | params[2] });
}

/** The operational keys the honest target answers with: the initiator's offer, agreed. */
const OPERATIONAL_ANSWERS = new Set([
  'HeaderDigest',
  'DataDigest',
  'MaxConnections',
  'InitialR2T',
  'ImmediateData',
  'MaxRecvDataSegmentLength',
  'MaxBurstLength',
  'FirstBurstLength',
  'DefaultTime2Wait',
  'DefaultTime2Retain',
  'MaxOutstandingR2T',
  'DataPDUInOrder',
  'DataSequenceInOrder',
  'ErrorRecoveryLevel',
]);

/** What the initiator sent: one PDU, as the test reads it, with its raw bytes. */
export interface Received extends InitiatorFields {
  readonly raw: Uint8Array;
  /** Login Request data, decoded. */
  readonly keys: Map<string, string>;
}

/** One PDU from the initiator, for the script to answer. */
export interface Exchange {
  readonly conn: FakeConnection;
  readonly pdu: Received;
  /** 1, 2, ... for the Login Requests of this connection; 0 for other PDUs. */
  readonly loginStep: number;
  /** The honest target's answer, not sent (it advances the connection's sequence numbers). */
  honest(): Uint8Array | undefined;
  /** Send the honest target's answer (after a Logout Response, close). */
  answer(): void;
}

export interface Script {
  /** A new connection, before any PDU. */
  connected?(conn: FakeConnection): void;
  /** Every PDU from the initiator (default: the honest answer). */
  pdu?(x: Exchange): void;
  /** Ask for CHAP in the security stage (any CHAP_R is accepted). */
  readonly chap?: boolean;
}

export const HONEST: Script = {};

/** The most a connection keeps of the initiator's bytes not yet cut into PDUs (the initiator never sends more). */
const MAX_PENDING = 1 << 20;

/** One accepted connection. */
export class FakeConnection {
  readonly received: Received[] = [];
  bytesIn = 0;
  bytesOut = 0;
  statSN = 100;
  expCmdSN = 0;
  loginSteps = 0;
  private stalled = false;
  private pending = Buffer.alloc(0);

  constructor(
    readonly index: number,
    readonly socket: net.Socket,
    private readonly target: FakeTarget,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
  }

  /** The sequence numbers the next PDU carries; `advance` for PDUs that consume a StatSN. */
  numbers(advance = true): Numbers {
    const statSN = advance ? this.statSN++ : this.statSN;
    return { statSN, expCmdSN: this.expCmdSN, maxCmdSN: (this.expCmdSN + 31) >>> 0 };
  }

  /** Write bytes (false once the socket is gone). */
  send(bytes: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    this.bytesOut += bytes.length;
    this.socket.write(bytes);
    return true;
  }

  /** From now on nothing this connection receives is answered (the socket stays open). */
  stall(): void {
    this.stalled = true;
  }

  /** The first half of a PDU, then a stall. */
  sendHalf(pdu: Uint8Array): void {
    this.send(pdu.subarray(0, pdu.length >>> 1));
    this.stall();
  }

  /**
   * Write `next()`'s chunks one after another, each once the socket has room (backpressure), until it
   * returns undefined or the initiator is gone. Resolves with the bytes the socket took.
   */
  async pour(next: () => Uint8Array | undefined): Promise<number> {
    let written = 0;
    for (let chunk = next(); chunk !== undefined && !this.socket.destroyed; chunk = next()) {
      written += chunk.length;
      if (!this.send(chunk)) break;
      if (this.socket.writableNeedDrain) await new Promise((r) => (this.socket.once('drain', r), this.socket.once('close', r)));
    }
    return written;
  }

  /** One byte of `bytes` every `everyMs`, then nothing (the socket stays open). */
  trickle(bytes: Uint8Array, everyMs: number): void {
    this.stall();
    let at = 0;
    const timer = setInterval(() => {
      if (at === bytes.length || !this.send(bytes.subarray(at, ++at))) clearInterval(timer);
    }, everyMs);
    this.socket.once('close', () => clearInterval(timer));
  }

  /** Close our side (FIN). */
  close(): void {
    this.socket.end();
  }

  /** Reset the connection. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Stop reading what the initiator sends: its writes pile up in its own buffers. */
  stopReading(): void {
    this.socket.pause();
  }

  private receive(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.pending = Buffer.concat([this.pending, chunk]);
    if (this.pending.length > MAX_PENDING) return this.destroy();
    while (this.pending.length >= 48) {
      const dsl = this.pending.readUIntBE(5, 3);
      const length = 48 + this.pending[4]! * 4 + ((dsl + 3) & ~3);
      if (this.pending.length < length) return;
      const raw = Uint8Array.from(this.pending.subarray(0, length));
      this.pending = this.pending.subarray(length);
      const fields = readInitiatorPdu(raw);
      const isLogin = fields.opcode === InitiatorOp.LoginRequest;
      const pdu: Received = { ...fields, raw, keys: isLogin ? decodeTextKeys(fields.data, 'Login Request') : new Map() };
      this.received.push(pdu);
      if (this.stalled) continue;
      if (isLogin) this.loginSteps++;
      const script = this.target.script;
      const x: Exchange = {
        conn: this,
        pdu,
        loginStep: isLogin ? this.loginSteps : 0,
        honest: () => this.honest(pdu, script),
        answer: () => {
          const reply = this.honest(pdu, script);
          if (reply !== undefined) this.send(reply);
          if (pdu.opcode === InitiatorOp.LogoutRequest) this.close();
        },
      };
      if (script.pdu !== undefined) script.pdu(x);
      else x.answer();
      if (this.socket.destroyed) return;
    }
  }

  /** The honest target's answer to `pdu` (none to a NOP-Out that answers a ping of ours). */
  private honest(pdu: Received, script: Script): Uint8Array | undefined {
    // Immediate PDUs carry the CmdSN they do not consume (RFC 7143 3.2.2.1); login requests consume none.
    if (pdu.opcode === InitiatorOp.LoginRequest) this.expCmdSN = pdu.cmdSN;
    else if (!pdu.immediate) this.expCmdSN = (pdu.cmdSN + 1) >>> 0;
    switch (pdu.opcode) {
      case InitiatorOp.LoginRequest:
        return this.loginAnswer(pdu, script);
      case InitiatorOp.ScsiCommand: {
        const read = (pdu.byte1 & 0x40) !== 0 && pdu.word20 > 0;
        if (!read) return scsiResponse(pdu.itt, 0, this.numbers());
        const data = Uint8Array.from({ length: pdu.word20 }, (_, i) => i & 0xff);
        return dataIn({ itt: pdu.itt, lun: pdu.bytes8, data, dataSN: 0, offset: 0, status: 0, numbers: this.numbers() });
      }
      case InitiatorOp.NopOut:
        return pdu.itt === RESERVED_TAG ? undefined : nopIn({ itt: pdu.itt, lun: pdu.bytes8, numbers: this.numbers() });
      case InitiatorOp.TaskManagementRequest:
        return tmfResponse(pdu.itt, 0, this.numbers());
      case InitiatorOp.LogoutRequest:
        return targetPdu({ opcode: TargetOp.LogoutResponse, itt: pdu.itt, word20: 0, ...this.numbers() });
      default:
        return undefined;
    }
  }

  private loginAnswer(pdu: Received, script: Script): Uint8Array {
    const csg = (pdu.byte1 >>> 2) & 3;
    const transit = (pdu.byte1 & 0x80) !== 0;
    const nsg = pdu.byte1 & 3;
    const keys: [string, string][] = [];
    let agree = transit;
    if (csg === 0) {
      if (pdu.keys.has('AuthMethod')) {
        const chap = script.chap === true;
        keys.push(['AuthMethod', chap ? 'CHAP' : 'None'], ['TargetPortalGroupTag', '1']);
        agree = transit && !chap;
      } else if (pdu.keys.get('CHAP_A') !== undefined) {
        keys.push(['CHAP_A', '5'], ['CHAP_I', '7'], ['CHAP_C', '0x0123456789abcdef']);
        agree = false;
      }
    } else {
      for (const [k, v] of pdu.keys) if (OPERATIONAL_ANSWERS.has(k)) keys.push([k, v]);
    }
    return loginResponse({ request: pdu, transit: agree, csg, nsg, keys, tsih: agree && nsg === 3 ? 1 : 0, numbers: this.numbers() });
  }
}

/**
 * The target: a net.Server on 127.0.0.1, port 0. `script` may be swapped at any time (a target
 * turning honest again); it applies from the next PDU on.
 */
export class FakeTarget {
  readonly connections: FakeConnection[] = [];
  private readonly server: net.Server;

  private constructor(
    public script: Script,
    server: net.Server,
  ) {
    this.server = server;
    server.on('connection', (socket) => {
      const conn = new FakeConnection(this.connections.length, socket, this);
      this.connections.push(conn);
      this.script.connected?.(conn);
    });
  }

  static async start(script: Script = HONEST): Promise<FakeTarget> {
    const server = net.createServer();
    const target = new FakeTarget(script, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return target;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** iscsi://127.0.0.1:<port>/<iqn>/<lun> */
  url(lun = 1): string {
    return `iscsi://127.0.0.1:${this.port}/${TARGET_IQN}/${lun}`;
  }

  /** Connections whose socket is still open. */
  get open(): number {
    return this.connections.filter((c) => !c.socket.destroyed).length;
  }

  get last(): FakeConnection | undefined {
    return this.connections.at(-1);
  }

  /** Every PDU received on every connection, in order. */
  get received(): Received[] {
    return this.connections.flatMap((c) => c.received);
  }

  /** Stop listening and reset every connection still open. */
  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
