import raw from './scenarios.json' with { type: 'json' };
import { INT_MAX, compileScenarioFile, type Answer, type ParamSpec, type Scenario, type ScenarioFile } from './scenario-file.js';
import { quote } from '../quote.js';
import { member } from './json-fields.js';
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
/** The built-in scenarios, then those of the user's scenario files in the order added: a device's state stores the index. */
export const SCENARIOS: Scenario[] = [...FILE.scenarios];
const BY_NAME = new Map(SCENARIOS.map((s) => [s.name, s]));
/** The user's scenario files as added (their text), for every thread that makes or attaches sim devices. */
const ADDED: ScenarioSource[] = [];

/** A user's scenario file: its name (for messages) and its text. */
export interface ScenarioSource {
  readonly file: string;
  readonly text: string;
}

/**
 * Add the scenarios of a user's scenario file (the same schema as scenarios.json; the codes its names
 * give and its deviceParams must be the built-in file's; its scenarios are added after the ones known). Throws an Error whose message is
 * one line naming the file and the JSON path at fault; nothing is added then.
 */
export function addScenarios(source: ScenarioSource): void {
  let compiled: ScenarioFile;
  try {
    compiled = compileScenarioFile(JSON.parse(source.text));
  } catch (e) {
    throw new Error(`${source.file}: ${(e as Error).message.split('\n')[0]}`);
  }
  // Answers are compiled with the file's numbers but run by code that knows the built-in ones.
  for (const [name, n] of Object.entries(compiled.codes)) {
    const built = CODES[name as keyof typeof CODES];
    if (n !== built) throw new Error(`${source.file}: $.names: ${name} is ${n}, the built-in scenarios.json has ${built}`);
  }
  if (JSON.stringify(compiled.deviceParams) !== JSON.stringify(DEVICE_PARAMS)) {
    throw new Error(`${source.file}: $.deviceParams: must be the built-in scenarios.json's (devices take those)`);
  }
  for (const s of compiled.scenarios) {
    if (BY_NAME.has(s.name)) throw new Error(`${source.file}: ${member('$.scenarios', s.name)}: a scenario of that name exists already`);
  }
  for (const s of compiled.scenarios) {
    const added = { ...s, index: SCENARIOS.length };
    SCENARIOS.push(added);
    BY_NAME.set(added.name, added);
  }
  ADDED.push(source);
}

/** The scenario files added on this thread, in order: a new worker thread adds the same. */
export function addedScenarios(): readonly ScenarioSource[] {
  return ADDED;
}

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
