"""
`sim:<scenario>[?key=value&...]` device specs: the scenario, its parameters (declaration order,
defaults filled in) and the device parameters id / sense / blocks, as host/backends/sim/sim-spec.ts.
"""
import re
from dataclasses import dataclass
from typing import Dict, Tuple, Union

from .scenario_file import INT_MAX, Param, Scenario, ScenarioFile

PREFIX = 'sim:'


class SimSpecError(ValueError):
    pass


@dataclass(frozen=True)
class SimSpec:
    scenario: Scenario
    params: Tuple[int, ...]
    id: str
    blocks: int
    sense: str


def parse_param(scenario: str, param: Param, text: str) -> Union[int, str]:
    def problem(must: str) -> SimSpecError:
        return SimSpecError(f"sim scenario '{scenario}': parameter '{param.name}' must be {must}, got '{text}'")

    if param.type == 'text':
        return text
    if param.type == 'choice':
        if text not in param.choices:
            raise problem(f"one of {', '.join(param.choices)}")
        return text
    kind = 'a non-negative integer' if param.min == 0 else 'a positive integer' if param.min == 1 else f'an integer >= {param.min}'
    if not re.fullmatch(r'[0-9]+', text):
        raise problem(kind)
    n = int(text)
    if n < param.min:
        raise problem(kind)
    if n > INT_MAX:
        raise problem(f'at most {INT_MAX}')
    return n


def parse_sim_spec(spec: str, file: ScenarioFile) -> SimSpec:
    if not spec.startswith(PREFIX):
        raise SimSpecError(f"not a sim device spec: '{spec}' (expected sim:<scenario>[?key=value&...])")
    text = spec[len(PREFIX):]
    q = text.find('?')
    name = text if q < 0 else text[:q]
    try:
        scenario = file.by_name(name)
    except ValueError as e:
        raise SimSpecError(str(e)) from None
    dp = file.device_params
    allowed = [dp['id'], dp['sense'], dp['blocks'], *scenario.params]
    values: Dict[str, Union[int, str]] = {}
    for pair in ([] if q < 0 else text[q + 1:].split('&')):
        eq = pair.find('=')
        if eq <= 0:
            raise SimSpecError(f"sim scenario '{name}': malformed parameter '{pair}' (expected key=value)")
        key = pair[:eq]
        param = next((p for p in allowed if p.name == key), None)
        if param is None:
            raise SimSpecError(f"sim scenario '{name}': unknown parameter '{key}' (allowed: {', '.join(p.name for p in allowed)})")
        if key in values:
            raise SimSpecError(f"sim scenario '{name}': parameter '{key}' given twice")
        values[key] = parse_param(name, param, pair[eq + 1:])
    params = tuple(int(values.get(p.name, p.default)) for p in scenario.params)
    return SimSpec(
        scenario=scenario,
        params=params,
        id=str(values.get('id', dp['id'].default)),
        blocks=int(values.get('blocks', dp['blocks'].default)),
        sense=str(values.get('sense', dp['sense'].default)),
    )
