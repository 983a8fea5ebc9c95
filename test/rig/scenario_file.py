"""
host/backends/sim/scenarios.json, compiled as host/backends/sim/scenario-file.ts does: the rig defines
no scenario of its own. Format 'pathcheck-sim-scenarios/2'. Name tables (status, hostStatus, senseKey,
errno) come from the file's `names`; a scenario has a default `program` and, in `commands`, programs
keyed by command (command_kind: `NAME`, or `NAME 0xPP` for a paged one); programs are repeat /
sequence / alternate; integers in a program may be {param: name}. An answer may carry data-in (`data`:
hex byte pairs, {ascii, width?}, {zeros}) and its sense its own `format` and `length`. The file's own
`about` describes the format.

Malformed input raises ValueError naming the JSON path at fault, with the Node host's text: keys are
visited in the order JavaScript gives them (integer-like keys first), integral numbers such as 1.0
count as integers, and control characters in the document's text are shown escaped.
"""
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .command_kind import COMMAND_NAMES, PAGED, page_key
from .sense_bytes import SENSE_FORMATS, SenseData

FORMAT = 'pathcheck-sim-scenarios/2'
#: Every integer a device keeps fits an Int32Array cell of the Node host's shared state.
INT_MAX = 0x7FFFFFFF
#: The Node host's shared state has this many parameter cells.
MAX_SCENARIO_PARAMS = 4
#: Programs a scenario may have (its default one and its per-command ones): each has a counter.
MAX_PROGRAMS = 16
#: Data-in one answer may carry: one sg transfer.
MAX_DATA = 65536
#: Sense bytes an answer may carry: what the Node host's command slot keeps.
MAX_SENSE = 96
#: Names that appear in specs: no '?', '&' or '=' so a spec always splits one way.
NAME = re.compile(r'[a-z][a-z0-9-]*')
#: NAME as the Node host's messages write it (a JavaScript regular expression literal).
NAME_TEXT = '/^[a-z][a-z0-9-]*$/'
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
    #: The sense format's name (SENSE_FORMATS), or None for the device's `sense` parameter.
    sense_format: Optional[str] = None
    #: Sense bytes sent, cut or zero-filled to this length; None for the format's own length.
    sense_length: Optional[int] = None
    #: Data-in of a GOOD answer; None for the device's own (standard INQUIRY, capacity, block contents...).
    data: Optional[bytes] = None


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
    #: programs[0] answers every command no other program is keyed for.
    programs: Tuple[Program, ...]
    #: Program index by command key (`INQUIRY VPD`, `INQUIRY VPD 0xC9`, ...).
    commands: Mapping[str, int] = field(default_factory=dict, hash=False)


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
        raise ValueError(f"unknown sim scenario '{shown(name)}' (known: {known})")


def load_scenario_file(path: str = DEFAULT_PATH) -> ScenarioFile:
    with open(path, encoding='utf-8') as f:
        doc = json.load(f)
    try:
        return compile_scenario_file(doc)
    except ValueError as e:
        raise ValueError(f'invalid {path}: {e}') from None


# -- typed reads of the document (host/backends/sim/json-fields.ts) ----------------------------------

_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def shown(text: str) -> str:
    """A document's text in a message: control characters (line breaks too) shown escaped."""
    return _CONTROL.sub(lambda m: f'\\x{ord(m.group()):02x}', text)


def _member(path: str, key: str) -> str:
    """The path of member `key` of the object at `path`: a key from the document never breaks the line."""
    return f'{path}.{shown(key)}'


def _is_index(key: str) -> bool:
    """A key JavaScript orders before all others, ascending: a canonical integer from 0 to 2^32 - 2."""
    return key.isascii() and key.isdigit() and str(int(key)) == key and int(key) < 0xFFFFFFFF


def _keys(o: Dict[str, Any]) -> List[str]:
    """An object's keys in the order Object.keys gives them: integer-like keys first, ascending, then the rest in document order."""
    return sorted((k for k in o if _is_index(k)), key=int) + [k for k in o if not _is_index(k)]


def _entries(o: Dict[str, Any]) -> List[Tuple[str, Any]]:
    return [(k, o[k]) for k in _keys(o)]


def _object(v: Any, path: str) -> Dict[str, Any]:
    if not isinstance(v, dict):
        raise ValueError(f'{path}: must be an object')
    return v


def _field(o: Dict[str, Any], path: str, key: str) -> Any:
    if key not in o:
        raise ValueError(f"{path}: missing '{key}'")
    return o[key]


def _only_keys(o: Dict[str, Any], path: str, allowed: Sequence[str]) -> None:
    for key in _keys(o):
        if key not in allowed:
            raise ValueError(f"{_member(path, key)}: unknown key (allowed: {', '.join(allowed)})")


def _string(v: Any, path: str) -> str:
    if not isinstance(v, str):
        raise ValueError(f'{path}: must be a string')
    return v


def _boolean(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f'{path}: must be true or false')
    return v


def _is_number(v: Any) -> bool:
    """A JSON number (JavaScript `typeof v === 'number'`): int or float, never a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v: Any, path: str, lo: int, hi: int) -> int:
    # 1.0 and 1e3 are integers to JavaScript, as to the Node host.
    if not _is_number(v) or (isinstance(v, float) and not v.is_integer()) or not lo <= v <= hi:
        raise ValueError(f'{path}: must be an integer from {lo} to {hi}')
    return int(v)


def _list(v: Any, path: str, min_length: int) -> List[Any]:
    if not isinstance(v, list) or len(v) < min_length:
        raise ValueError(f'{path}: must be a list of at least {min_length}')
    return v


def _hex_byte(v: Any, path: str) -> int:
    """A byte written as in the SCSI standards' tables: '0x3A'."""
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
    for i, line in enumerate(_list(_field(o, '$', 'about'), '$.about', 0)):
        _string(line, f'$.about[{i}]')
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
    entries = _entries(_object(_field(o, '$', 'scenarios'), '$.scenarios'))
    if not entries:
        raise ValueError('$.scenarios: must name at least one scenario')
    scenarios = []
    for index, (name, v) in enumerate(entries):
        path = _member('$.scenarios', name)
        if not NAME.fullmatch(name):
            raise ValueError(f'{path}: a scenario name must match {NAME_TEXT}')
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
        tables[key] = {name: _integer(n, _member(path, name), 0, hi) for name, n in _entries(t)}
    return tables


def _named(tables: Tables, table: str, v: Any, path: str) -> int:
    name = _string(v, path)
    if name not in tables[table]:
        raise ValueError(f"{path}: unknown name '{shown(name)}' (known: {', '.join(shown(n) for n in tables[table])})")
    return tables[table][name]


def _compile_param(name: str, v: Any, path: str, allow_fixed: bool) -> Param:
    if not NAME.fullmatch(name):
        raise ValueError(f'{path}: a parameter name must match {NAME_TEXT}')
    o = _object(v, path)
    kind = _string(_field(o, path, 'type'), f'{path}.type')
    common = ['type', 'description'] + (['fixed'] if allow_fixed else [])
    _string(_field(o, path, 'description'), f'{path}.description')
    fixed = allow_fixed and _boolean(_field(o, path, 'fixed'), f'{path}.fixed')
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
            raise ValueError(f"{path}.default: must be one of {', '.join(shown(c) for c in choices)}")
        return Param(name, kind, default, fixed, choices=choices)
    raise ValueError(f'{path}.type: must be integer, text or choice')


def _compile_device_params(v: Any) -> Dict[str, Param]:
    """The device parameters have meaning in code, so their names and types are checked, not just their shape."""
    path = '$.deviceParams'
    o = _object(v, path)
    _only_keys(o, path, ['id', 'sense', 'blocks'])
    params = {name: _compile_param(name, _field(o, path, name), _member(path, name), True) for name in ('id', 'sense', 'blocks')}
    if params['id'].type != 'text':
        raise ValueError(f'{path}.id: must be of type text')
    if params['sense'].type != 'choice' or params['sense'].choices != SENSE_FORMATS:
        raise ValueError(f"{path}.sense: must be a choice of {', '.join(SENSE_FORMATS)}")
    if params['blocks'].type != 'integer' or params['blocks'].min < 1:
        raise ValueError(f'{path}.blocks: must be of type integer with min >= 1')
    return params


class _Scope:
    """What compiling one scenario's programs needs to know about its parameters."""

    def __init__(self, tables: Tables, codes: Codes, params: Sequence[Param]):
        self.tables = tables
        self.codes = codes
        self.params = params
        self.used: set = set()


def _compile_scenario(name: str, index: int, v: Any, path: str, tables: Tables, codes: Codes, device_params: Dict[str, Param]) -> Scenario:
    o = _object(v, path)
    _only_keys(o, path, ['description', 'params', 'program', 'commands'])
    description = _string(_field(o, path, 'description'), f'{path}.description')
    params = []
    for pname, pv in _entries(_object(_field(o, path, 'params'), f'{path}.params')):
        ppath = _member(f'{path}.params', pname)
        if pname in device_params:
            raise ValueError(f"{ppath}: '{pname}' is a device parameter")
        p = _compile_param(pname, pv, ppath, False)
        if p.type != 'integer':
            raise ValueError(f'{ppath}.type: scenario parameters must be integers')
        params.append(p)
    if len(params) > MAX_SCENARIO_PARAMS:
        raise ValueError(f'{path}.params: at most {MAX_SCENARIO_PARAMS} parameters')
    scope = _Scope(tables, codes, params)
    programs = [_compile_program(_field(o, path, 'program'), f'{path}.program', scope)]
    commands: Dict[str, int] = {}
    if 'commands' in o:
        cpath = f'{path}.commands'
        for key, pv in _entries(_object(o['commands'], cpath)):
            kpath = _member(cpath, key)
            # Two spellings of one key ('0xc9', '0xC9') would leave one program unused: refused, as by the Node host.
            k = _command_key(key, kpath)
            if k in commands:
                raise ValueError(f'{kpath}: the same command as an earlier key ({k})')
            commands[k] = len(programs)
            programs.append(_compile_program(pv, kpath, scope))
        if len(programs) > MAX_PROGRAMS:
            raise ValueError(f'{cpath}: at most {MAX_PROGRAMS - 1} commands')
    for p in params:
        if p.name not in scope.used:
            raise ValueError(f'{_member(f"{path}.params", p.name)}: declared but never used by the program')
    return Scenario(name, index, description, tuple(params), tuple(programs), commands)


_PAGED_KEY = re.compile(r'(.*) 0x([0-9A-Fa-f]{2})')


def _command_key(key: str, path: str) -> str:
    """`NAME` or, for a paged command, `NAME 0xPP`; returned in the one spelling lookups use."""
    known = f"(known: {', '.join(COMMAND_NAMES)}; {', '.join(PAGED)} may add a page, e.g. 'INQUIRY VPD 0xC9')"
    if key in COMMAND_NAMES:
        return key
    m = _PAGED_KEY.fullmatch(key)
    if m is None or m.group(1) not in PAGED:
        raise ValueError(f'{path}: unknown command {known}')
    page = int(m.group(2), 16)
    # A MODE SENSE CDB has 6 bits of page code: a key past them could never answer.
    if m.group(1) != 'INQUIRY VPD' and page > 0x3F:
        raise ValueError(f'{path}: a mode page is at most 0x3F')
    return page_key(m.group(1), page)


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
    _only_keys(o, path, ['status', 'sense', 'hostStatus', 'data', 'latency', 'readErrno'])
    status = _named(tables, 'status', _field(o, path, 'status'), f'{path}.status')
    host = codes.DID_OK if 'hostStatus' not in o else _named(tables, 'hostStatus', o['hostStatus'], f'{path}.hostStatus')
    sense: Tuple[Optional[SenseData], Optional[str], Optional[int]] = (None, None, None)
    if 'sense' in o:
        if status != codes.CHECK_CONDITION:
            raise ValueError(f'{path}.sense: only a CHECK_CONDITION carries sense')
        sense = _compile_sense(o['sense'], f'{path}.sense', tables)
    good = status == codes.GOOD and host == codes.DID_OK
    if good and 'readErrno' in o:
        raise ValueError(f'{path}.readErrno: a GOOD answer reads data, never an errno')
    if not good and 'data' in o:
        raise ValueError(f'{path}.data: only a GOOD answer with DID_OK carries data')
    data = None if 'data' not in o else _compile_data(o['data'], f'{path}.data')
    read_errno = codes.EIO if 'readErrno' not in o else _named(tables, 'errno', o['readErrno'], f'{path}.readErrno')
    return Answer(status, host, sense[0], latency(), read_errno, sense_format=sense[1], sense_length=sense[2], data=data)


def _compile_sense(v: Any, path: str, tables: Tables) -> Tuple[SenseData, Optional[str], Optional[int]]:
    """{key, asc, ascq, format?, length?}: the sense, its format's name (None: the device's) and length (None: the format's)."""
    o = _object(v, path)
    _only_keys(o, path, ['key', 'asc', 'ascq', 'format', 'length'])
    fmt = None
    if 'format' in o:
        fmt = _string(o['format'], f'{path}.format')
        if fmt not in SENSE_FORMATS:
            raise ValueError(f"{path}.format: must be one of {', '.join(SENSE_FORMATS)}")
    sense = SenseData(
        key=_named(tables, 'senseKey', _field(o, path, 'key'), f'{path}.key'),
        asc=_hex_byte(_field(o, path, 'asc'), f'{path}.asc'),
        ascq=_hex_byte(_field(o, path, 'ascq'), f'{path}.ascq'),
    )
    length = None if 'length' not in o else _integer(o['length'], f'{path}.length', 0, MAX_SENSE)
    return sense, fmt, length


_HEX_PAIRS = re.compile(r'(?:[0-9A-Fa-f]{2})*')
_PRINTABLE = re.compile(r'[\x20-\x7e]*')


def _compile_data(v: Any, path: str) -> bytes:
    """
    Data-in, as a list of pieces: a string of hex byte pairs (spaces between bytes allowed),
    {ascii: text, width?: n} (printable ASCII, space-padded to n), or {zeros: n}.
    """
    data = bytearray()
    for i, piece in enumerate(_list(v, path, 1)):
        ppath = f'{path}[{i}]'
        if isinstance(piece, str):
            hex_text = piece.replace(' ', '')
            if not _HEX_PAIRS.fullmatch(hex_text):
                raise ValueError(f"{ppath}: must be hex byte pairs, e.g. '00 c9 00 2c'")
            data += bytes.fromhex(hex_text)
        else:
            o = _object(piece, ppath)
            if 'zeros' in o:
                _only_keys(o, ppath, ['zeros'])
                data += bytes(_integer(o['zeros'], f'{ppath}.zeros', 1, MAX_DATA))
            else:
                _only_keys(o, ppath, ['ascii', 'width'])
                text = _string(_field(o, ppath, 'ascii'), f'{ppath}.ascii')
                if not _PRINTABLE.fullmatch(text):
                    raise ValueError(f'{ppath}.ascii: must be printable ASCII')
                width = len(text) if 'width' not in o else _integer(o['width'], f'{ppath}.width', len(text), MAX_DATA)
                data += text.ljust(width, ' ').encode('ascii')
        if len(data) > MAX_DATA:
            raise ValueError(f'{path}: more than {MAX_DATA} bytes')
    return bytes(data)


def _quantity(v: Any, path: str, lo: int, scope: _Scope) -> Quantity:
    if _is_number(v):
        return Literal(_integer(v, path, lo, INT_MAX))
    o = _object(v, path)
    _only_keys(o, path, ['param'])
    name = _string(_field(o, path, 'param'), f'{path}.param')
    slot = next((i for i, p in enumerate(scope.params) if p.name == name), -1)
    if slot < 0:
        raise ValueError(f"{path}.param: '{shown(name)}' is not a parameter of this scenario")
    if scope.params[slot].min < lo:
        raise ValueError(f"{path}.param: '{shown(name)}' must have min >= {lo} here")
    scope.used.add(name)
    return ParamRef(slot)
