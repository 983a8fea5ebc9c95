"""
One host thread of a class, as the rig stands it in (docs/ABI.md "Memory layout"): its own instance of
the class (own Store and fd table over the class's shared memory), its own scratch region, and its own
fd numbers. Thread i numbers its device fds from 4 + FD_SPACING * i, so the same device has a
different fd on each thread: a plugin that continues with an fd it kept instead of the one passed
to pc_pending names nothing there (EBADF) and shows up in the matrix.
"""
from dataclasses import dataclass

from .fd_table import FIRST_FREE_FD
from .plugin_instance import PluginInstance

FD_SPACING = 16


def first_device_fd(thread: int) -> int:
    return FIRST_FREE_FD + FD_SPACING * thread


@dataclass
class HostThread:
    index: int
    instance: PluginInstance
    scratch: int

    def fd_for(self, device) -> int:
        """This thread's fd for `device`, opened for the host if the thread has none yet (a device the
        plugin path_open'ed on another thread)."""
        fds = self.instance.shim.fds
        fd = fds.fd_of(device)
        return fd if fd is not None else fds.open_device(device, host_owned=False)
