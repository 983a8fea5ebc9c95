"""
One instance's file descriptors: 0-2 stdio, 3 the preopened device namespace `dev`, device fds from
`first_device_fd` (4 unless the host numbers a thread's fds elsewhere), closed numbers reused lowest
first as POSIX does. Every device fd has the instance's fd mode (blocking or resuming).
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Union

from .fd_mode import FdMode
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
    mode: FdMode
    #: Opened by the host for a path and handed to every call: the plugin may not close it.
    host_owned: bool
    channel: SgChannel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = SgChannel(self.device, self.mode)


FdEntry = Union[Stdio, Dir, DeviceFd]


class FdTable:
    def __init__(self, preopen_name: str, mode: FdMode, first_device_fd: int = FIRST_FREE_FD):
        assert first_device_fd >= FIRST_FREE_FD
        self.mode = mode
        self.entries: Dict[int, FdEntry] = {0: Stdio(0), 1: Stdio(1), 2: Stdio(2), PREOPEN_FD: Dir(preopen_name)}
        self.first_device_fd = first_device_fd
        self.lowest_free = first_device_fd

    def get(self, fd: int) -> Optional[FdEntry]:
        return self.entries.get(fd)

    def open_device(self, device, host_owned: bool = True) -> int:
        fd = self.lowest_free
        while fd in self.entries:
            fd += 1
        self.entries[fd] = DeviceFd(device, self.mode, host_owned)
        self.lowest_free = fd + 1
        return fd

    def fd_of(self, device) -> Optional[int]:
        """This instance's fd for `device`, if it has one open."""
        return next((fd for fd, e in self.entries.items() if isinstance(e, DeviceFd) and e.device is device), None)

    def close(self, fd: int) -> bool:
        """Close a device fd; stdio and the preopen stay open (closing them would strand the plugin)."""
        if not isinstance(self.entries.get(fd), DeviceFd):
            return False
        del self.entries[fd]
        self.lowest_free = max(self.first_device_fd, min(self.lowest_free, fd))
        return True
