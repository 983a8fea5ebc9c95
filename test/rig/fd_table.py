"""
One instance's file descriptors: 0-2 stdio, 3 the preopened device namespace `dev`, device fds from 4,
closed numbers reused lowest first as POSIX does.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Union

from .sg_channel import SgChannel

PREOPEN_FD = 3
FIRST_FREE_FD = 4


@dataclass
class Stdio:
    fd: int


@dataclass
class Dir:
    name: str


@dataclass
class DeviceFd:
    device: object
    channel: SgChannel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = SgChannel(self.device)


FdEntry = Union[Stdio, Dir, DeviceFd]


class FdTable:
    def __init__(self, preopen_name: str):
        self.entries: Dict[int, FdEntry] = {0: Stdio(0), 1: Stdio(1), 2: Stdio(2), PREOPEN_FD: Dir(preopen_name)}
        self.lowest_free = FIRST_FREE_FD

    def get(self, fd: int) -> Optional[FdEntry]:
        return self.entries.get(fd)

    def open_device(self, device) -> int:
        fd = self.lowest_free
        while fd in self.entries:
            fd += 1
        self.entries[fd] = DeviceFd(device)
        self.lowest_free = fd + 1
        return fd

    def close(self, fd: int) -> bool:
        """Close a device fd; stdio and the preopen stay open (closing them would strand the plugin)."""
        if not isinstance(self.entries.get(fd), DeviceFd):
            return False
        del self.entries[fd]
        self.lowest_free = min(self.lowest_free, fd)
        return True
