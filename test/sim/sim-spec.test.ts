import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../host/backends/sim/scenario.js';
import { parseScenarioChange, parseSimSpec } from '../../host/backends/sim/sim-spec.js';
import { SimSpecError } from '../../host/backends/sim/sim-spec-error.js';

const KNOWN = SCENARIOS.map((s) => s.name).join(', ');

function specError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SimSpecError);
    expect((e as Error).name).toBe('SimSpecError');
    expect((e as Error).message).not.toMatch(/\n/);
    return (e as Error).message;
  }
  throw new Error('expected a SimSpecError');
}

describe('parseSimSpec', () => {
  it('fills in defaults', () => {
    const s = parseSimSpec('sim:slow');
    expect({ id: s.id, blocks: s.blocks, sense: s.sense, scenario: s.scenario.name, params: s.params }).toEqual({
      id: '',
      blocks: 2048,
      sense: 'fixed',
      scenario: 'slow',
      params: [500],
    });
  });

  it('takes every parameter, in any order', () => {
    const s = parseSimSpec('sim:flap?every=3&sense=descriptor&blocks=8&id=lun3');
    expect({ id: s.id, blocks: s.blocks, sense: s.sense, scenario: s.scenario.name, params: s.params }).toEqual({
      id: 'lun3',
      blocks: 8,
      sense: 'descriptor',
      scenario: 'flap',
      params: [3],
    });
  });

  it('keeps everything after the first = as the value', () => {
    expect(parseSimSpec('sim:ok?id=a=b').id).toBe('a=b');
    expect(parseSimSpec('sim:ok?id=').id).toBe('');
  });

  it('accepts the largest integer a shared cell holds', () => {
    expect(parseSimSpec('sim:slow?latency=2147483647').params).toEqual([2147483647]);
  });
});

describe('spec errors', () => {
  const cases: Array<[string, string]> = [
    ['iscsi:foo', "not a sim device spec: 'iscsi:foo' (expected sim:<scenario>[?key=value&...])"],
    ['sim:stanby', `unknown sim scenario 'stanby' (known: ${KNOWN})`],
    ['sim:', `unknown sim scenario '' (known: ${KNOWN})`],
    ['sim:ok\nx', `unknown sim scenario 'ok\\x0ax' (known: ${KNOWN})`],
    ['sim:slow?latncy=5', "sim scenario 'slow': unknown parameter 'latncy' (allowed: id, sense, blocks, latency)"],
    ['sim:ok?every=2', "sim scenario 'ok': unknown parameter 'every' (allowed: id, sense, blocks)"],
    ['sim:slow?latency=abc', "sim scenario 'slow': parameter 'latency' must be a non-negative integer, got 'abc'"],
    ['sim:slow?latency=-5', "sim scenario 'slow': parameter 'latency' must be a non-negative integer, got '-5'"],
    ['sim:slow?latency=1.5', "sim scenario 'slow': parameter 'latency' must be a non-negative integer, got '1.5'"],
    ['sim:slow?latency=', "sim scenario 'slow': parameter 'latency' must be a non-negative integer, got ''"],
    ['sim:slow?latency=2147483648', "sim scenario 'slow': parameter 'latency' must be at most 2147483647, got '2147483648'"],
    ['sim:flap?every=0', "sim scenario 'flap': parameter 'every' must be a positive integer, got '0'"],
    ['sim:ok?blocks=0', "sim scenario 'ok': parameter 'blocks' must be a positive integer, got '0'"],
    ['sim:ok?sense=fix', "sim scenario 'ok': parameter 'sense' must be one of fixed, descriptor, got 'fix'"],
    ['sim:ok?id=a&id=b', "sim scenario 'ok': parameter 'id' given twice"],
    ['sim:ok?id', "sim scenario 'ok': malformed parameter 'id' (expected key=value)"],
    ['sim:ok?', "sim scenario 'ok': malformed parameter '' (expected key=value)"],
    ['sim:ok?=x', "sim scenario 'ok': malformed parameter '=x' (expected key=value)"],
    ['sim:ok?id=a&&sense=fixed', "sim scenario 'ok': malformed parameter '' (expected key=value)"],
  ];
  it.each(cases)('%j', (spec, message) => {
    expect(specError(() => parseSimSpec(spec))).toBe(message);
  });
});

describe('parseScenarioChange', () => {
  it('gives the scenario and its parameters, sense only when asked', () => {
    const c = parseScenarioChange('flap?every=3');
    expect({ scenario: c.scenario.name, params: c.params, sense: c.sense }).toEqual({ scenario: 'flap', params: [3], sense: undefined });
    expect(parseScenarioChange('down?sense=descriptor').sense).toBe('descriptor');
  });

  it('refuses the fixed parameters and lists only the changeable ones', () => {
    expect(specError(() => parseScenarioChange('ok?id=x'))).toBe("sim scenario 'ok': parameter 'id' cannot change on a running device");
    expect(specError(() => parseScenarioChange('ok?blocks=4'))).toBe("sim scenario 'ok': parameter 'blocks' cannot change on a running device");
    expect(specError(() => parseScenarioChange('slow?x=1'))).toBe("sim scenario 'slow': unknown parameter 'x' (allowed: sense, latency)");
  });

  it('wants a bare scenario, not a device spec', () => {
    expect(specError(() => parseScenarioChange('sim:ok'))).toBe(`unknown sim scenario 'sim:ok' (known: ${KNOWN})`);
  });
});
