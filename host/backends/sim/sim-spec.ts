import type { ParamSpec, Scenario } from './scenario-file.js';
import { DEVICE_PARAMS, parseParam, scenarioByName } from './scenario.js';
import type { SenseFormat } from '../sense-bytes.js';
import { quote } from '../quote.js';
import { SimSpecError } from './sim-spec-error.js';

const PREFIX = 'sim:';
const DEVICE_PARAM_LIST: readonly ParamSpec[] = [DEVICE_PARAMS.id, DEVICE_PARAMS.sense, DEVICE_PARAMS.blocks];

/** A scenario with its parameter values, in the scenario's declaration order. */
export interface ScenarioChoice {
  readonly scenario: Scenario;
  readonly params: readonly number[];
}

/** A parsed `sim:<scenario>[?key=value&...]` device spec, defaults filled in. */
export interface SimSpec extends ScenarioChoice {
  readonly id: string;
  readonly blocks: number;
  readonly sense: SenseFormat;
}

/** A parsed scenario change (`standby`, `flap?every=3`): `sense` is undefined when the change keeps it. */
export interface ScenarioChange extends ScenarioChoice {
  readonly sense: SenseFormat | undefined;
}

export function parseSimSpec(spec: string): SimSpec {
  if (!spec.startsWith(PREFIX)) throw new SimSpecError(`not a sim device spec: ${quote(spec)} (expected sim:<scenario>[?key=value&...])`);
  const { choice, values } = parseScenarioText(spec.slice(PREFIX.length), true);
  return {
    ...choice,
    id: (values.get('id') as string | undefined) ?? DEVICE_PARAMS.id.default,
    blocks: (values.get('blocks') as number | undefined) ?? DEVICE_PARAMS.blocks.default,
    sense: ((values.get('sense') as string | undefined) ?? DEVICE_PARAMS.sense.default) as SenseFormat,
  };
}

/** Parse a run-time scenario change: a spec without `sim:` whose fixed parameters (id, blocks) may not be given. */
export function parseScenarioChange(text: string): ScenarioChange {
  const { choice, values } = parseScenarioText(text, false);
  return { ...choice, sense: values.get('sense') as SenseFormat | undefined };
}

function parseScenarioText(text: string, fixedAllowed: boolean): { choice: ScenarioChoice; values: Map<string, number | string> } {
  const q = text.indexOf('?');
  const name = q < 0 ? text : text.slice(0, q);
  const scenario = scenarioByName(name);
  const fail = (problem: string) => new SimSpecError(`sim scenario ${quote(name)}: ${problem}`);
  const allowed = [...DEVICE_PARAM_LIST, ...scenario.params].filter((p) => fixedAllowed || !p.fixed);
  const values = new Map<string, number | string>();
  for (const pair of q < 0 ? [] : text.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw fail(`malformed parameter ${quote(pair)} (expected key=value)`);
    const key = pair.slice(0, eq);
    const param = allowed.find((p) => p.name === key);
    if (param === undefined) {
      if (DEVICE_PARAM_LIST.some((p) => p.name === key)) throw fail(`parameter ${quote(key)} cannot change on a running device`);
      throw fail(`unknown parameter ${quote(key)} (allowed: ${allowed.map((p) => p.name).join(', ')})`);
    }
    if (values.has(key)) throw fail(`parameter ${quote(key)} given twice`);
    values.set(key, parseParam(name, param, pair.slice(eq + 1)));
  }
  const params = scenario.params.map((p) => (values.get(p.name) as number | undefined) ?? p.default);
  return { choice: { scenario, params }, values };
}
