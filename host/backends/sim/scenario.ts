import raw from './scenarios.json' with { type: 'json' };
import { INT_MAX, compileScenarioFile, type Answer, type ParamSpec, type Scenario, type ScenarioFile } from './scenario-file.js';
import { quote } from '../quote.js';
import { SimSpecError } from './sim-spec-error.js';

/** The scenarios every sim device runs, loaded and checked once per thread when first imported. */
const FILE = ((): ScenarioFile => {
  try {
    return compileScenarioFile(raw);
  } catch (e) {
    throw new Error(`invalid host/backends/sim/scenarios.json: ${(e as Error).message}`);
  }
})();

export const CODES = FILE.codes;
export const DEVICE_PARAMS = FILE.deviceParams;
export const SCENARIOS = FILE.scenarios;
const BY_NAME = new Map(SCENARIOS.map((s) => [s.name, s]));

export function scenarioByName(name: string): Scenario {
  const s = BY_NAME.get(name);
  if (s === undefined) throw new SimSpecError(`unknown sim scenario ${quote(name)} (known: ${[...BY_NAME.keys()].join(', ')})`);
  return s;
}

/** A GOOD answer with DID_OK: the one kind of answer a plain read gets data for. */
export function isGood(a: Answer): boolean {
  return a.status === CODES.GOOD && a.hostStatus === CODES.DID_OK;
}

/** Parse one `key=value` of a spec for scenario `scenario`; throws SimSpecError naming the problem. */
export function parseParam(scenario: string, param: ParamSpec, text: string): number | string {
  const problem = (must: string) =>
    new SimSpecError(`sim scenario ${quote(scenario)}: parameter '${param.name}' must be ${must}, got ${quote(text)}`);
  switch (param.type) {
    case 'text':
      return text;
    case 'choice':
      if (!param.choices.includes(text)) throw problem(`one of ${param.choices.join(', ')}`);
      return text;
    case 'integer': {
      const kind = param.min === 0 ? 'a non-negative integer' : param.min === 1 ? 'a positive integer' : `an integer >= ${param.min}`;
      if (!/^[0-9]+$/.test(text)) throw problem(kind);
      const n = Number(text);
      if (n < param.min) throw problem(kind);
      if (n > INT_MAX) throw problem(`at most ${INT_MAX}`);
      return n;
    }
  }
}
