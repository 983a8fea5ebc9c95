"""
How a device fd waits for its device: the one thing that differs between the two kinds of host
docs/ABI.md allows ("Waiting: WAIT | fd"), chosen per rig run.

    blocking   a stock WASI runtime: a read waits for the device's answer up to the host's deadline
               (then ETIMEDOUT, and the command is given up); fds report fs_flags 0. A plugin never
               sees EAGAIN for a command it submitted, so it finishes in one call.
    resuming   the ABI's non-blocking fds (fs_flags NONBLOCK): a read before the answer is EAGAIN;
               the plugin returns WAIT | fd and the host resumes it with pc_pending.
"""
from dataclasses import dataclass
from typing import Dict

from .deadline import Deadline
from .device_io import DeviceIo
from .wasi_errno import Errno

#: fdflags.nonblock (WASI preview1).
FDFLAGS_NONBLOCK = 0x4


@dataclass(frozen=True)
class FdMode:
    name: str
    blocks: bool

    @property
    def fs_flags(self) -> int:
        """What fd_fdstat_get reports for a device fd."""
        return 0 if self.blocks else FDFLAGS_NONBLOCK

    def settle(self, io: DeviceIo, deadline: Deadline) -> int:
        """Whether the outstanding command's reply can be read now: 0, EAGAIN, or ETIMEDOUT."""
        if io.ready():
            return Errno.SUCCESS
        if not self.blocks:
            return Errno.AGAIN
        if io.wait(deadline):
            return Errno.SUCCESS
        io.drop()
        return Errno.TIMEDOUT


BLOCKING = FdMode('blocking', blocks=True)
RESUMING = FdMode('resuming', blocks=False)
MODES: Dict[str, FdMode] = {m.name: m for m in (BLOCKING, RESUMING)}
