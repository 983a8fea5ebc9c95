"""
One check (docs/ABI.md "A check, step by step"): pc_check(ctx, fd, scratch), continued with pc_pending
while it waits (resumable_call), then what it means. A device still busy with an earlier command (an
abandoned check's, or a reply a plugin left unread) is `pending` without calling the plugin, as the
Node host does. The host's deadline wins over the plugin's answer (`timeout`); a trap means `down`
with the reason; a wait on nothing is `wild`; a state above 10 is `wild`.
"""
from dataclasses import dataclass

from . import path_state as ps
from .checker_class import CheckerClass
from .deadline import Deadline
from .messages import bad_wait_message, decode_check_result, invalid_state_message, pending_message, timeout_message, trap_message
from .resumable_call import call_resumable


@dataclass(frozen=True)
class CheckResult:
    state: str
    code: int
    message: str
    #: Time from the first plugin call to the result, parked time and device waits included, in microseconds.
    us: float
    #: WAITs the check answered: how many times it was parked.
    waits: int = 0


MPCTX_UNSET = (-1).to_bytes(8, 'little', signed=True)


def _result(code: int, message: str, us: float, waits: int = 0) -> CheckResult:
    return CheckResult(ps.state_name(code), code, message, us, waits)


def check(cls: CheckerClass, slot: int, timeout_ms: float) -> CheckResult:
    device = cls.device_of(slot)
    if device.io.busy:
        return _result(ps.PENDING, pending_message(), 0.0)
    # The rig checks paths in no multipath: their multipath word is unset (-1), and what a check leaves there is dropped.
    if cls.mpctx_offset >= 0:
        cls.control.memory.write(cls.layout.ctx(slot) + cls.mpctx_offset, MPCTX_UNSET)
    deadline = Deadline.after(timeout_ms)
    end = call_resumable(cls.threads, lambda i: i.pc_check, cls.layout.ctx(slot), device, deadline)
    if end.kind == 'expired' or deadline.expired():
        return _result(ps.TIMEOUT, timeout_message(cls.name), end.us, end.waits)
    if end.kind == 'trapped':
        return _result(ps.DOWN, trap_message(cls.name, end.reason), end.us, end.waits)
    if end.kind == 'bad-wait':
        return _result(ps.WILD, bad_wait_message(cls.name, end.fd), end.us, end.waits)
    state, msgid = decode_check_result(end.raw)
    if not ps.is_path_state(state):
        return _result(ps.WILD, invalid_state_message(cls.name, state), end.us, end.waits)
    return _result(state, cls.messages.format(msgid), end.us, end.waits)
