// Per-command programs and the data a sim disk answers with (scenarios.json format 2): which program
// answers a command, each program's own numbering, data-in, and a plain disk's default data.

import { describe, expect, it } from 'vitest';
import type { ScsiCommand } from '../../host/backends/device.js';
import { compileScenarioFile } from '../../host/backends/sim/scenario-file.js';
import { SimDevice } from '../../host/backends/sim/sim-device.js';
import { fixedSense, inquiry, scsi, scsiReply, type Reply } from './helpers.js';
import raw from '../../host/backends/sim/scenarios.json' with { type: 'json' };

const GOOD = 0;
const CHECK_CONDITION = 2;

const command = (cdb: number[], dataInLength: number, dataOut: number[] = []): ScsiCommand => ({ cdb: Uint8Array.from(cdb), dataOut: Uint8Array.from(dataOut), dataInLength });
const modeSense10 = (pc: number, page: number) => command([0x5a, 0x08, (pc << 6) | page, 0, 0, 0, 0, 0, 20, 0], 20);
const readCapacity10 = command([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8);
const readCapacity16 = command([0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], 32);
const read10 = (lba: number, blocks: number, room = blocks * 512) => command([0x28, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, blocks >>> 8, blocks & 0xff, 0], room);
const dataOf = (r: Reply) => ('data' in r ? r.data : []);
const dev = (spec: string) => SimDevice.fromSpec(spec);

describe('a plain disk\'s data (any scenario answering GOOD)', () => {
  it('READ CAPACITY(10) and (16) from blocks=, 512-byte blocks', () => {
    expect(dataOf(scsi(dev('sim:ok?blocks=4096'), readCapacity10))).toEqual([0, 0, 0x0f, 0xff, 0, 0, 2, 0]);
    const r16 = dataOf(scsi(dev('sim:ok?blocks=4096'), readCapacity16));
    expect(r16.slice(0, 12)).toEqual([0, 0, 0, 0, 0, 0, 0x0f, 0xff, 0, 0, 2, 0]);
    expect(r16).toHaveLength(32);
  });

  it('READ(10) returns the blocks\' pattern, cut to the room given; past the end ILLEGAL REQUEST 21/00', () => {
    expect(dataOf(scsi(dev('sim:ok'), read10(2, 1)))).toEqual(Array.from({ length: 512 }, (_, i) => (1024 + i) & 0xff));
    expect(dataOf(scsi(dev('sim:ok'), read10(0, 8, 100)))).toHaveLength(100);
    expect(scsi(dev('sim:ok?blocks=4'), read10(3, 2))).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(5, 0x21, 0x00)));
    // A failing scenario answers every command its way.
    expect(scsi(dev('sim:down'), read10(0, 1))).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(4, 0x44, 0x00)));
  });

  it('a mode page it has none of is ILLEGAL REQUEST 24/00', () => {
    expect(scsi(dev('sim:ok'), modeSense10(0, 0x0a))).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(5, 0x24, 0x00)));
  });
});

describe('per-command programs (the device models)', () => {
  it('a page\'s program (INQUIRY VPD 0xC9) answers that page; other pages fall back to the disk\'s own', () => {
    const rdac = dev('sim:rdac-owner');
    const c9 = dataOf(scsi(rdac, inquiry(48, 0xc9)));
    expect(c9.slice(0, 9)).toEqual([0, 0xc9, 0, 44, 0x76, 0x61, 0x63, 0x31, 0x11]);
    expect(dataOf(scsi(rdac, inquiry(64, 0x80))).slice(0, 4)).toEqual([0, 0x80, 0, 3]);
    expect(scsi(rdac, inquiry(64, 0xc0))).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(5, 0x24, 0x00)));
  });

  it('each program numbers its own commands: MODE SENSE\'s sequence is not moved on by INQUIRYs or TURs', () => {
    const rdac = dev('sim:rdac-owner');
    const tas = () => dataOf(scsi(rdac, modeSense10(0, 0x0a)))[13];
    expect(tas()).toBe(0x00);
    for (let i = 0; i < 5; i++) scsi(rdac, inquiry(48, 0xc9));
    scsi(rdac);
    expect(tas()).toBe(0x40);
    expect(tas()).toBe(0x40);
  });

  it('a name\'s program (INQUIRY VPD, every page) answers while the default program answers the TUR', () => {
    const standby = dev('sim:hp-standby');
    expect(scsi(standby)).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(2, 0x04, 0x02)));
    expect(dataOf(scsi(standby, inquiry(255, 0x80))).slice(0, 2)).toEqual([0, 0x80]);
    const std = scsi(standby, inquiry(36));
    expect('status' in std && std.status).toBe(GOOD);
    expect(dataOf(std)).toHaveLength(36);
  });

  it('a READ(10) program answers READ(10) only; a scenario change starts every program over', () => {
    const clariion = dev('sim:clariion-wwn-change');
    const wwn = () => dataOf(scsi(clariion, inquiry(128, 0xc0))).slice(10, 26);
    const first = wwn();
    expect(first.slice(0, 5)).toEqual([0x60, 0x06, 0x01, 0x60, 0x12]);
    scsi(clariion);
    expect(wwn().slice(0, 5)).toEqual([0x60, 0x06, 0x01, 0x60, 0x87]);
    clariion.setScenario('clariion-wwn-change');
    expect(wwn()).toEqual(first);
    const bad = dev('sim:clariion-read-error');
    expect(scsi(bad, read10(0, 1))).toEqual(scsiReply(CHECK_CONDITION, 0, fixedSense(3, 0x11, 0x00)));
    expect(scsi(bad)).toEqual(scsiReply(GOOD));
  });
});

describe('compiling per-command programs', () => {
  const withScenario = (sc: unknown) => ({ ...raw, scenarios: { x: sc } });
  const good = { status: 'GOOD' };

  it('data pieces, sense format and length', () => {
    const f = compileScenarioFile(
      withScenario({
        description: 'd',
        params: {},
        program: { repeat: { status: 'CHECK_CONDITION', sense: { key: 'NOT_READY', asc: '0x04', ascq: '0x0B', format: 'descriptor', length: 4 } } },
        commands: { 'INQUIRY VPD 0xc9': { repeat: { status: 'GOOD', data: ['00 c9', { ascii: 'vac1', width: 6 }, { zeros: 2 }] } } },
      }),
    );
    const s = f.scenarios[0]!;
    expect([...s.commands]).toEqual([['INQUIRY VPD 0xC9', 1]]);
    const a = s.programs[1]!;
    expect(a.kind === 'repeat' && a.response.kind === 'answer' ? [...a.response.data!] : null).toEqual([0, 0xc9, 0x76, 0x61, 0x63, 0x31, 0x20, 0x20, 0, 0]);
    const d = s.programs[0]!;
    expect(d.kind === 'repeat' && d.response.kind === 'answer' ? [d.response.senseFormat, d.response.senseLength] : null).toEqual([1, 4]);
  });

  it.each([
    ['an unknown command', { 'WRITE(10)': { repeat: good } }, "$.scenarios.x.commands.WRITE(10): unknown command"],
    ['a page on a command that has none', { 'TEST UNIT READY 0x01': { repeat: good } }, '$.scenarios.x.commands.TEST UNIT READY 0x01: unknown command'],
    ['two spellings of one key', { 'INQUIRY VPD 0xc9': { repeat: good }, 'INQUIRY VPD 0xC9': { repeat: good } }, '$.scenarios.x.commands.INQUIRY VPD 0xC9: the same command as an earlier key (INQUIRY VPD 0xC9)'],
    ['a mode page past 6 bits', { 'MODE SENSE(10) 0x4A': { repeat: good } }, '$.scenarios.x.commands.MODE SENSE(10) 0x4A: a mode page is at most 0x3F'],
    ['data on a failing answer', { INQUIRY: { repeat: { status: 'BUSY', data: ['00'] } } }, '$.scenarios.x.commands.INQUIRY.repeat.data: only a GOOD answer with DID_OK carries data'],
    ['odd hex', { INQUIRY: { repeat: { status: 'GOOD', data: ['0c9'] } } }, "$.scenarios.x.commands.INQUIRY.repeat.data[0]: must be hex byte pairs, e.g. '00 c9 00 2c'"],
    ['a non-printable ascii piece', { INQUIRY: { repeat: { status: 'GOOD', data: [{ ascii: 'a\u0001' }] } } }, '$.scenarios.x.commands.INQUIRY.repeat.data[0].ascii: must be printable ASCII'],
  ])('refuses %s, naming the JSON path', (_, commands, message) => {
    expect(() => compileScenarioFile(withScenario({ description: 'd', params: {}, program: { repeat: good }, commands }))).toThrow(message);
  });

  it('refuses a sense format the device parameter lists as one joined choice', () => {
    const doc = structuredClone(raw) as { deviceParams: { sense: { choices: string[]; default: string } } };
    doc.deviceParams.sense.choices = ['fixed,descriptor'];
    doc.deviceParams.sense.default = 'fixed,descriptor';
    expect(() => compileScenarioFile(doc)).toThrow('$.deviceParams.sense: must be a choice of fixed, descriptor');
  });
});
