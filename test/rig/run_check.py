"""
One check (docs/ABI.md "A check, step by step"): pc_check(ctx, fd, scratch) on the host's thread with
the device deadline armed, then what it means. The host's deadline wins over the plugin's answer
(`timeout`); a trap means `down` with the reason; a state above 10 is `wild`.
"""
import time
from dataclasses import dataclass

import wasmtime

from . import deadline as deadlines
from . import path_state as ps
from .checker_class import CONTROL_SCRATCH_REGION, CheckerClass
from .messages import decode_check_result, invalid_state_message, timeout_message, trap_message
from .wasi_shim import ProcExit


@dataclass(frozen=True)
class CheckResult:
    state: str
    code: int
    message: str
    #: Time spent in pc_check, device waits included, in microseconds.
    us: float


def trap_reason(e: BaseException) -> str:
    """One line for a trap: wasmtime's cause ("wasm `unreachable` instruction executed"), not its backtrace.
    The wording is the engine's own, so it is not expected to equal V8's."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    reason = lines[-1] if 'Caused by:' in lines else lines[0]
    return reason[len('wasm trap: '):] if reason.startswith('wasm trap: ') else reason


def _result(code: int, message: str, us: float) -> CheckResult:
    return CheckResult(ps.state_name(code), code, message, us)


def check_in_thread(cls: CheckerClass, slot: int, timeout_ms: float) -> CheckResult:
    instance = cls.control
    ctx = cls.layout.ctx(slot)
    fd = cls.fd_of(slot)
    scratch = cls.layout.scratch(CONTROL_SCRATCH_REGION)
    deadline = deadlines.Deadline.after(timeout_ms)
    instance.shim.deadline = deadline
    raw = 0
    trap = None
    start = time.perf_counter_ns()
    try:
        raw = instance.pc_check(ctx, fd, scratch)
    except ProcExit as e:
        trap = str(e)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        trap = trap_reason(e)
    finally:
        us = (time.perf_counter_ns() - start) / 1000.0
        instance.shim.deadline = deadlines.NONE
    if deadline.expired():
        return _result(ps.TIMEOUT, timeout_message(cls.name), us)
    if trap is not None:
        return _result(ps.DOWN, trap_message(cls.name, trap), us)
    state, msgid = decode_check_result(raw)
    if not ps.is_path_state(state):
        return _result(ps.WILD, invalid_state_message(cls.name, state), us)
    return _result(state, cls.messages.format(msgid), us)
