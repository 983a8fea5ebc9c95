"""
host/backends/sim/scenarios.json, compiled: the rig defines no scenario of its own. Name tables
(status, hostStatus, senseKey, errno) come from the file's `names`; programs are repeat / sequence /
alternate; integers in a program may be {param: name}. The file's own `about` describes the format.
Malformed input raises ValueError naming the JSON path at fault.
"""
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .sense_bytes import SENSE_FORMATS, SenseData

FORMAT = 'pathcheck-sim-scenarios/1'
INT_MAX = 0x7FFFFFFF
MAX_SCENARIO_PARAMS = 4
NAME = re.compile(r'^[a-z][a-z0-9-]*$')
DEFAULT_PATH = os.path.normpath(os.path.join(os.path.dirname(os.path.realpath(__file__)), '..', '..', 'host', 'backends', 'sim', 'scenarios.json'))


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # 'integer' | 'text' | 'choice'
    default: Union[int, str]
    fixed: bool = False
    min: int = 0
    choices: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Literal:
    value: int


@dataclass(frozen=True)
class ParamRef:
    #: The parameter's position among the scenario's parameters.
    slot: int


Quantity = Union[Literal, ParamRef]


@dataclass(frozen=True)
class Answer:
    status: int
    host_status: int
    sense: Optional[SenseData]
    latency: Quantity
    #: What a plain read gets when this answer is not GOOD with DID_OK.
    read_errno: int


@dataclass(frozen=True)
class Fail:
    errno: int
    latency: Quantity


@dataclass(frozen=True)
class Hang:
    hard: bool


Response = Union[Answer, Fail, Hang]


@dataclass(frozen=True)
class Program:
    kind: str  # 'repeat' | 'sequence' | 'alternate'
    responses: Tuple[Response, ...]
    every: Quantity = Literal(1)


@dataclass(frozen=True)
class Scenario:
    name: str
    index: int
    description: str
    params: Tuple[Param, ...]
    program: Program


@dataclass(frozen=True)
class Codes:
    GOOD: int
    CHECK_CONDITION: int
    DID_OK: int
    ILLEGAL_REQUEST: int
    EIO: int
    EINVAL: int
    ETIMEDOUT: int


@dataclass(frozen=True)
class ScenarioFile:
    codes: Codes
    device_params: Dict[str, Param]
    scenarios: Tuple[Scenario, ...]

    def by_name(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        known = ', '.join(s.name for s in self.scenarios)
        raise ValueError(f"unknown sim scenario '{name}' (known: {known})")


def load_scenario_file(path: str = DEFAULT_PATH) -> ScenarioFile:
    with open(path, encoding='utf-8') as f:
        doc = json.load(f)
    try:
        return compile_scenario_file(doc)
    except ValueError as e:
        raise ValueError(f'invalid {path}: {e}') from None


# -- typed reads of the document --------------------------------------------------------------------

def _object(v: Any, path: str) -> Dict[str, Any]:
    if not isinstance(v, dict):
        raise ValueError(f'{path}: must be an object')
    return v


def _field(o: Dict[str, Any], path: str, key: str) -> Any:
    if key not in o:
        raise ValueError(f"{path}: missing '{key}'")
    return o[key]


def _only_keys(o: Dict[str, Any], path: str, allowed: Sequence[str]) -> None:
    for key in o:
        if key not in allowed:
            raise ValueError(f"{path}.{key}: unknown key (allowed: {', '.join(allowed)})")


def _string(v: Any, path: str) -> str:
    if not isinstance(v, str):
        raise ValueError(f'{path}: must be a string')
    return v


def _integer(v: Any, path: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f'{path}: must be an integer from {lo} to {hi}')
    return v


def _list(v: Any, path: str, min_length: int) -> List[Any]:
    if not isinstance(v, list) or len(v) < min_length:
        raise ValueError(f'{path}: must be a list of at least {min_length}')
    return v


def _hex_byte(v: Any, path: str) -> int:
    if not isinstance(v, str) or not re.fullmatch(r'0x[0-9A-Fa-f]{2}', v):
        raise ValueError(f"{path}: must be a byte written '0xNN'")
    return int(v[2:], 16)


# -- compilation ----------------------------------------------------------------------------------

Tables = Dict[str, Dict[str, int]]


def compile_scenario_file(doc: Any) -> ScenarioFile:
    o = _object(doc, '$')
    _only_keys(o, '$', ['format', 'about', 'names', 'deviceParams', 'scenarios'])
    if o.get('format') != FORMAT:
        raise ValueError(f"$.format: must be '{FORMAT}'")
    tables = _compile_names(_field(o, '$', 'names'))

    def required(table: str, name: str) -> int:
        if name not in tables[table]:
            raise ValueError(f'$.names.{table}: must define {name}')
        return tables[table][name]

    codes = Codes(
        GOOD=required('status', 'GOOD'),
        CHECK_CONDITION=required('status', 'CHECK_CONDITION'),
        DID_OK=required('hostStatus', 'DID_OK'),
        ILLEGAL_REQUEST=required('senseKey', 'ILLEGAL_REQUEST'),
        EIO=required('errno', 'EIO'),
        EINVAL=required('errno', 'EINVAL'),
        ETIMEDOUT=required('errno', 'ETIMEDOUT'),
    )
    device_params = _compile_device_params(_field(o, '$', 'deviceParams'))
    entries = list(_object(_field(o, '$', 'scenarios'), '$.scenarios').items())
    if not entries:
        raise ValueError('$.scenarios: must name at least one scenario')
    scenarios = []
    for index, (name, v) in enumerate(entries):
        path = f'$.scenarios.{name}'
        if not NAME.match(name):
            raise ValueError(f'{path}: a scenario name must match {NAME.pattern}')
        scenarios.append(_compile_scenario(name, index, v, path, tables, codes, device_params))
    return ScenarioFile(codes, device_params, tuple(scenarios))


def _compile_names(v: Any) -> Tables:
    o = _object(v, '$.names')
    _only_keys(o, '$.names', ['status', 'hostStatus', 'senseKey', 'errno'])
    limits = {'status': 0xFF, 'hostStatus': 0xFF, 'senseKey': 0x0F, 'errno': 0xFFFF}
    tables: Tables = {}
    for key, hi in limits.items():
        path = f'$.names.{key}'
        t = _object(_field(o, '$.names', key), path)
        tables[key] = {name: _integer(n, f'{path}.{name}', 0, hi) for name, n in t.items()}
    return tables


def _named(tables: Tables, table: str, v: Any, path: str) -> int:
    name = _string(v, path)
    if name not in tables[table]:
        raise ValueError(f"{path}: unknown name '{name}' (known: {', '.join(tables[table])})")
    return tables[table][name]


def _compile_param(name: str, v: Any, path: str, allow_fixed: bool) -> Param:
    if not NAME.match(name):
        raise ValueError(f'{path}: a parameter name must match {NAME.pattern}')
    o = _object(v, path)
    kind = _string(_field(o, path, 'type'), f'{path}.type')
    common = ['type', 'description'] + (['fixed'] if allow_fixed else [])
    _string(_field(o, path, 'description'), f'{path}.description')
    fixed = False
    if allow_fixed:
        fixed = _field(o, path, 'fixed')
        if not isinstance(fixed, bool):
            raise ValueError(f'{path}.fixed: must be true or false')
    if kind == 'integer':
        _only_keys(o, path, common + ['min', 'default'])
        lo = _integer(_field(o, path, 'min'), f'{path}.min', 0, INT_MAX)
        return Param(name, kind, _integer(_field(o, path, 'default'), f'{path}.default', lo, INT_MAX), fixed, min=lo)
    if kind == 'text':
        _only_keys(o, path, common + ['default'])
        return Param(name, kind, _string(_field(o, path, 'default'), f'{path}.default'), fixed)
    if kind == 'choice':
        _only_keys(o, path, common + ['choices', 'default'])
        choices = tuple(_string(c, f'{path}.choices[{i}]') for i, c in enumerate(_list(_field(o, path, 'choices'), f'{path}.choices', 1)))
        default = _string(_field(o, path, 'default'), f'{path}.default')
        if default not in choices:
            raise ValueError(f"{path}.default: must be one of {', '.join(choices)}")
        return Param(name, kind, default, fixed, choices=choices)
    raise ValueError(f'{path}.type: must be integer, text or choice')


def _compile_device_params(v: Any) -> Dict[str, Param]:
    path = '$.deviceParams'
    o = _object(v, path)
    _only_keys(o, path, ['id', 'sense', 'blocks'])
    params = {name: _compile_param(name, _field(o, path, name), f'{path}.{name}', True) for name in ('id', 'sense', 'blocks')}
    if params['id'].type != 'text':
        raise ValueError(f'{path}.id: must be of type text')
    if params['sense'].type != 'choice' or params['sense'].choices != SENSE_FORMATS:
        raise ValueError(f"{path}.sense: must be a choice of {', '.join(SENSE_FORMATS)}")
    if params['blocks'].type != 'integer' or params['blocks'].min < 1:
        raise ValueError(f'{path}.blocks: must be an integer with min >= 1')
    return params


class _Scope:
    def __init__(self, tables: Tables, codes: Codes, params: Sequence[Param]):
        self.tables = tables
        self.codes = codes
        self.params = params
        self.used: set = set()


def _compile_scenario(name: str, index: int, v: Any, path: str, tables: Tables, codes: Codes, device_params: Dict[str, Param]) -> Scenario:
    o = _object(v, path)
    _only_keys(o, path, ['description', 'params', 'program'])
    description = _string(_field(o, path, 'description'), f'{path}.description')
    params = []
    for pname, pv in _object(_field(o, path, 'params'), f'{path}.params').items():
        ppath = f'{path}.params.{pname}'
        if pname in device_params:
            raise ValueError(f"{ppath}: '{pname}' is a device parameter")
        p = _compile_param(pname, pv, ppath, False)
        if p.type != 'integer':
            raise ValueError(f'{ppath}.type: scenario parameters are integers')
        params.append(p)
    if len(params) > MAX_SCENARIO_PARAMS:
        raise ValueError(f'{path}.params: at most {MAX_SCENARIO_PARAMS} parameters')
    scope = _Scope(tables, codes, params)
    program = _compile_program(_field(o, path, 'program'), f'{path}.program', scope)
    for p in params:
        if p.name not in scope.used:
            raise ValueError(f'{path}.params.{p.name}: declared but never used by the program')
    return Scenario(name, index, description, tuple(params), program)


def _compile_program(v: Any, path: str, scope: _Scope) -> Program:
    o = _object(v, path)
    forms = [k for k in ('repeat', 'sequence', 'alternate') if k in o]
    if len(forms) != 1:
        raise ValueError(f'{path}: must have exactly one of repeat, sequence, alternate')

    def responses(key: str, min_length: int) -> Tuple[Response, ...]:
        return tuple(_compile_response(r, f'{path}.{key}[{i}]', scope) for i, r in enumerate(_list(o[key], f'{path}.{key}', min_length)))

    if forms[0] == 'repeat':
        _only_keys(o, path, ['repeat'])
        return Program('repeat', (_compile_response(o['repeat'], f'{path}.repeat', scope),))
    if forms[0] == 'sequence':
        _only_keys(o, path, ['sequence'])
        return Program('sequence', responses('sequence', 1))
    _only_keys(o, path, ['alternate', 'every'])
    return Program('alternate', responses('alternate', 2), _quantity(_field(o, path, 'every'), f'{path}.every', 1, scope))


def _compile_response(v: Any, path: str, scope: _Scope) -> Response:
    o = _object(v, path)
    tables, codes = scope.tables, scope.codes

    def latency() -> Quantity:
        return Literal(0) if 'latency' not in o else _quantity(o['latency'], f'{path}.latency', 0, scope)

    if 'hang' in o:
        _only_keys(o, path, ['hang'])
        if o['hang'] is not True and o['hang'] != 'hard':
            raise ValueError(f'{path}.hang: must be true or "hard"')
        return Hang(o['hang'] == 'hard')
    if 'errno' in o:
        _only_keys(o, path, ['errno', 'latency'])
        return Fail(_named(tables, 'errno', o['errno'], f'{path}.errno'), latency())
    _only_keys(o, path, ['status', 'sense', 'hostStatus', 'latency', 'readErrno'])
    status = _named(tables, 'status', _field(o, path, 'status'), f'{path}.status')
    host = codes.DID_OK if 'hostStatus' not in o else _named(tables, 'hostStatus', o['hostStatus'], f'{path}.hostStatus')
    sense = None
    if 'sense' in o:
        if status != codes.CHECK_CONDITION:
            raise ValueError(f'{path}.sense: only a CHECK_CONDITION carries sense')
        s = _object(o['sense'], f'{path}.sense')
        _only_keys(s, f'{path}.sense', ['key', 'asc', 'ascq'])
        sense = SenseData(
            key=_named(tables, 'senseKey', _field(s, f'{path}.sense', 'key'), f'{path}.sense.key'),
            asc=_hex_byte(_field(s, f'{path}.sense', 'asc'), f'{path}.sense.asc'),
            ascq=_hex_byte(_field(s, f'{path}.sense', 'ascq'), f'{path}.sense.ascq'),
        )
    good = status == codes.GOOD and host == codes.DID_OK
    if good and 'readErrno' in o:
        raise ValueError(f'{path}.readErrno: a GOOD answer reads data, never an errno')
    read_errno = codes.EIO if 'readErrno' not in o else _named(tables, 'errno', o['readErrno'], f'{path}.readErrno')
    return Answer(status, host, sense, latency(), read_errno)


def _quantity(v: Any, path: str, lo: int, scope: _Scope) -> Quantity:
    if isinstance(v, int) and not isinstance(v, bool):
        return Literal(_integer(v, path, lo, INT_MAX))
    o = _object(v, path)
    _only_keys(o, path, ['param'])
    name = _string(_field(o, path, 'param'), f'{path}.param')
    slot = next((i for i, p in enumerate(scope.params) if p.name == name), -1)
    if slot < 0:
        raise ValueError(f"{path}.param: '{name}' is not a parameter of this scenario")
    if scope.params[slot].min < lo:
        raise ValueError(f"{path}.param: '{name}' must have min >= {lo} here")
    scope.used.add(name)
    return ParamRef(slot)
