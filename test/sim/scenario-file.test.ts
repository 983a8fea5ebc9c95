import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileScenarioFile } from '../../host/backends/sim/scenario-file.js';
import { SCENARIOS } from '../../host/backends/sim/scenario.js';

const FILE = new URL('../../host/backends/sim/scenarios.json', import.meta.url);
type Doc = { scenarios: Record<string, any>; [key: string]: any };

/** A fresh copy of the shipped document, to break one thing in. */
function doc(): Doc {
  return JSON.parse(readFileSync(FILE, 'utf8'));
}

function problem(edit: (d: Doc) => void): string {
  const d = doc();
  edit(d);
  try {
    compileScenarioFile(d);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the document to be refused');
}

describe('scenarios.json', () => {
  it('holds every required scenario, each described', () => {
    const required = ['ok', 'down', 'standby', 'not-ready', 'medium-not-present', 'ua-then-ok', 'no-connect', 'slow', 'flap', 'hang'];
    const extra = ['transitioning', 'reservation-conflict', 'busy'];
    const names = SCENARIOS.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([...required, ...extra]));
    for (const s of SCENARIOS) expect(s.description.length).toBeGreaterThan(0);
    expect(SCENARIOS.map((s) => s.index)).toEqual(names.map((_, i) => i));
  });

  it('declares scenario parameters with defaults', () => {
    const params = (name: string) => SCENARIOS.find((s) => s.name === name)!.params.map((p) => [p.name, p.default, p.min]);
    expect(params('slow')).toEqual([['latency', 500, 0]]);
    expect(params('flap')).toEqual([['every', 1, 1]]);
  });
});

describe('compileScenarioFile refuses, naming the JSON path', () => {
  const cases: Array<[string, (d: Doc) => void, string]> = [
    ['a wrong format tag', (d) => (d.format = 'other/2'), "$.format: must be 'pathcheck-sim-scenarios/2'"],
    ['a top-level typo', (d) => (d.scenarioz = {}), '$.scenarioz: unknown key (allowed: format, about, names, deviceParams, scenarios)'],
    ['no scenarios', (d) => (d.scenarios = {}), '$.scenarios: must name at least one scenario'],
    ['a scenario name a spec cannot carry', (d) => (d.scenarios['a?b'] = d.scenarios.ok), '$.scenarios.a?b: a scenario name must match /^[a-z][a-z0-9-]*$/'],
    [
      'a misspelt response key',
      (d) => (d.scenarios.ok.program.repeat = { stauts: 'GOOD' }),
      '$.scenarios.ok.program.repeat.stauts: unknown key (allowed: status, sense, hostStatus, data, latency, readErrno)',
    ],
    [
      'an unknown status name',
      (d) => (d.scenarios.ok.program.repeat.status = 'GOD'),
      "$.scenarios.ok.program.repeat.status: unknown name 'GOD' (known: GOOD, CHECK_CONDITION, BUSY, RESERVATION_CONFLICT, TASK_SET_FULL)",
    ],
    [
      'sense without CHECK CONDITION',
      (d) => (d.scenarios.ok.program.repeat.sense = { key: 'NOT_READY', asc: '0x04', ascq: '0x00' }),
      '$.scenarios.ok.program.repeat.sense: only a CHECK_CONDITION carries sense',
    ],
    ['an ASC not written as a byte', (d) => (d.scenarios.down.program.repeat.sense.asc = '44'), "$.scenarios.down.program.repeat.sense.asc: must be a byte written '0xNN'"],
    ['a readErrno on a GOOD answer', (d) => (d.scenarios.ok.program.repeat.readErrno = 'EIO'), '$.scenarios.ok.program.repeat.readErrno: a GOOD answer reads data, never an errno'],
    ['hang: false', (d) => (d.scenarios.hang.program.repeat.hang = false), '$.scenarios.hang.program.repeat.hang: must be true or "hard"'],
    ['two program forms', (d) => (d.scenarios.ok.program.sequence = []), '$.scenarios.ok.program: must have exactly one of repeat, sequence, alternate'],
    ['a one-response alternation', (d) => d.scenarios.flap.program.alternate.pop(), '$.scenarios.flap.program.alternate: must be a list of at least 2'],
    ['an unused parameter', (d) => (d.scenarios.slow.program.repeat.latency = 5), '$.scenarios.slow.params.latency: declared but never used by the program'],
    [
      'a reference to an undeclared parameter',
      (d) => (d.scenarios.flap.program.every = { param: 'evry' }),
      "$.scenarios.flap.program.every.param: 'evry' is not a parameter of this scenario",
    ],
    ['a parameter whose range does not fit its use', (d) => (d.scenarios.flap.params.every.min = 0), "$.scenarios.flap.program.every.param: 'every' must have min >= 1 here"],
    ['a literal out of range', (d) => (d.scenarios.slow.program.repeat.latency = -1), '$.scenarios.slow.program.repeat.latency: must be an integer from 0 to 2147483647'],
    ['a default below its min', (d) => (d.scenarios.flap.params.every.default = 0), '$.scenarios.flap.params.every.default: must be an integer from 1 to 2147483647'],
    ['a non-integer scenario parameter', (d) => (d.scenarios.slow.params.latency = { type: 'text', default: '', description: 'x' }), '$.scenarios.slow.params.latency.type: scenario parameters must be integers'],
    ['a scenario parameter shadowing a device one', (d) => (d.scenarios.slow.params.id = d.scenarios.slow.params.latency), "$.scenarios.slow.params.id: 'id' is a device parameter"],
    ['a sense format the code cannot write', (d) => d.deviceParams.sense.choices.push('vendor'), '$.deviceParams.sense: must be a choice of fixed, descriptor'],
    ['a missing code the device needs', (d) => delete d.names.errno.ETIMEDOUT, '$.names.errno: must define ETIMEDOUT'],
  ];
  it.each(cases)('%s', (_, edit, message) => {
    expect(problem(edit)).toBe(message);
  });

  it('accepts the shipped document', () => {
    expect(compileScenarioFile(doc()).scenarios.length).toBe(SCENARIOS.length);
  });
});
