import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import raw from '../../host/backends/sim/scenarios.json' with { type: 'json' };
import { DaemonProcess, confText, runPathcheck, runPathcheckd, stopAllDaemons, tempDir, waitUntil } from '../helpers/daemon-process.js';

// A user's own sim scenarios (issue 13): `pathcheck check --scenarios FILE` and `scenario_file` in the
// daemon's config, in scenarios.json's schema; every bad file is one line naming the file and the key.

afterEach(stopAllDaemons);

const VAC1 = ['00 c9 00 2c', { ascii: 'vac1' }];
/** A file of two scenarios: an RDAC controller that is not the owner, and a disk whose TUR answers NOT READY 04/0B in descriptor sense of 8 bytes. */
function userFile(dir: string, scenarios: Record<string, unknown> = MINE): string {
  const file = join(dir, 'my-array.json');
  writeFileSync(file, JSON.stringify({ ...raw, about: ['a rig\'s own array'], scenarios }));
  return file;
}
const MINE = {
  'lab-rdac-standby': {
    description: 'RDAC non-owner with TPG data',
    params: {},
    program: { repeat: { status: 'GOOD' } },
    commands: { 'INQUIRY VPD 0xC9': { repeat: { status: 'GOOD', data: [...VAC1, '10 00 01 00 00', { zeros: 35 }] } } },
  },
  'lab-standby-descriptor': {
    description: 'ALUA standby, always in descriptor sense',
    params: {},
    program: { repeat: { status: 'CHECK_CONDITION', sense: { key: 'NOT_READY', asc: '0x04', ascq: '0x0B', format: 'descriptor', length: 8 } } },
  },
};

async function check(args: string[]): Promise<{ out: string; err: string; status: number | null }> {
  const r = await runPathcheck(['check', ...args]);
  return { out: r.stdout.trim(), err: r.stderr.trim(), status: r.status };
}

describe('pathcheck check --scenarios', () => {
  it('checks devices of the file\'s scenarios (on the worker thread too), next to the built-in ones', async () => {
    const file = userFile(tempDir());
    const rdac = await check(['sim:lab-rdac-standby', '--checker', 'rdac', '--scenarios', file, '--json']);
    expect([JSON.parse(rdac.out).state, JSON.parse(rdac.out).message, rdac.status]).toEqual(['ghost', 'rdac checker reports path is ghost', 0]);
    const tur = await check(['sim:lab-standby-descriptor', '--scenarios', file, '--json']);
    expect(JSON.parse(tur.out).state).toBe('ghost');
    const builtIn = await check(['sim:rdac-owner', '--checker', 'rdac', '--scenarios', file, '--json']);
    expect(JSON.parse(builtIn.out).state).toBe('up');
    // Without the file the scenario is unknown.
    const without = await check(['sim:lab-rdac-standby']);
    expect([without.status, without.err]).toEqual([2, expect.stringMatching(/^pathcheck: unknown sim scenario 'lab-rdac-standby' \(known: ok, /)]);
  });

  it('a bad file: one line naming it and what is wrong, exit 2', async () => {
    const dir = tempDir();
    const cases: [what: string, file: string, line: RegExp][] = [
      ['missing', join(dir, 'nope.json'), /^pathcheck: cannot read scenario file .*nope\.json: no such file$/],
      ['endless', '/dev/zero', /^pathcheck: cannot read scenario file \/dev\/zero: larger than the 1 MiB cap$/],
    ];
    const write = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    cases.push(['not JSON', write('syntax.json', '{"format": '), /^pathcheck: .*syntax\.json: .*JSON/]);
    cases.push(['not UTF-8', write('latin1.json', Buffer.from([0x7b, 0xe9, 0x7d]) as unknown as string), /^pathcheck: cannot read scenario file .*latin1\.json: it is not UTF-8 text$/]);
    const bad = (name: string, scenarios: unknown) => write(name, JSON.stringify({ ...raw, scenarios }));
    cases.push(['a misspelt key', bad('key.json', { x: { description: 'd', params: {}, program: { repeat: { stauts: 'GOOD' } } } }), /^pathcheck: .*key\.json: \$\.scenarios\.x\.program\.repeat\.stauts: unknown key/]);
    cases.push(['an unknown command', bad('cmd.json', { x: { description: 'd', params: {}, program: { repeat: { status: 'GOOD' } }, commands: { 'WRITE(10)': { repeat: { status: 'GOOD' } } } } }), /^pathcheck: .*cmd\.json: \$\.scenarios\.x\.commands\.WRITE\(10\): unknown command/]);
    cases.push(['another number for GOOD', write('codes.json', JSON.stringify({ ...raw, names: { ...raw.names, status: { ...raw.names.status, GOOD: 1 } }, scenarios: MINE })), /^pathcheck: .*codes\.json: \$\.names: GOOD is 1, the built-in scenarios\.json has 0$/]);
    cases.push(['other device parameters', write('params.json', JSON.stringify({ ...raw, deviceParams: { ...raw.deviceParams, blocks: { ...raw.deviceParams.blocks, default: 8 } }, scenarios: MINE })), /^pathcheck: .*params\.json: \$\.deviceParams: must be the built-in scenarios\.json's \(devices take those\)$/]);
    cases.push(['a built-in name', bad('dup.json', { ok: { description: 'd', params: {}, program: { repeat: { status: 'GOOD' } } } }), /^pathcheck: .*dup\.json: \$\.scenarios\.ok: a scenario of that name exists already$/]);
    for (const [what, file, line] of cases) {
      const r = await check(['sim:ok', '--scenarios', file]);
      expect(r.status, what).toBe(2);
      expect(r.out, what).toBe('');
      expect(r.err.split('\n'), what).toEqual([expect.stringMatching(line)]);
    }
  });
});

describe('pathcheckd scenario_file', () => {
  it('paths on the file\'s scenarios are checked; a reconfigure that changes scenario_file is refused and changes nothing', async () => {
    const dir = tempDir();
    const file = userFile(dir);
    const d = await DaemonProcess.start({
      config: confText({ scenarioFile: file, paths: [{ device: 'sim:lab-rdac-standby', checker: 'rdac' }, 'sim:lab-standby-descriptor', 'sim:ok'] }),
    });
    await waitUntil('both paths checked', async () => (await d.paths()).filter((p) => p.state === 'ghost').length === 2, 10_000, 50);
    expect((await d.path('sim:lab-rdac-standby'))?.message).toBe('rdac checker reports path is ghost');
    const other = join(dir, 'other.json');
    copyFileSync(file, other);
    writeFileSync(d.configFile, confText({ scenarioFile: other, paths: ['sim:ok'] }));
    const r = await runPathcheck(['--socket', d.socket, 'reconfigure']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/scenario_file cannot change while pathcheckd runs \(was .*my-array\.json, now .*other\.json\): restart pathcheckd$/);
    expect((await d.paths()).map((p) => p.device).sort()).toEqual(['sim:lab-rdac-standby', 'sim:lab-standby-descriptor', 'sim:ok']);
  });

  it('a bad scenario_file stops the start with one line naming the config line and the file', async () => {
    const dir = tempDir();
    const config = join(dir, 'pc.conf');
    writeFileSync(config, confText({ scenarioFile: 'missing.json', paths: ['sim:ok'] }));
    const r = await runPathcheckd(['--config', config, '--socket', join(dir, 's'), '--foreground']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^pathcheckd: .*pc\.conf:\d+: keyword 'scenario_file': cannot read scenario file .*missing\.json: no such file$/)]);
  });
});
