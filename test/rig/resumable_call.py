"""
One plugin call that may wait (docs/ABI.md "Waiting: WAIT | fd"): pc_init or pc_check on a host
thread, then, for as long as it answers WAIT | fd, park until that fd's device answers and continue
with pc_pending. Every continuation runs on the *other* thread than the call that waited (another
instance, another scratch region, that thread's fd number for the device): a plugin that kept
progress anywhere but its ctx fails there. The rig is single-threaded, so parking is a sleep.

A wait on an fd that is not a device fd, or whose device has nothing outstanding and no reply unread,
ends the call (`bad-wait`). Past the deadline a parked call is abandoned (`expired`): pc_pending is not
called, and the device's command stays outstanding, its late reply discarded.
"""
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import wasmtime

from . import deadline as deadlines
from .deadline import Deadline
from .fd_table import DeviceFd
from .host_thread import HostThread
from .plugin_instance import PluginInstance
from .wasi_shim import ProcExit

WAIT = 0x80000000
WAIT_FD_MASK = 0xFFFF

#: An export taking (ctx, fd, scratch): pc_init, pc_check or pc_pending of an instance.
Entry = Callable[[PluginInstance], Callable[[int, int, int], int]]


@dataclass(frozen=True)
class CallEnd:
    kind: str  # 'returned' | 'trapped' | 'bad-wait' | 'expired'
    raw: int = 0
    reason: str = ''
    #: The fd of a bad wait, in the numbering of the thread that waited.
    fd: int = -1
    #: How many times the call answered WAIT (and was parked).
    waits: int = 0
    #: Wall time from the first call to the end, parking included, in microseconds.
    us: float = 0.0


def trap_reason(e: BaseException) -> str:
    """One line for a trap: wasmtime's cause ("wasm `unreachable` instruction executed"), not its backtrace.
    The wording is the engine's own, so it is not expected to equal V8's."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    reason = lines[-1] if 'Caused by:' in lines else lines[0]
    return reason[len('wasm trap: '):] if reason.startswith('wasm trap: ') else reason


def is_wait(raw: int) -> bool:
    return raw & WAIT != 0


def call_resumable(threads: Sequence[HostThread], entry: Entry, ctx: int, device, deadline: Deadline) -> CallEnd:
    start = time.perf_counter_ns()
    waits = 0
    t = 0

    def end(kind: str, **kw) -> CallEnd:
        return CallEnd(kind, waits=waits, us=(time.perf_counter_ns() - start) / 1000.0, **kw)

    def run(thread: HostThread, fn: Entry, on) -> int:
        shim = thread.instance.shim
        shim.deadline = deadline
        try:
            return fn(thread.instance)(ctx, thread.fd_for(on), thread.scratch)
        finally:
            shim.deadline = deadlines.NONE

    try:
        raw = run(threads[t], entry, device)
        while is_wait(raw):
            waits += 1
            fd = raw & WAIT_FD_MASK
            waited = threads[t].instance.shim.fds.get(fd)
            if not isinstance(waited, DeviceFd) or not waited.device.io.busy:
                return end('bad-wait', fd=fd)
            io = waited.device.io
            if not io.wait(deadline):
                io.abandon()
                return end('expired')
            t = (t + 1) % len(threads)
            raw = run(threads[t], lambda i: i.pc_pending, waited.device)
    except ProcExit as e:
        return end('trapped', reason=str(e))
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        return end('trapped', reason=trap_reason(e))
    return end('returned', raw=raw)
