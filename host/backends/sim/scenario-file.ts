/*
 * The scenario file format (scenarios.json, described in its own `about`): compiled types and validation.
 * Shared with the Python rig, so everything is checked here rather than trusted.
 */
import { boolean, field, hexByte, integer, list, member, object, onlyKeys, shown, string } from './json-fields.js';
import { SENSE_FORMATS, type SenseData } from '../sense-bytes.js';
import { COMMAND_NAMES, PAGED, pageKey, type CommandName } from './command-kind.js';

/** Every integer a device keeps lives in an Int32Array cell of its shared state. */
export const INT_MAX = 0x7fffffff;
/** The shared state has this many parameter cells; a scenario may declare no more parameters. */
export const MAX_SCENARIO_PARAMS = 4;
/** Programs a scenario may have (its default one and its per-command ones): each has a counter in the shared state. */
export const MAX_PROGRAMS = 16;
/** Data-in one answer may carry: one sg transfer. */
const MAX_DATA = 65536;
/** Sense bytes an answer may carry: what a device's command slot keeps. */
const MAX_SENSE = 96;
const FORMAT = 'pathcheck-sim-scenarios/2';
/** Names that appear in specs: no '?', '&' or '=' so a spec always splits one way. */
const NAME = /^[a-z][a-z0-9-]*$/;

interface ParamBase {
  readonly name: string;
  readonly description: string;
  /** Part of the device's identity or geometry: set by its spec, kept by a scenario change. */
  readonly fixed: boolean;
}
export interface IntegerParam extends ParamBase { readonly type: 'integer'; readonly min: number; readonly default: number }
export interface TextParam extends ParamBase { readonly type: 'text'; readonly default: string }
export interface ChoiceParam extends ParamBase { readonly type: 'choice'; readonly choices: readonly string[]; readonly default: string }
export type ParamSpec = IntegerParam | TextParam | ChoiceParam;

/** An integer in a program: a literal, or scenario parameter number `slot` (declaration order). */
export type Quantity = { readonly value: number } | { readonly slot: number };

export interface Answer {
  readonly kind: 'answer';
  readonly status: number;
  readonly hostStatus: number;
  readonly sense: SenseData | null;
  /** Index into SENSE_FORMATS, or null for the device's `sense` parameter. */
  readonly senseFormat: number | null;
  /** Sense bytes sent, cut or zero-filled to this length; null for the format's own length. */
  readonly senseLength: number | null;
  /** Data-in of a GOOD answer; null for the device's own (standard INQUIRY, capacity, block contents). */
  readonly data: Uint8Array | null;
  readonly latency: Quantity;
  /** What a plain read gets when this answer is not GOOD/DID_OK. */
  readonly readErrno: number;
}
export type Response = Answer | { readonly kind: 'fail'; readonly errno: number; readonly latency: Quantity } | { readonly kind: 'hang'; readonly hard: boolean };

export type Program =
  | { readonly kind: 'repeat'; readonly response: Response }
  | { readonly kind: 'sequence'; readonly responses: readonly Response[] }
  | { readonly kind: 'alternate'; readonly responses: readonly Response[]; readonly every: Quantity };

export interface Scenario {
  readonly name: string;
  /** Position in the file; what the shared device state stores. */
  readonly index: number;
  readonly description: string;
  readonly params: readonly IntegerParam[];
  /** programs[0] answers every command no other program is keyed for. */
  readonly programs: readonly Program[];
  /** Program index by command key (`INQUIRY VPD`, `INQUIRY VPD 0xC9`, ...). */
  readonly commands: ReadonlyMap<string, number>;
}

/** The SCSI and errno values the device code itself needs, taken from the file's name tables. */
export interface Codes {
  readonly GOOD: number;
  readonly CHECK_CONDITION: number;
  readonly DID_OK: number;
  readonly ILLEGAL_REQUEST: number;
  readonly EIO: number;
  readonly EINVAL: number;
  readonly ETIMEDOUT: number;
}

export interface ScenarioFile {
  readonly codes: Codes;
  readonly deviceParams: { readonly id: TextParam; readonly sense: ChoiceParam; readonly blocks: IntegerParam };
  readonly scenarios: readonly Scenario[];
}

type Names = ReadonlyMap<string, number>;
interface Tables {
  readonly status: Names;
  readonly hostStatus: Names;
  readonly senseKey: Names;
  readonly errno: Names;
}

/** Validate a scenario document (the shape of scenarios.json); throws naming the JSON path at fault. */
export function compileScenarioFile(doc: unknown): ScenarioFile {
  const o = object(doc, '$');
  onlyKeys(o, '$', ['format', 'about', 'names', 'deviceParams', 'scenarios']);
  if (o.format !== FORMAT) throw new Error(`$.format: must be '${FORMAT}'`);
  list(field(o, '$', 'about'), '$.about', 0).forEach((line, i) => string(line, `$.about[${i}]`));
  const tables = compileNames(field(o, '$', 'names'));
  const codes: Codes = {
    GOOD: required(tables.status, 'status', 'GOOD'),
    CHECK_CONDITION: required(tables.status, 'status', 'CHECK_CONDITION'),
    DID_OK: required(tables.hostStatus, 'hostStatus', 'DID_OK'),
    ILLEGAL_REQUEST: required(tables.senseKey, 'senseKey', 'ILLEGAL_REQUEST'),
    EIO: required(tables.errno, 'errno', 'EIO'),
    EINVAL: required(tables.errno, 'errno', 'EINVAL'),
    ETIMEDOUT: required(tables.errno, 'errno', 'ETIMEDOUT'),
  };
  const deviceParams = compileDeviceParams(field(o, '$', 'deviceParams'));
  const entries = Object.entries(object(field(o, '$', 'scenarios'), '$.scenarios'));
  if (entries.length === 0) throw new Error('$.scenarios: must name at least one scenario');
  const scenarios = entries.map(([name, v], index) => {
    const path = member('$.scenarios', name);
    if (!NAME.test(name)) throw new Error(`${path}: a scenario name must match ${NAME}`);
    return compileScenario(name, index, v, path, tables, codes, deviceParams);
  });
  return { codes, deviceParams, scenarios };
}

function compileNames(v: unknown): Tables {
  const o = object(v, '$.names');
  onlyKeys(o, '$.names', ['status', 'hostStatus', 'senseKey', 'errno']);
  const table = (key: string, max: number): Names => {
    const path = `$.names.${key}`;
    const entries = Object.entries(object(field(o, '$.names', key), path));
    return new Map(entries.map(([name, n]) => [name, integer(n, member(path, name), 0, max)]));
  };
  return { status: table('status', 0xff), hostStatus: table('hostStatus', 0xff), senseKey: table('senseKey', 0x0f), errno: table('errno', 0xffff) };
}

function required(table: Names, key: string, name: string): number {
  const n = table.get(name);
  if (n === undefined) throw new Error(`$.names.${key}: must define ${name}`);
  return n;
}

function named(table: Names, v: unknown, path: string): number {
  const name = string(v, path);
  const n = table.get(name);
  if (n === undefined) throw new Error(`${path}: unknown name '${shown(name)}' (known: ${[...table.keys()].map(shown).join(', ')})`);
  return n;
}

function compileParam(name: string, v: unknown, path: string, allowFixed: boolean): ParamSpec {
  if (!NAME.test(name)) throw new Error(`${path}: a parameter name must match ${NAME}`);
  const o = object(v, path);
  const type = string(field(o, path, 'type'), `${path}.type`);
  const common = ['type', 'description', ...(allowFixed ? ['fixed'] : [])];
  const description = string(field(o, path, 'description'), `${path}.description`);
  const fixed = allowFixed && boolean(field(o, path, 'fixed'), `${path}.fixed`);
  switch (type) {
    case 'integer': {
      onlyKeys(o, path, [...common, 'min', 'default']);
      const min = integer(field(o, path, 'min'), `${path}.min`, 0, INT_MAX);
      return { type, name, description, fixed, min, default: integer(field(o, path, 'default'), `${path}.default`, min, INT_MAX) };
    }
    case 'text':
      onlyKeys(o, path, [...common, 'default']);
      return { type, name, description, fixed, default: string(field(o, path, 'default'), `${path}.default`) };
    case 'choice': {
      onlyKeys(o, path, [...common, 'choices', 'default']);
      const choices = list(field(o, path, 'choices'), `${path}.choices`, 1).map((c, i) => string(c, `${path}.choices[${i}]`));
      const def = string(field(o, path, 'default'), `${path}.default`);
      if (!choices.includes(def)) throw new Error(`${path}.default: must be one of ${choices.map(shown).join(', ')}`);
      return { type, name, description, fixed, choices, default: def };
    }
    default:
      throw new Error(`${path}.type: must be integer, text or choice`);
  }
}

/** The device parameters have meaning in code, so their names and types are checked, not just their shape. */
function compileDeviceParams(v: unknown): ScenarioFile['deviceParams'] {
  const path = '$.deviceParams';
  const o = object(v, path);
  onlyKeys(o, path, ['id', 'sense', 'blocks']);
  const get = (name: string): ParamSpec => compileParam(name, field(o, path, name), member(path, name), true);
  const id = get('id');
  const sense = get('sense');
  const blocks = get('blocks');
  if (id.type !== 'text') throw new Error(`${path}.id: must be of type text`);
  if (sense.type !== 'choice' || sense.choices.length !== SENSE_FORMATS.length || sense.choices.some((c, i) => c !== SENSE_FORMATS[i])) {
    throw new Error(`${path}.sense: must be a choice of ${SENSE_FORMATS.join(', ')}`);
  }
  if (blocks.type !== 'integer' || blocks.min < 1) throw new Error(`${path}.blocks: must be of type integer with min >= 1`);
  return { id, sense, blocks };
}

/** What compiling one scenario's program needs to know about its parameters. */
interface ProgramScope {
  readonly tables: Tables;
  readonly codes: Codes;
  readonly params: readonly IntegerParam[];
  readonly used: Set<string>;
}

function compileScenario(
  name: string,
  index: number,
  v: unknown,
  path: string,
  tables: Tables,
  codes: Codes,
  deviceParams: ScenarioFile['deviceParams'],
): Scenario {
  const o = object(v, path);
  onlyKeys(o, path, ['description', 'params', 'program', 'commands']);
  const description = string(field(o, path, 'description'), `${path}.description`);
  const params = Object.entries(object(field(o, path, 'params'), `${path}.params`)).map(([p, pv]) => {
    const ppath = member(`${path}.params`, p);
    if (Object.hasOwn(deviceParams, p)) throw new Error(`${ppath}: '${p}' is a device parameter`);
    const spec = compileParam(p, pv, ppath, false);
    if (spec.type !== 'integer') throw new Error(`${ppath}.type: scenario parameters must be integers`);
    return spec;
  });
  if (params.length > MAX_SCENARIO_PARAMS) throw new Error(`${path}.params: at most ${MAX_SCENARIO_PARAMS} parameters`);
  const scope: ProgramScope = { tables, codes, params, used: new Set() };
  const programs = [compileProgram(field(o, path, 'program'), `${path}.program`, scope)];
  const commands = new Map<string, number>();
  if (o.commands !== undefined) {
    const cpath = `${path}.commands`;
    for (const [key, pv] of Object.entries(object(o.commands, cpath))) {
      const kpath = member(cpath, key);
      const k = commandKey(key, kpath);
      if (commands.has(k)) throw new Error(`${kpath}: the same command as an earlier key (${k})`);
      commands.set(k, programs.length);
      programs.push(compileProgram(pv, kpath, scope));
    }
    if (programs.length > MAX_PROGRAMS) throw new Error(`${cpath}: at most ${MAX_PROGRAMS - 1} commands`);
  }
  const unused = params.find((p) => !scope.used.has(p.name));
  if (unused) throw new Error(`${member(`${path}.params`, unused.name)}: declared but never used by the program`);
  return { name, index, description, params, programs, commands };
}

/** `NAME` or, for a paged command, `NAME 0xPP`; returned in the one spelling lookups use. */
function commandKey(key: string, path: string): string {
  const known = `(known: ${COMMAND_NAMES.join(', ')}; ${PAGED.join(', ')} may add a page, e.g. 'INQUIRY VPD 0xC9')`;
  if ((COMMAND_NAMES as readonly string[]).includes(key)) return key;
  const m = /^(.*) 0x([0-9A-Fa-f]{2})$/.exec(key);
  if (m === null || !PAGED.includes(m[1] as CommandName)) throw new Error(`${path}: unknown command ${known}`);
  const page = parseInt(m[2]!, 16);
  // A MODE SENSE CDB has 6 bits of page code: a key past them could never answer.
  if (m[1] !== 'INQUIRY VPD' && page > 0x3f) throw new Error(`${path}: a mode page is at most 0x3F`);
  return pageKey(m[1] as CommandName, page);
}

function compileProgram(v: unknown, path: string, scope: ProgramScope): Program {
  const o = object(v, path);
  const forms = ['repeat', 'sequence', 'alternate'].filter((k) => k in o);
  if (forms.length !== 1) throw new Error(`${path}: must have exactly one of repeat, sequence, alternate`);
  const responses = (key: string, min: number): Response[] =>
    list(o[key], `${path}.${key}`, min).map((r, i) => compileResponse(r, `${path}.${key}[${i}]`, scope));
  switch (forms[0]) {
    case 'repeat':
      onlyKeys(o, path, ['repeat']);
      return { kind: 'repeat', response: compileResponse(o.repeat, `${path}.repeat`, scope) };
    case 'sequence':
      onlyKeys(o, path, ['sequence']);
      return { kind: 'sequence', responses: responses('sequence', 1) };
    default:
      onlyKeys(o, path, ['alternate', 'every']);
      return { kind: 'alternate', responses: responses('alternate', 2), every: quantity(field(o, path, 'every'), `${path}.every`, 1, scope) };
  }
}

function compileResponse(v: unknown, path: string, scope: ProgramScope): Response {
  const o = object(v, path);
  const { tables, codes } = scope;
  const latency = (): Quantity => (o.latency === undefined ? { value: 0 } : quantity(o.latency, `${path}.latency`, 0, scope));
  if ('hang' in o) {
    onlyKeys(o, path, ['hang']);
    if (o.hang !== true && o.hang !== 'hard') throw new Error(`${path}.hang: must be true or "hard"`);
    return { kind: 'hang', hard: o.hang === 'hard' };
  }
  if ('errno' in o) {
    onlyKeys(o, path, ['errno', 'latency']);
    return { kind: 'fail', errno: named(tables.errno, o.errno, `${path}.errno`), latency: latency() };
  }
  onlyKeys(o, path, ['status', 'sense', 'hostStatus', 'data', 'latency', 'readErrno']);
  const status = named(tables.status, field(o, path, 'status'), `${path}.status`);
  const hostStatus = o.hostStatus === undefined ? codes.DID_OK : named(tables.hostStatus, o.hostStatus, `${path}.hostStatus`);
  let sense: CompiledSense = { sense: null, senseFormat: null, senseLength: null };
  if (o.sense !== undefined) {
    if (status !== codes.CHECK_CONDITION) throw new Error(`${path}.sense: only a CHECK_CONDITION carries sense`);
    sense = compileSense(o.sense, `${path}.sense`, tables);
  }
  const good = status === codes.GOOD && hostStatus === codes.DID_OK;
  if (good && o.readErrno !== undefined) throw new Error(`${path}.readErrno: a GOOD answer reads data, never an errno`);
  if (!good && o.data !== undefined) throw new Error(`${path}.data: only a GOOD answer with DID_OK carries data`);
  const data = o.data === undefined ? null : compileData(o.data, `${path}.data`);
  const readErrno = o.readErrno === undefined ? codes.EIO : named(tables.errno, o.readErrno, `${path}.readErrno`);
  return { kind: 'answer', status, hostStatus, ...sense, data, latency: latency(), readErrno };
}

type CompiledSense = Pick<Answer, 'sense' | 'senseFormat' | 'senseLength'>;

function compileSense(v: unknown, path: string, tables: Tables): CompiledSense {
  const o = object(v, path);
  onlyKeys(o, path, ['key', 'asc', 'ascq', 'format', 'length']);
  let senseFormat: number | null = null;
  if (o.format !== undefined) {
    senseFormat = SENSE_FORMATS.indexOf(string(o.format, `${path}.format`) as (typeof SENSE_FORMATS)[number]);
    if (senseFormat < 0) throw new Error(`${path}.format: must be one of ${SENSE_FORMATS.join(', ')}`);
  }
  return {
    sense: {
      key: named(tables.senseKey, field(o, path, 'key'), `${path}.key`),
      asc: hexByte(field(o, path, 'asc'), `${path}.asc`),
      ascq: hexByte(field(o, path, 'ascq'), `${path}.ascq`),
    },
    senseFormat,
    senseLength: o.length === undefined ? null : integer(o.length, `${path}.length`, 0, MAX_SENSE),
  };
}

/**
 * Data-in, as a list of pieces: a string of hex byte pairs (spaces between bytes allowed),
 * {ascii: text, width?: n} (printable ASCII, space-padded to n), or {zeros: n}.
 */
function compileData(v: unknown, path: string): Uint8Array {
  const bytes: number[] = [];
  list(v, path, 1).forEach((piece, i) => {
    const ppath = `${path}[${i}]`;
    if (typeof piece === 'string') {
      const hex = piece.replace(/ /g, '');
      if (!/^([0-9A-Fa-f]{2})*$/.test(hex)) throw new Error(`${ppath}: must be hex byte pairs, e.g. '00 c9 00 2c'`);
      for (let k = 0; k < hex.length; k += 2) bytes.push(parseInt(hex.slice(k, k + 2), 16));
    } else {
      const o = object(piece, ppath);
      if ('zeros' in o) {
        onlyKeys(o, ppath, ['zeros']);
        for (let n = integer(o.zeros, `${ppath}.zeros`, 1, MAX_DATA); n > 0; n--) bytes.push(0);
      } else {
        onlyKeys(o, ppath, ['ascii', 'width']);
        const text = string(field(o, ppath, 'ascii'), `${ppath}.ascii`);
        if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`${ppath}.ascii: must be printable ASCII`);
        const width = o.width === undefined ? text.length : integer(o.width, `${ppath}.width`, text.length, MAX_DATA);
        for (const c of text.padEnd(width, ' ')) bytes.push(c.charCodeAt(0));
      }
    }
    if (bytes.length > MAX_DATA) throw new Error(`${path}: more than ${MAX_DATA} bytes`);
  });
  return Uint8Array.from(bytes);
}

function quantity(v: unknown, path: string, min: number, scope: ProgramScope): Quantity {
  if (typeof v === 'number') return { value: integer(v, path, min, INT_MAX) };
  const o = object(v, path);
  onlyKeys(o, path, ['param']);
  const name = string(field(o, path, 'param'), `${path}.param`);
  const slot = scope.params.findIndex((p) => p.name === name);
  if (slot < 0) throw new Error(`${path}.param: '${shown(name)}' is not a parameter of this scenario`);
  if (scope.params[slot]!.min < min) throw new Error(`${path}.param: '${shown(name)}' must have min >= ${min} here`);
  scope.used.add(name);
  return { slot };
}
