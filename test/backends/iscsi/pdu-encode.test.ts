import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoginStage } from '../../../host/backends/iscsi/login-stage.js';
import {
  TaskFunction,
  encodeDataOut,
  encodeLoginRequest,
  encodeLogoutRequest,
  encodeNopOutPing,
  encodeNopOutReply,
  encodeScsiCommand,
  encodeTaskManagementRequest,
  encodeTextRequest,
  type LoginRequest,
  type ScsiCommand,
} from '../../../host/backends/iscsi/pdu-encode.js';
import { encodeLun } from '../../../host/backends/iscsi/scsi-lun.js';
import { encodeTextKeys } from '../../../host/backends/iscsi/text-keys.js';
import { expectPduError } from './expect-pdu-error.js';
import { bytes, hexOf } from './hex-bytes.js';
import { readInitiatorPdu, splitInitiatorStream } from './initiator-fields.js';
import { runs } from './property-runs.js';
import { LIBISCSI_FIXTURES, tgtdFixture } from './tgtd-fixtures.js';

/** Golden PDUs are written one BHS row of 4 words per line, as RFC 7143's figures draw them. */
const ISID = bytes('80 00 12 34 00 01');
const LOGIN: LoginRequest = {
  transit: true,
  continue: false,
  csg: LoginStage.OperationalNegotiation,
  nsg: LoginStage.FullFeaturePhase,
  isid: ISID,
  tsih: 0,
  itt: 1,
  cid: 0,
  cmdSN: 0x0a,
  expStatSN: 0,
  data: encodeTextKeys([['HeaderDigest', 'None']]),
};
const TUR: ScsiCommand = {
  read: false,
  write: false,
  lun: encodeLun(1),
  itt: 0x12345678,
  expectedDataTransferLength: 0,
  cmdSN: 0x0d97441e,
  expStatSN: 2,
  cdb: bytes('00 00 00 00 00 00'),
};

describe('encoders: golden bytes (RFC 7143 section 11 offsets)', () => {
  it('Login Request (11.12): 0x43, T C CSG NSG, versions 0, ISID, TSIH, ITT, CID, CmdSN, ExpStatSN, text padded to 4', () => {
    expect(hexOf(encodeLoginRequest(LOGIN))).toBe(
      hexOf(
        bytes(`
          43 87 00 00 | 00 00 00 12 | 80 00 12 34 | 00 01 00 00
          00 00 00 01 | 00 00 00 00 | 00 00 00 0a | 00 00 00 00
          00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
          48 65 61 64 65 72 44 69 67 65 73 74 3d 4e 6f 6e 65 00 | 00 00`),
      ),
    );
  });

  it('Login Request in security stage, not transiting: CSG 0, NSG 0, C set', () => {
    const b = encodeLoginRequest({ ...LOGIN, transit: false, continue: true, csg: LoginStage.SecurityNegotiation, nsg: undefined });
    expect(b[1]).toBe(0x40);
  });

  it('SCSI Command (11.3): TEST UNIT READY, F and ATTR simple, LUN 1 peripheral, CDB at byte 32', () => {
    expect(hexOf(encodeScsiCommand(TUR))).toBe(
      hexOf(
        bytes(`
          01 81 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
          12 34 56 78 | 00 00 00 00 | 0d 97 44 1e | 00 00 00 02
          00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
      ),
    );
  });

  it('SCSI Command: INQUIRY sets R and the Expected Data Transfer Length', () => {
    const b = encodeScsiCommand({ ...TUR, read: true, expectedDataTransferLength: 96, cdb: bytes('12 00 00 00 60 00') });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          01 c1 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
          12 34 56 78 | 00 00 00 60 | 0d 97 44 1e | 00 00 00 02
          12 00 00 00 | 60 00 00 00 | 00 00 00 00 | 00 00 00 00`),
      ),
    );
  });

  it('SCSI Command: a write with immediate data sets W and carries it, padded', () => {
    const b = encodeScsiCommand({
      ...TUR,
      write: true,
      expectedDataTransferLength: 8,
      cdb: bytes('2a 00 00 00 00 00 00 00 01 00 ff ee dd cc bb aa'),
      immediateData: bytes('01 02 03 04 05'),
    });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          01 a1 00 00 | 00 00 00 05 | 00 01 00 00 | 00 00 00 00
          12 34 56 78 | 00 00 00 08 | 0d 97 44 1e | 00 00 00 02
          2a 00 00 00 | 00 00 00 00 | 01 00 ff ee | dd cc bb aa
          01 02 03 04 | 05 00 00 00`),
      ),
    );
  });

  it('NOP-Out ping (11.18): ITT set, TTT 0xffffffff, ping data', () => {
    const b = encodeNopOutPing({ itt: 7, immediate: true, cmdSN: 0x0a, expStatSN: 5, data: bytes('70 69 6e 67') });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          40 80 00 00 | 00 00 00 04 | 00 00 00 00 | 00 00 00 00
          00 00 00 07 | ff ff ff ff | 00 00 00 0a | 00 00 00 05
          00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
          70 69 6e 67`),
      ),
    );
  });

  it('NOP-Out reply to a NOP-In (11.18): I set, ITT 0xffffffff, LUN and TTT echoed', () => {
    const b = encodeNopOutReply({ lun: encodeLun(1), ttt: 0xabc, cmdSN: 0x0b, expStatSN: 6 });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          40 80 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
          ff ff ff ff | 00 00 0a bc | 00 00 00 0b | 00 00 00 06
          00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
      ),
    );
  });

  it('Logout Request (11.14): reason 0 close the session, CID reserved', () => {
    expect(hexOf(encodeLogoutRequest({ itt: 9, immediate: true, cmdSN: 0x0c, expStatSN: 7 }))).toBe(
      hexOf(
        bytes(`
          46 80 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
          00 00 00 09 | 00 00 00 00 | 00 00 00 0c | 00 00 00 07
          00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
      ),
    );
  });

  it('Text Request (11.10): F, TTT 0xffffffff for a new exchange, text exactly 16 bytes (no padding)', () => {
    const b = encodeTextRequest({
      final: true,
      continue: false,
      itt: 0x0a,
      cmdSN: 0x0d,
      expStatSN: 8,
      immediate: false,
      data: encodeTextKeys([['SendTargets', 'All']]),
    });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          04 80 00 00 | 00 00 00 10 | 00 00 00 00 | 00 00 00 00
          00 00 00 0a | ff ff ff ff | 00 00 00 0d | 00 00 00 08
          00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
          53 65 6e 64 54 61 72 67 65 74 73 3d 41 6c 6c 00`),
      ),
    );
  });
});

describe('encoders: golden bytes for the write and task management paths', () => {
  it('SCSI Data-Out (11.7): F, the R2T\'s LUN and TTT echoed, ExpStatSN, DataSN, Buffer Offset, data padded', () => {
    const b = encodeDataOut({ final: true, lun: encodeLun(1), itt: 4, ttt: 0xabc, expStatSN: 4, dataSN: 0, bufferOffset: 0x200, data: bytes('61 62 63') });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          05 80 00 00 | 00 00 00 03 | 00 01 00 00 | 00 00 00 00
          00 00 00 04 | 00 00 0a bc | 00 00 00 00 | 00 00 00 04
          00 00 00 00 | 00 00 00 00 | 00 00 02 00 | 00 00 00 00
          61 62 63 00`),
      ),
    );
  });

  it('Task Management Function Request (11.5): ABORT TASK names the task and its CmdSN', () => {
    const b = encodeTaskManagementRequest({ function: TaskFunction.AbortTask, immediate: true, lun: encodeLun(1), itt: 5, referencedTaskTag: 0x1234, refCmdSN: 2, cmdSN: 3, expStatSN: 4 });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          42 81 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
          00 00 00 05 | 00 00 12 34 | 00 00 00 03 | 00 00 00 04
          00 00 00 02 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
      ),
    );
  });

  it('Task Management Function Request: LOGICAL UNIT RESET, Referenced Task Tag 0xffffffff', () => {
    const b = encodeTaskManagementRequest({ function: TaskFunction.LogicalUnitReset, immediate: true, lun: encodeLun(1), itt: 6, cmdSN: 3, expStatSN: 5 });
    expect(hexOf(b)).toBe(
      hexOf(
        bytes(`
          42 85 00 00 | 00 00 00 00 | 00 01 00 00 | 00 00 00 00
          00 00 00 06 | ff ff ff ff | 00 00 00 03 | 00 00 00 05
          00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`),
      ),
    );
  });
});

describe('encoders rebuild what libiscsi sent tgtd, byte for byte', () => {
  it.each(LIBISCSI_FIXTURES)('%s: every Login, SCSI Command, Text and Logout Request', (name) => {
    const sent = splitInitiatorStream(tgtdFixture(name).toTarget);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const pdu of sent) {
      const f = readInitiatorPdu(pdu);
      const seq = { itt: f.itt, cmdSN: f.cmdSN, expStatSN: f.expStatSN };
      let rebuilt: Uint8Array;
      switch (f.opcode) {
        case 0x03:
          rebuilt = encodeLoginRequest({
            ...seq,
            transit: (f.byte1 & 0x80) !== 0,
            continue: (f.byte1 & 0x40) !== 0,
            csg: ((f.byte1 >> 2) & 3) as LoginStage,
            nsg: f.byte1 & 0x80 ? ((f.byte1 & 3) as LoginStage) : undefined,
            isid: f.bytes8.subarray(0, 6),
            tsih: (f.bytes8[6]! << 8) | f.bytes8[7]!,
            cid: f.word20 >>> 16,
            data: f.data,
          });
          break;
        case 0x01:
          rebuilt = encodeScsiCommand({
            ...seq,
            read: (f.byte1 & 0x40) !== 0,
            write: (f.byte1 & 0x20) !== 0,
            lun: f.bytes8,
            expectedDataTransferLength: f.word20,
            cdb: f.bytes32.subarray(0, 6),
          });
          break;
        case 0x04:
          rebuilt = encodeTextRequest({ ...seq, final: true, continue: false, immediate: f.immediate, ttt: f.word20, data: f.data });
          break;
        case 0x06:
          rebuilt = encodeLogoutRequest({ ...seq, immediate: f.immediate });
          break;
        default:
          throw new Error(`unexpected opcode ${f.opcode} in ${name}`);
      }
      expect(hexOf(rebuilt)).toBe(hexOf(pdu));
    }
  });
});

describe('encoders refuse what RFC 7143 forbids or a field cannot hold, in one line', () => {
  it.each([
    ['SCSI Command: CDB of 32 bytes over the 16 the BHS holds (extended CDB AHS not supported)', () => encodeScsiCommand({ ...TUR, cdb: new Uint8Array(32) })],
    ['SCSI Command: empty CDB', () => encodeScsiCommand({ ...TUR, cdb: new Uint8Array(0) })],
    ['SCSI Command: R and W both set (bidirectional commands need an AHS, not supported)', () => encodeScsiCommand({ ...TUR, read: true, write: true })],
    ['SCSI Command: Expected Data Transfer Length 512 with neither R nor W set', () => encodeScsiCommand({ ...TUR, expectedDataTransferLength: 512 })],
    ['SCSI Command: 4 bytes of immediate data without W', () => encodeScsiCommand({ ...TUR, read: true, expectedDataTransferLength: 8, immediateData: new Uint8Array(4) })],
    [
      'SCSI Command: 4 bytes of immediate data over the Expected Data Transfer Length 2',
      () => encodeScsiCommand({ ...TUR, write: true, expectedDataTransferLength: 2, immediateData: new Uint8Array(4) }),
    ],
    ['SCSI Command: F clear (unsolicited Data-Out follows) without W', () => encodeScsiCommand({ ...TUR, final: false })],
    ['SCSI Command: LUN of 4 bytes, must be 8', () => encodeScsiCommand({ ...TUR, lun: new Uint8Array(4) })],
    ['SCSI Command: ITT 0xffffffff is the reserved tag', () => encodeScsiCommand({ ...TUR, itt: 0xffffffff })],
    ['SCSI Command: CmdSN 4294967296 is not an integer in 0..4294967295', () => encodeScsiCommand({ ...TUR, cmdSN: 2 ** 32 })],
    ['SCSI Command: ExpStatSN -1 is not an integer in 0..4294967295', () => encodeScsiCommand({ ...TUR, expStatSN: -1 })],
    ['SCSI Command: Expected Data Transfer Length 1.5 is not an integer in 0..4294967295', () => encodeScsiCommand({ ...TUR, expectedDataTransferLength: 1.5 })],
    ['Login Request: T and C both set (a continued text cannot end the stage)', () => encodeLoginRequest({ ...LOGIN, continue: true })],
    ['Login Request: CSG 3 is not a login stage (0 or 1)', () => encodeLoginRequest({ ...LOGIN, csg: LoginStage.FullFeaturePhase })],
    ['Login Request: T set without an NSG', () => encodeLoginRequest({ ...LOGIN, nsg: undefined })],
    ['Login Request: NSG 3 given without T', () => encodeLoginRequest({ ...LOGIN, transit: false })],
    ['Login Request: NSG 2 is not a next stage (1 or 3)', () => encodeLoginRequest({ ...LOGIN, nsg: 2 as LoginStage })],
    ['Login Request: ISID of 5 bytes, must be 6', () => encodeLoginRequest({ ...LOGIN, isid: new Uint8Array(5) })],
    ['Login Request: TSIH 65536 is not an integer in 0..65535', () => encodeLoginRequest({ ...LOGIN, tsih: 0x10000 })],
    ['Login Request: CID -1 is not an integer in 0..65535', () => encodeLoginRequest({ ...LOGIN, cid: -1 })],
    ['NOP-Out: ITT 0xffffffff is the reserved tag', () => encodeNopOutPing({ itt: 0xffffffff, immediate: true, cmdSN: 0, expStatSN: 0 })],
    ['NOP-Out: TTT 0xffffffff is the reserved tag', () => encodeNopOutReply({ lun: encodeLun(0), ttt: 0xffffffff, cmdSN: 0, expStatSN: 0 })],
    [
      'Text Request: F and C both set (a continued text cannot be final)',
      () => encodeTextRequest({ final: true, continue: true, itt: 1, cmdSN: 0, expStatSN: 0, immediate: false, data: new Uint8Array(0) }),
    ],
    ['SCSI Data-Out: DataSN -1 is not an integer in 0..4294967295', () => encodeDataOut({ final: true, lun: encodeLun(0), itt: 1, expStatSN: 0, dataSN: -1, bufferOffset: 0, data: new Uint8Array(0) })],
    [
      'Task Management Function Request: ABORT TASK without a Referenced Task Tag and RefCmdSN',
      () => encodeTaskManagementRequest({ function: TaskFunction.AbortTask, immediate: true, lun: encodeLun(0), itt: 1, referencedTaskTag: 7, cmdSN: 0, expStatSN: 0 }),
    ],
    [
      'Task Management Function Request: function 5 takes no Referenced Task Tag or RefCmdSN',
      () => encodeTaskManagementRequest({ function: TaskFunction.LogicalUnitReset, immediate: true, lun: encodeLun(0), itt: 1, refCmdSN: 7, cmdSN: 0, expStatSN: 0 }),
    ],
    [
      'Task Management Function Request: function 8 is not one of 1-7',
      () => encodeTaskManagementRequest({ function: 8 as TaskFunction, immediate: true, lun: encodeLun(0), itt: 1, cmdSN: 0, expStatSN: 0 }),
    ],
    [
      'Task Management Function Request: Referenced Task Tag 0xffffffff is the reserved tag',
      () => encodeTaskManagementRequest({ function: TaskFunction.AbortTask, immediate: true, lun: encodeLun(0), itt: 1, referencedTaskTag: 0xffffffff, refCmdSN: 0, cmdSN: 0, expStatSN: 0 }),
    ],
    [
      'NOP-Out: data segment of 16777216 bytes over the 16777215 a PDU holds',
      () => encodeNopOutPing({ itt: 1, immediate: true, cmdSN: 0, expStatSN: 0, data: new Uint8Array(0x1000000) }),
    ],
  ] as const)('%s', (message, f) => {
    expectPduError(f, message);
  });
});

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const tag = fc.integer({ min: 0, max: 0xfffffffe });
const data = (max: number) => fc.uint8Array({ maxLength: max });

/** Every field an encoder takes, read back at its RFC offset by the test-side reader. */
describe('encoders: field readback over random fields (fast-check)', () => {
  it('SCSI Command', () => {
    const command = fc
      .record({
        dir: fc.constantFrom('none', 'read', 'write'),
        final: fc.boolean(),
        lun: fc.integer({ min: 0, max: 16383 }),
        itt: tag,
        edtl: u32,
        cmdSN: u32,
        expStatSN: u32,
        cdb: fc.uint8Array({ minLength: 1, maxLength: 16 }),
        immediate: data(64),
      })
      .map((r) => ({
        ...r,
        final: r.dir === 'write' ? r.final : true,
        edtl: r.dir === 'none' ? 0 : Math.max(r.edtl, r.immediate.length),
        immediate: r.dir === 'write' ? r.immediate : new Uint8Array(0),
      }));
    fc.assert(
      fc.property(command, (r) => {
        const b = encodeScsiCommand({
          read: r.dir === 'read',
          write: r.dir === 'write',
          final: r.final,
          lun: encodeLun(r.lun),
          itt: r.itt,
          expectedDataTransferLength: r.edtl,
          cmdSN: r.cmdSN,
          expStatSN: r.expStatSN,
          cdb: r.cdb,
          immediateData: r.immediate,
        });
        const f = readInitiatorPdu(b);
        expect(b.length % 4).toBe(0);
        expect([f.opcode, f.immediate, f.totalAhsLength, f.byte2, f.byte3]).toEqual([0x01, false, 0, 0, 0]);
        expect(f.byte1).toBe((r.final ? 0x80 : 0) | (r.dir === 'read' ? 0x40 : 0) | (r.dir === 'write' ? 0x20 : 0) | 1);
        expect([f.itt, f.word20, f.cmdSN, f.expStatSN]).toEqual([r.itt, r.edtl, r.cmdSN, r.expStatSN]);
        expect(f.bytes8).toEqual(encodeLun(r.lun));
        expect(f.bytes32).toEqual(Uint8Array.from([...r.cdb, ...new Uint8Array(16 - r.cdb.length)]));
        expect([f.data, f.padding.every((x) => x === 0)]).toEqual([r.immediate, true]);
      }),
      runs(500),
    );
  });

  it('Login Request', () => {
    const login = fc.record({
      transit: fc.boolean(),
      continue: fc.boolean(),
      csg: fc.constantFrom(0, 1),
      nsg: fc.constantFrom(1, 3),
      isid: fc.uint8Array({ minLength: 6, maxLength: 6 }),
      tsih: fc.integer({ min: 0, max: 0xffff }),
      itt: tag,
      cid: fc.integer({ min: 0, max: 0xffff }),
      cmdSN: u32,
      expStatSN: u32,
      data: data(300),
    });
    fc.assert(
      fc.property(login, (r) => {
        const fields = { ...r, continue: r.transit ? false : r.continue, csg: r.csg as LoginStage, nsg: r.transit ? (r.nsg as LoginStage) : undefined };
        const f = readInitiatorPdu(encodeLoginRequest(fields));
        expect([f.opcode, f.immediate, f.byte2, f.byte3, f.totalAhsLength]).toEqual([0x03, true, 0, 0, 0]);
        expect(f.byte1).toBe((r.transit ? 0x80 | r.nsg : 0) | (fields.continue ? 0x40 : 0) | (r.csg << 2));
        expect(f.bytes8).toEqual(Uint8Array.from([...r.isid, r.tsih >> 8, r.tsih & 0xff]));
        expect([f.itt, f.word20, f.cmdSN, f.expStatSN]).toEqual([r.itt, r.cid * 0x10000, r.cmdSN, r.expStatSN]);
        expect(f.bytes32).toEqual(new Uint8Array(16));
        expect(f.data).toEqual(r.data);
      }),
      runs(500),
    );
  });

  it('SCSI Data-Out and Task Management Function Request', () => {
    const r = fc.record({ final: fc.boolean(), itt: tag, ttt: u32, expStatSN: u32, dataSN: u32, bufferOffset: u32, data: data(600), rtt: tag, cmdSN: u32, ref: u32 });
    fc.assert(
      fc.property(r, fc.constantFrom(...Object.values(TaskFunction)), (f, fn) => {
        const out = readInitiatorPdu(encodeDataOut({ ...f, lun: encodeLun(3) }));
        expect([out.opcode, out.immediate, out.byte1, out.itt, out.word20, out.cmdSN, out.expStatSN, out.data]).toEqual([0x05, false, f.final ? 0x80 : 0, f.itt, f.ttt, 0, f.expStatSN, f.data]);
        const v = new DataView(out.bytes32.buffer);
        expect([v.getUint32(0), v.getUint32(4), v.getUint32(8), v.getUint32(12)]).toEqual([0, f.dataSN, f.bufferOffset, 0]);
        const abort = fn === TaskFunction.AbortTask;
        const tmf = readInitiatorPdu(
          encodeTaskManagementRequest({ ...f, function: fn, immediate: true, lun: encodeLun(3), ...(abort ? { referencedTaskTag: f.rtt, refCmdSN: f.ref } : {}) }),
        );
        expect([tmf.opcode, tmf.immediate, tmf.byte1, tmf.itt, tmf.word20, tmf.cmdSN, tmf.expStatSN]).toEqual([0x02, true, 0x80 | fn, f.itt, abort ? f.rtt : 0xffffffff, f.cmdSN, f.expStatSN]);
        expect(new DataView(tmf.bytes32.buffer).getUint32(0)).toBe(abort ? f.ref : 0);
      }),
      runs(500),
    );
  });

  it('NOP-Out (ping and reply), Logout Request, Text Request', () => {
    const seq = fc.record({ itt: tag, cmdSN: u32, expStatSN: u32, immediate: fc.boolean(), ttt: tag, lun: fc.integer({ min: 0, max: 16383 }), data: data(100) });
    fc.assert(
      fc.property(seq, (r) => {
        const ping = readInitiatorPdu(encodeNopOutPing(r));
        expect([ping.opcode, ping.immediate, ping.byte1, ping.itt, ping.word20, ping.cmdSN, ping.expStatSN]).toEqual([0x00, r.immediate, 0x80, r.itt, 0xffffffff, r.cmdSN, r.expStatSN]);
        expect([ping.bytes8, ping.data]).toEqual([new Uint8Array(8), r.data]);
        const reply = readInitiatorPdu(encodeNopOutReply({ ...r, lun: encodeLun(r.lun) }));
        expect([reply.opcode, reply.immediate, reply.itt, reply.word20, reply.cmdSN]).toEqual([0x00, true, 0xffffffff, r.ttt, r.cmdSN]);
        expect([reply.bytes8, reply.data]).toEqual([encodeLun(r.lun), r.data]);
        const logout = readInitiatorPdu(encodeLogoutRequest(r));
        expect([logout.opcode, logout.immediate, logout.byte1, logout.itt, logout.word20, logout.cmdSN, logout.expStatSN, logout.dataSegmentLength]).toEqual([
          0x06,
          r.immediate,
          0x80,
          r.itt,
          0,
          r.cmdSN,
          r.expStatSN,
          0,
        ]);
        const text = readInitiatorPdu(encodeTextRequest({ ...r, final: false, continue: true }));
        expect([text.opcode, text.immediate, text.byte1, text.itt, text.word20, text.cmdSN, text.data]).toEqual([0x04, r.immediate, 0x40, r.itt, r.ttt, r.cmdSN, r.data]);
      }),
      runs(500),
    );
  });
});
