import { describe, expect, it } from 'vitest';
import { decodeTargetPdu } from '../../../host/backends/iscsi/pdu-decode.js';
import { PduReader } from '../../../host/backends/iscsi/pdu-reader.js';
import { cmdWindowValid, snAdd } from '../../../host/backends/iscsi/serial-number.js';
import type { TargetPdu } from '../../../host/backends/iscsi/target-pdu.js';
import { decodeTextKeys } from '../../../host/backends/iscsi/text-keys.js';
import { expectPduError } from './expect-pdu-error.js';
import { bytes, patched } from './hex-bytes.js';
import { readInitiatorPdu, splitInitiatorStream } from './initiator-fields.js';
import { GOLDEN, split } from './target-pdu-bytes.js';
import { tgtdFixture } from './tgtd-fixtures.js';

const decode = (pdu: Uint8Array) => decodeTargetPdu(...split(pdu));
const LUN1 = bytes('00 01 00 00 00 00 00 00');
const LUN0 = new Uint8Array(8);

describe('decoders: golden target PDUs (RFC 7143 section 11)', () => {
  it('Login Response (11.13)', () => {
    expect(decode(GOLDEN.loginResponse)).toEqual({
      opcode: 0x23,
      flags: 0x87,
      data: bytes('48 65 61 64 65 72 44 69 67 65 73 74 3d 4e 6f 6e 65 00'),
      transit: true,
      continue: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionActive: 0,
      isid: bytes('80 00 12 34 00 01'),
      tsih: 0x0100,
      itt: 1,
      statSN: 0,
      expCmdSN: 10,
      maxCmdSN: 11,
      statusClass: 0,
      statusDetail: 0,
    });
  });

  it('Login Response with a Status-Class: no T, so NSG reads 0', () => {
    expect(decode(GOLDEN.loginRejected)).toMatchObject({ transit: false, csg: 0, nsg: 0, statusClass: 2, statusDetail: 1, tsih: 0, data: new Uint8Array(0) });
  });

  it('SCSI Response (11.4) with U, CHECK CONDITION and sense', () => {
    expect(decode(GOLDEN.scsiResponseSense)).toEqual({
      opcode: 0x21,
      flags: 0x82,
      data: GOLDEN.scsiResponseSense.subarray(48),
      sense: bytes('70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00'),
      rest: new Uint8Array(0),
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: true,
      response: 0,
      status: 2,
      itt: 5,
      snackTag: 0,
      statSN: 3,
      expCmdSN: 11,
      maxCmdSN: 74,
      expDataSN: 0,
      bidiResidualCount: 0,
      residualCount: 64,
    });
  });

  it('SCSI Response (11.4.7): sense then response data; o and O', () => {
    expect(decode(GOLDEN.scsiResponseData)).toMatchObject({
      sense: bytes('aa bb'),
      rest: bytes('cc dd'),
      bidiOverflow: true,
      bidiUnderflow: false,
      overflow: true,
      underflow: false,
      snackTag: 7,
      expDataSN: 2,
      bidiResidualCount: 16,
      residualCount: 32,
    });
  });

  it('SCSI Data-In (11.7) with status', () => {
    expect(decode(GOLDEN.dataInStatus)).toEqual({
      opcode: 0x25,
      flags: 0x81,
      data: bytes('de ad be ef'),
      final: true,
      acknowledge: false,
      overflow: false,
      underflow: false,
      statusPresent: true,
      status: 0,
      statSN: 4,
      residualCount: 0,
      lun: LUN1,
      itt: 6,
      ttt: 0xffffffff,
      expCmdSN: 12,
      maxCmdSN: 75,
      dataSN: 0,
      bufferOffset: 0,
    });
  });

  it('SCSI Data-In without S: status, StatSN, residual and O/U are not read', () => {
    expect(decode(GOLDEN.dataInNoStatus)).toMatchObject({
      final: false,
      acknowledge: true,
      overflow: false,
      underflow: false,
      statusPresent: false,
      status: undefined,
      statSN: undefined,
      residualCount: undefined,
      dataSN: 1,
      bufferOffset: 512,
      data: bytes('01 02'),
    });
  });

  it('NOP-In (11.19): a target ping', () => {
    expect(decode(GOLDEN.nopIn)).toEqual({
      opcode: 0x20,
      flags: 0x80,
      data: new Uint8Array(0),
      lun: LUN1,
      itt: 0xffffffff,
      ttt: 0xabc,
      statSN: 5,
      expCmdSN: 13,
      maxCmdSN: 76,
    });
  });

  it('R2T (11.8)', () => {
    expect(decode(GOLDEN.r2t)).toEqual({
      opcode: 0x31,
      flags: 0x80,
      data: new Uint8Array(0),
      lun: LUN1,
      itt: 7,
      ttt: 1,
      statSN: 6,
      expCmdSN: 13,
      maxCmdSN: 76,
      r2tSN: 0,
      bufferOffset: 512,
      desiredDataTransferLength: 4096,
    });
  });

  it('Asynchronous Message (11.9): connection drop with its parameters', () => {
    expect(decode(GOLDEN.asyncDrop)).toEqual({
      opcode: 0x32,
      flags: 0x80,
      data: new Uint8Array(0),
      sense: new Uint8Array(0),
      rest: new Uint8Array(0),
      lun: LUN0,
      statSN: 7,
      expCmdSN: 14,
      maxCmdSN: 77,
      asyncEvent: 2,
      asyncVCode: 0,
      parameter1: 1,
      parameter2: 2,
      parameter3: 20,
    });
  });

  it('Asynchronous Message (11.9.4): a SCSI event with sense', () => {
    expect(decode(GOLDEN.asyncScsiEvent)).toMatchObject({ asyncEvent: 0, lun: LUN1, sense: bytes('72 06 3f 0e 00 00 00 00'), rest: new Uint8Array(0) });
  });

  it('Reject (11.17): reason and the rejected BHS', () => {
    const pdu = decode(GOLDEN.reject);
    expect(pdu).toMatchObject({ opcode: 0x3f, reason: 9, statSN: 8, expCmdSN: 15, maxCmdSN: 78, dataSN: 0 });
    expect(readInitiatorPdu((pdu as Extract<TargetPdu, { opcode: 0x3f }>).rejected)).toMatchObject({ opcode: 0x01, itt: 0x12345678 });
  });

  it('Logout Response (11.15)', () => {
    expect(decode(GOLDEN.logoutResponse)).toEqual({
      opcode: 0x26,
      flags: 0x80,
      data: new Uint8Array(0),
      response: 0,
      itt: 9,
      statSN: 9,
      expCmdSN: 16,
      maxCmdSN: 79,
      time2Wait: 2,
      time2Retain: 20,
    });
  });

  it('Text Response (11.11): C with a TTT to continue with', () => {
    const pdu = decode(GOLDEN.textResponse);
    expect(pdu).toEqual({ opcode: 0x24, flags: 0x40, data: bytes('41 3d 31 00'), final: false, continue: true, lun: LUN0, itt: 10, ttt: 5, statSN: 10, expCmdSN: 17, maxCmdSN: 80 });
    expect(decodeTextKeys(pdu.data)).toEqual(new Map([['A', '1']]));
  });

  it('Task Management Function Response (11.6)', () => {
    expect(decode(GOLDEN.taskManagementResponse)).toEqual({ opcode: 0x22, flags: 0x80, data: new Uint8Array(0), response: 0, itt: 11, statSN: 11, expCmdSN: 18, maxCmdSN: 81 });
  });

  it.each([
    ['a Uint8Array', (b: Uint8Array) => Uint8Array.from(b)],
    ['a Buffer', (b: Uint8Array) => Buffer.from(b)],
  ])('fields decoded from %s are copies: changing the input later changes none', (_, make) => {
    const nopIn = make(GOLDEN.nopIn);
    const login = make(GOLDEN.loginResponse);
    const reject = make(GOLDEN.reject);
    const pdus = [decode(nopIn), decode(login), decode(reject)] as [
      Extract<TargetPdu, { opcode: 0x20 }>,
      Extract<TargetPdu, { opcode: 0x23 }>,
      Extract<TargetPdu, { opcode: 0x3f }>,
    ];
    for (const b of [nopIn, login, reject]) b.fill(0xee);
    expect([pdus[0].lun, pdus[1].isid, pdus[2].rejected.subarray(0, 2)]).toEqual([LUN1, bytes('80 00 12 34 00 01'), bytes('01 81')]);
    expect([pdus[0].lun, pdus[1].isid, pdus[2].rejected].map((b) => b.constructor)).toEqual([Uint8Array, Uint8Array, Uint8Array]);
  });
});

/** A 32-bit word at `at` (big-endian), as patch offsets. */
function word(at: number, value: number): Record<number, number> {
  return { [at]: value >>> 24, [at + 1]: (value >>> 16) & 0xff, [at + 2]: (value >>> 8) & 0xff, [at + 3]: value & 0xff };
}

describe('decoders refuse what RFC 7143 calls an error, naming the PDU and the field', () => {
  it.each([
    ['unknown opcode 0x3a', patched(GOLDEN.nopIn, { 0: 0x3a })],
    ['opcode 0x01 is the initiator\'s SCSI Command', patched(GOLDEN.nopIn, { 0: 0x01 })],
    ['opcode 0x10 is the initiator\'s SNACK Request', patched(GOLDEN.nopIn, { 0: 0x10 })],
    ['SCSI Response: reserved bits of byte 0 set (0x61)', patched(GOLDEN.scsiResponseSense, { 0: 0x61 })],
    ['NOP-In: reserved bits of byte 0 set (0xa0)', patched(GOLDEN.nopIn, { 0: 0xa0 })],
    ['NOP-In: byte 1 bit 7 is 0, must be 1 (0x00)', patched(GOLDEN.nopIn, { 1: 0x00 })],
    ['R2T: DataSegmentLength 4, must be 0', patched(GOLDEN.r2t, { 7: 4 })],
    ['R2T: TotalAHSLength 1, must be 0', patched(GOLDEN.r2t, { 4: 1 })],
    ['Logout Response: DataSegmentLength 256, must be 0', patched(GOLDEN.logoutResponse, { 6: 1 })],
    ['Task Management Function Response: DataSegmentLength 65536, must be 0', patched(GOLDEN.taskManagementResponse, { 5: 1 })],
    ['Login Response: T and C both set (0xc7)', patched(GOLDEN.loginResponse, { 1: 0xc7 })],
    ['Login Response: CSG 2 is not a login stage (0 or 1)', patched(GOLDEN.loginRejected, { 1: 0x08 })],
    ['Login Response: CSG 3 is not a login stage (0 or 1)', patched(GOLDEN.loginResponse, { 1: 0x8f })],
    ['Login Response: NSG 2 is not a next stage (1 or 3)', patched(GOLDEN.loginResponse, { 1: 0x86 })],
    ['Login Response: NSG 0 is not a next stage (1 or 3)', patched(GOLDEN.loginResponse, { 1: 0x84 })],
    ['SCSI Response: flags o and u both set (0x98)', patched(GOLDEN.scsiResponseSense, { 1: 0x98 })],
    ['SCSI Response: flags O and U both set (0x86)', patched(GOLDEN.scsiResponseSense, { 1: 0x86 })],
    ['SCSI Response: SenseLength 19 over the 18 bytes of sense and response data after it', patched(GOLDEN.scsiResponseSense, { 49: 0x13 })],
    ['SCSI Response: SenseLength 65535 over the 18 bytes of sense and response data after it', patched(GOLDEN.scsiResponseSense, { 48: 0xff, 49: 0xff })],
    ['SCSI Response: data segment of 1 byte has no room for SenseLength', patched(GOLDEN.scsiResponseSense, { 7: 1 }).subarray(0, 52)],
    ['Asynchronous Message: SenseLength 9 over the 8 bytes of sense and event data after it', patched(GOLDEN.asyncScsiEvent, { 49: 9 })],
    ['SCSI Data-In: S set without F (0x01)', patched(GOLDEN.dataInStatus, { 1: 0x01 })],
    ['SCSI Data-In: flags O and U both set (0x87)', patched(GOLDEN.dataInStatus, { 1: 0x87 })],
    ['NOP-In: ITT 0x00000001 and TTT 0x00000abc both set', patched(GOLDEN.nopIn, word(16, 1))],
    ['R2T: TTT 0xffffffff is the reserved tag', patched(GOLDEN.r2t, word(20, 0xffffffff))],
    ['R2T: Desired Data Transfer Length 0', patched(GOLDEN.r2t, word(44, 0))],
    ['Reject: data segment of 44 bytes, shorter than the 48-byte rejected BHS', patched(GOLDEN.reject, { 7: 44 }).subarray(0, 92)],
    ['Text Response: F and C both set (0xc0)', patched(GOLDEN.textResponse, { 1: 0xc0 })],
    ['Text Response: F set with TTT 0x00000005, must be 0xffffffff', patched(GOLDEN.textResponse, { 1: 0x80 })],
  ])('%s', (message, pdu) => {
    expectPduError(() => decode(pdu), message);
    expectPduError(() => new PduReader({ maxRecvDataSegmentLength: 8192 }).push(pdu), message);
  });

  it('a data segment that does not match DataSegmentLength, and a short BHS', () => {
    expectPduError(() => decodeTargetPdu(GOLDEN.nopIn, new Uint8Array(3)), 'NOP-In: data segment of 3 bytes, DataSegmentLength says 0');
    expectPduError(() => decodeTargetPdu(GOLDEN.nopIn.subarray(0, 47), new Uint8Array(0)), 'BHS of 47 bytes, must be 48');
  });
});

describe('decoders on real tgtd answers to libiscsi (fixtures/tgtd-*.json)', () => {
  /** The session's view: each answer's ITT is a request's; StatSN counts up by one; every window is valid. */
  function answers(name: Parameters<typeof tgtdFixture>[0]): TargetPdu[] {
    const fixture = tgtdFixture(name);
    // libiscsi declares MaxRecvDataSegmentLength=262144 in its login.
    const pdus = new PduReader({ maxRecvDataSegmentLength: 262144 }).push(fixture.fromTarget);
    const itts = splitInitiatorStream(fixture.toTarget).map((p) => readInitiatorPdu(p).itt);
    expect(pdus.map((p) => ('itt' in p ? p.itt : undefined))).toEqual(itts);
    pdus.forEach((p, i) => {
      expect(p.statSN).toBe(snAdd(pdus[0]!.statSN!, i));
      expect(cmdWindowValid(p.expCmdSN, p.maxCmdSN)).toBe(true);
    });
    return pdus;
  }

  it('iscsi-inq: login, a UNIT ATTENTION, INQUIRY data in Data-In with status, logout', () => {
    const pdus = answers('inquiry');
    expect(pdus.map((p) => p.opcode)).toEqual([0x23, 0x21, 0x21, 0x25, 0x25, 0x26]);
    const [login, unitAttention, good, inquiry, inquiryAgain, logout] = pdus as [
      Extract<TargetPdu, { opcode: 0x23 }>,
      Extract<TargetPdu, { opcode: 0x21 }>,
      Extract<TargetPdu, { opcode: 0x21 }>,
      Extract<TargetPdu, { opcode: 0x25 }>,
      Extract<TargetPdu, { opcode: 0x25 }>,
      Extract<TargetPdu, { opcode: 0x26 }>,
    ];
    expect(login).toMatchObject({ transit: true, csg: 1, nsg: 3, statusClass: 0, versionActive: 0, tsih: 256 });
    const keys = decodeTextKeys(login.data, 'Login Response');
    expect([keys.get('HeaderDigest'), keys.get('DataDigest'), keys.get('MaxBurstLength')]).toEqual(['None', 'None', '262144']);
    // Power on, reset (29/00): the first command of a new I_T nexus reports it.
    expect(unitAttention).toMatchObject({ response: 0, status: 2, sense: bytes('70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00') });
    expect(good).toMatchObject({ response: 0, status: 0, sense: new Uint8Array(0) });
    expect(inquiry).toMatchObject({ final: true, statusPresent: true, status: 0, residualCount: 0, dataSN: 0, bufferOffset: 0 });
    expect(Buffer.from(inquiry.data.subarray(8, 16)).toString()).toBe('IET     ');
    // libiscsi asks again with the additional length the first answer gave.
    expect(inquiryAgain.data.length).toBe(66);
    expect(logout).toMatchObject({ response: 0, time2Wait: 0, time2Retain: 0 });
  });

  it('iscsi-inq on an unsupported VPD page: CHECK CONDITION, ILLEGAL REQUEST 24/00, residual underflow', () => {
    const pdus = answers('inquiry-check-condition');
    expect(pdus.at(-1)).toMatchObject({
      opcode: 0x21,
      status: 2,
      underflow: true,
      residualCount: 64,
      sense: bytes('70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00'),
    });
  });

  it('iscsi-ls: a discovery session, SendTargets answered in one final Text Response', () => {
    const pdus = answers('discovery');
    expect(pdus.map((p) => p.opcode)).toEqual([0x23, 0x24, 0x26]);
    expect(pdus[1]).toMatchObject({ final: true, continue: false, ttt: 0xffffffff });
    expect(decodeTextKeys(pdus[1]!.data, 'Text Response')).toEqual(
      new Map([
        ['TargetName', 'iqn.2026-12.test.pathcheck:fixture'],
        ['TargetAddress', '127.0.0.1:13290,1'],
      ]),
    );
  });

  it('a session this codec drove (record-tgtd.mjs): NOP-In both ways, R2T for a write, task management', () => {
    const fixture = tgtdFixture('scripted');
    const pdus = new PduReader({ maxRecvDataSegmentLength: 65536 }).push(fixture.fromTarget);
    expect(pdus.map((p) => p.opcode)).toEqual([0x23, 0x20, 0x20, 0x21, 0x31, 0x21, 0x22, 0x22, 0x26]);
    const [login, pong, ping, unitAttention, r2t, written, abort, reset, logout] = pdus as [
      Extract<TargetPdu, { opcode: 0x23 }>,
      Extract<TargetPdu, { opcode: 0x20 }>,
      Extract<TargetPdu, { opcode: 0x20 }>,
      Extract<TargetPdu, { opcode: 0x21 }>,
      Extract<TargetPdu, { opcode: 0x31 }>,
      Extract<TargetPdu, { opcode: 0x21 }>,
      Extract<TargetPdu, { opcode: 0x22 }>,
      Extract<TargetPdu, { opcode: 0x22 }>,
      Extract<TargetPdu, { opcode: 0x26 }>,
    ];
    expect(decodeTextKeys(login.data, 'Login Response').get('ImmediateData')).toBe('No');
    // Our ping comes back with its ITT and data; tgtd's own ping (nop_interval) has ITT 0xffffffff and a TTT.
    expect(pong).toMatchObject({ itt: 2, ttt: 0xffffffff, data: new TextEncoder().encode('ping') });
    expect(ping).toMatchObject({ itt: 0xffffffff, ttt: 1 });
    expect(unitAttention).toMatchObject({ itt: 3, status: 2 });
    // tgtd echoes the command's LUN in the R2T and asks for the whole 512-byte block at offset 0.
    expect(r2t).toMatchObject({ itt: 4, lun: LUN1, r2tSN: 0, bufferOffset: 0, desiredDataTransferLength: 512 });
    expect(written).toMatchObject({ itt: 4, response: 0, status: 0 });
    // ABORT TASK of a task that does not exist: response 1; LOGICAL UNIT RESET: function complete.
    expect([abort.itt, abort.response, reset.itt, reset.response, logout.response]).toEqual([5, 1, 6, 0, 0]);
    // StatSN: a target ping and an R2T carry the next StatSN without taking it.
    expect(pdus.map((p) => p.statSN)).toEqual([0, 1, 2, 2, 3, 3, 4, 5, 6]);
    const dataOut = splitInitiatorStream(fixture.toTarget).map(readInitiatorPdu).find((f) => f.opcode === 0x05)!;
    expect([dataOut.itt, dataOut.word20, dataOut.bytes8, dataOut.data.length]).toEqual([4, r2t.ttt, LUN1, 512]);
  });
});
