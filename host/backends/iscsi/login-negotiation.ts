import { createHash } from 'node:crypto';
import { LoginStage } from './login-stage.js';
import { encodeLoginRequest } from './pdu-encode.js';
import { PduError } from './pdu-error.js';
import { snAdd } from './serial-number.js';
import type { LoginResponse } from './target-pdu.js';
import { booleanValue, decodeTextKeys, encodeTextKeys, isSpecialValue, numericValue } from './text-keys.js';

/** CHAP credentials for one target (RFC 7143 12.1.3; one-way: the target does not prove itself). */
export interface ChapCredentials {
  readonly user: string;
  readonly secret: string;
}

export interface LoginParams {
  readonly initiatorName: string;
  readonly targetName: string;
  /** 6 bytes, this session's (RFC 7143 11.12.5). */
  readonly isid: Uint8Array;
  /** The CmdSN the session starts at: every login request carries it, the first command uses it. */
  readonly cmdSN: number;
  readonly itt: number;
  readonly chap?: ChapCredentials;
  /** What we declare: no target PDU may carry a longer data segment. */
  readonly maxRecvDataSegmentLength: number;
}

/** What the session runs with once the login reached Full Feature Phase. */
export interface Negotiated {
  readonly tsih: number;
  /** The next CmdSN to use, and the window the target opened. */
  readonly cmdSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
  /** StatSN + 1 of the last login response. */
  readonly expStatSN: number;
  /** The target's declared limit: our data segments are at most this long. */
  readonly targetMaxRecvDataSegmentLength: number;
  readonly maxBurstLength: number;
  readonly firstBurstLength: number;
  readonly immediateData: boolean;
  readonly initialR2T: boolean;
}

/** A login the target refused or could not take part in; `kind` says whether retrying can help. */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  constructor(
    readonly kind: 'authentication' | 'not-found' | 'target-error' | 'refused' | 'protocol',
    message: string,
  ) {
    super(message);
  }
}

/** A login that has not finished in this many exchanges is a target leading it in circles. */
const MAX_EXCHANGES = 16;
/** Nor may its text grow past what any target sends (RFC 7143 6.1's 8192 bytes per negotiation, with room). */
const MAX_TEXT_BYTES = 64 * 1024;
/** RFC 7143 12.1.3: CHAP_A=5 is MD5, the one algorithm every implementation has. */
const CHAP_MD5 = '5';

/** RFC 7143 13: the operational keys we offer. No digests, one connection, no error recovery; we never send data (TUR, reads). */
function operationalOffer(maxRecv: number): [string, string][] {
  return [
    ['HeaderDigest', 'None'],
    ['DataDigest', 'None'],
    ['MaxConnections', '1'],
    ['InitialR2T', 'Yes'],
    ['ImmediateData', 'Yes'],
    ['MaxRecvDataSegmentLength', String(maxRecv)],
    ['MaxBurstLength', '262144'],
    ['FirstBurstLength', '65536'],
    ['DefaultTime2Wait', '0'],
    ['DefaultTime2Retain', '0'],
    ['MaxOutstandingR2T', '1'],
    ['DataPDUInOrder', 'Yes'],
    ['DataSequenceInOrder', 'Yes'],
    ['ErrorRecoveryLevel', '0'],
  ];
}

/** RFC 7143 11.13.5: Status-Class and Status-Detail as one line, and whether another try could work. */
function refusal(cls: number, detail: number): LoginError {
  const code = `status 0x${((cls << 8) | detail).toString(16).padStart(4, '0')}`;
  if (cls === 1) return new LoginError('refused', `login redirected (${code}); redirection is not supported`);
  if (cls === 2) {
    if (detail === 0x01) return new LoginError('authentication', `authentication failed (${code})`);
    if (detail === 0x02) return new LoginError('authentication', `authorization failure: this initiator may not log in (${code})`);
    if (detail === 0x03 || detail === 0x04) return new LoginError('not-found', `target not found (${code})`);
    return new LoginError('refused', `login refused as an initiator error (${code})`);
  }
  if (cls === 3) return new LoginError('target-error', `the target could not log us in (${code}${detail === 0x01 ? ', service unavailable' : detail === 0x02 ? ', out of resources' : ''})`);
  return new LoginError('protocol', `login response with unknown ${code}`);
}

/** RFC 1994 / 7143 12.1.3: MD5 over the identifier byte, the secret and the challenge. */
export function chapResponse(identifier: number, secret: string, challenge: Uint8Array): string {
  return `0x${createHash('md5').update(Uint8Array.of(identifier)).update(secret, 'utf8').update(challenge).digest('hex')}`;
}

/** A CHAP_C value: hex (0x...) or base64 (0b...) binary (RFC 7143 6.1 large-binary-value). */
function binaryValue(key: string, value: string): Uint8Array {
  if (/^0[xX]([0-9a-fA-F]{2})+$/.test(value)) return Buffer.from(value.slice(2), 'hex');
  if (/^0[bB][A-Za-z0-9+/]+=*$/.test(value)) return Buffer.from(value.slice(2), 'base64');
  throw new LoginError('protocol', `${key} is not hex (0x...) or base64 (0b...) binary`);
}

/** A text the target sent that does not parse is the target not following the RFC. */
function asLoginError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw e instanceof PduError ? new LoginError('protocol', e.message) : e;
  }
}

type Step = 'security' | 'chap-algorithm' | 'chap-response' | 'operational';

/**
 * The initiator's side of an iSCSI login (RFC 7143 6.3 and 12), as a pure exchange: `first()` is the
 * first Login Request, `receive(response)` the next one or the negotiated result. Security stage
 * with AuthMethod None or CHAP, then the operational keys, then Full Feature Phase. Throws LoginError
 * (one line) for a refusal, a key we cannot live with or a target that does not follow the RFC.
 */
export class LoginNegotiation {
  private step: Step = 'security';
  private expStatSN = 0;
  private exchanges = 0;
  /** Text of a response continued with C=1, until its last part. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly agreed = new Map<string, string>();

  constructor(private readonly p: LoginParams) {}

  first(): Uint8Array {
    return this.request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation, [
      ['InitiatorName', this.p.initiatorName],
      ['TargetName', this.p.targetName],
      ['SessionType', 'Normal'],
      ['AuthMethod', this.p.chap === undefined ? 'None' : 'CHAP,None'],
    ]);
  }

  receive(r: LoginResponse): { readonly send: Uint8Array } | { readonly done: Negotiated } {
    if (++this.exchanges > MAX_EXCHANGES) throw new LoginError('protocol', `the login did not finish in ${MAX_EXCHANGES} exchanges`);
    if (r.statusClass !== 0) throw refusal(r.statusClass, r.statusDetail);
    if (r.itt !== this.p.itt) throw new LoginError('protocol', `login response for task 0x${r.itt.toString(16)}, not ours (0x${this.p.itt.toString(16)})`);
    if (Buffer.compare(r.isid, this.p.isid) !== 0) throw new LoginError('protocol', 'login response for another ISID');
    if (r.versionActive !== 0) throw new LoginError('protocol', `login response with iSCSI version ${r.versionActive} (only 0 exists)`);
    this.expStatSN = snAdd(r.statSN, 1);
    const stage = this.step === 'operational' ? LoginStage.OperationalNegotiation : LoginStage.SecurityNegotiation;
    if (r.csg !== stage) throw new LoginError('protocol', `login response in stage ${r.csg}, we are in ${stage}`);
    if (r.continue) {
      this.collect(r.data);
      // RFC 7143 6.3: answer a continued response with an empty request until its text is whole.
      return { send: this.request(stage, undefined, []) };
    }
    const keys = this.text(r.data);
    for (const [k, v] of keys) this.agreed.set(k, v);
    switch (this.step) {
      case 'security':
        return this.security(r, keys);
      case 'chap-algorithm':
        return this.chapChallenge(keys);
      case 'chap-response':
        return this.afterSecurity(r);
      case 'operational':
        return this.operational(r);
    }
  }

  private security(r: LoginResponse, keys: Map<string, string>): { send: Uint8Array } | { done: Negotiated } {
    const method = keys.get('AuthMethod');
    if (method === 'CHAP') {
      if (this.p.chap === undefined) throw new LoginError('authentication', 'the target requires CHAP and no credentials are configured for it');
      this.step = 'chap-algorithm';
      return { send: this.request(LoginStage.SecurityNegotiation, undefined, [['CHAP_A', CHAP_MD5]]) };
    }
    if (method !== undefined && method !== 'None') throw new LoginError('protocol', `the target chose AuthMethod=${method}, which we did not offer`);
    return this.afterSecurity(r);
  }

  private chapChallenge(keys: Map<string, string>): { send: Uint8Array } {
    const chap = this.p.chap!;
    if (keys.get('CHAP_A') !== CHAP_MD5) throw new LoginError('protocol', `the target chose CHAP_A=${keys.get('CHAP_A') ?? '(none)'}, not MD5 (5)`);
    const idText = keys.get('CHAP_I');
    const challengeText = keys.get('CHAP_C');
    if (idText === undefined || challengeText === undefined) throw new LoginError('protocol', 'the target sent no CHAP_I or no CHAP_C');
    const id = this.number('CHAP_I', idText);
    if (id > 255) throw new LoginError('protocol', `CHAP_I=${id} is over 255`);
    const challenge = binaryValue('CHAP_C', challengeText);
    this.step = 'chap-response';
    return {
      send: this.request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation, [
        ['CHAP_N', chap.user],
        ['CHAP_R', chapResponse(id, chap.secret, challenge)],
      ]),
    };
  }

  /** Security is done when the target agrees to move on; then the operational keys. */
  private afterSecurity(r: LoginResponse): { send: Uint8Array } | { done: Negotiated } {
    if (!r.transit) return { send: this.request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation, []) };
    if (r.nsg === LoginStage.FullFeaturePhase) return { done: this.result(r) };
    this.step = 'operational';
    return { send: this.request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase, operationalOffer(this.p.maxRecvDataSegmentLength)) };
  }

  private operational(r: LoginResponse): { send: Uint8Array } | { done: Negotiated } {
    if (!r.transit || r.nsg !== LoginStage.FullFeaturePhase) return { send: this.request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase, []) };
    return { done: this.result(r) };
  }

  private result(r: LoginResponse): Negotiated {
    const k = this.agreed;
    const must = (key: string, value: string) => {
      const v = k.get(key);
      if (v !== undefined && v !== value) throw new LoginError('protocol', `the target answered ${key}=${v}; only ${value} is supported`);
    };
    must('HeaderDigest', 'None');
    must('DataDigest', 'None');
    must('MaxConnections', '1');
    must('ErrorRecoveryLevel', '0');
    const num = (key: string, fallback: number) => (k.has(key) ? this.number(key, k.get(key)!) : fallback);
    const bool = (key: string, fallback: boolean) => (k.has(key) && !isSpecialValue(k.get(key)!) ? asLoginError(() => booleanValue(key, k.get(key)!)) : fallback);
    const targetMax = num('MaxRecvDataSegmentLength', 8192);
    if (targetMax < 512 || targetMax > 0xffffff) throw new LoginError('protocol', `the target declared MaxRecvDataSegmentLength=${targetMax}, outside 512..16777215`);
    return {
      tsih: r.tsih,
      cmdSN: this.p.cmdSN,
      expCmdSN: r.expCmdSN,
      maxCmdSN: r.maxCmdSN,
      expStatSN: this.expStatSN,
      targetMaxRecvDataSegmentLength: targetMax,
      maxBurstLength: Math.min(262144, num('MaxBurstLength', 262144)),
      firstBurstLength: Math.min(65536, num('FirstBurstLength', 65536)),
      immediateData: bool('ImmediateData', true),
      initialR2T: bool('InitialR2T', true),
    };
  }

  private collect(part: Uint8Array): void {
    this.pendingBytes += part.length;
    if (this.pendingBytes > MAX_TEXT_BYTES) throw new LoginError('protocol', `login text over ${MAX_TEXT_BYTES} bytes`);
    this.pending.push(part);
  }

  private text(last: Uint8Array): Map<string, string> {
    this.collect(last);
    const whole = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return asLoginError(() => decodeTextKeys(whole, 'Login Response'));
  }

  private number(key: string, value: string): number {
    return asLoginError(() => numericValue(key, value));
  }

  private request(csg: 0 | 1, nsg: 1 | 3 | undefined, keys: [string, string][]): Uint8Array {
    return encodeLoginRequest({
      transit: nsg !== undefined,
      continue: false,
      csg,
      ...(nsg !== undefined && { nsg }),
      isid: this.p.isid,
      tsih: 0,
      itt: this.p.itt,
      cid: 0,
      cmdSN: this.p.cmdSN,
      expStatSN: this.expStatSN,
      data: encodeTextKeys(keys, 'Login Request'),
    });
  }
}
