"""
The WASI preview1 subset of docs/ABI.md for one plugin instance: every call validates guest pointers
(EFAULT) and fds (EBADF) and answers with WASI errno values; none raises except proc_exit, which traps
by design (a plugin may not end the host's thread). Device fds speak the sg v2 frame protocol and
wait for their device as the instance's fd mode says (blocking or resuming).
"""
import os
import sys
import time
from typing import Callable, Dict

from . import deadline as deadlines
from .device import DeviceFailure
from .device_io import READ
from .device_namespace import NAMESPACE_DIR, DeviceNamespace, name_problem
from .fd_mode import FdMode
from .fd_table import FIRST_FREE_FD, DeviceFd, Dir, FdTable, Stdio
from .guest_memory import GuestMemory
from .sg_header import IO_DATA_MAX, SG_MAX_FRAME
from .wasi_errno import Errno

FILETYPE_CHARACTER_DEVICE = 2
FILETYPE_DIRECTORY = 3
PREOPENTYPE_DIR = 0
OFLAGS_CREAT = 1
OFLAGS_DIRECTORY = 2
OFLAGS_EXCL = 4
OFLAGS_TRUNC = 8
ALL_RIGHTS = 0x1FFFFFFF
IOVEC_SIZE = 8
MAX_SAFE_INTEGER = 2**53 - 1

CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_PROCESS_CPUTIME = 2
CLOCK_THREAD_CPUTIME = 3

LogSink = Callable[[int, str], None]


def _stderr_log(fd: int, text: str) -> None:
    sys.stderr.write(f'[plugin fd {fd}] {text}')


class ProcExit(Exception):
    """Raised by proc_exit: the call traps the check."""

    def __init__(self, code: int):
        super().__init__(f'proc_exit({code})')
        self.code = code


class WasiShim:
    def __init__(self, mem: GuestMemory, namespace: DeviceNamespace, mode: FdMode, log: LogSink = _stderr_log, first_device_fd: int = FIRST_FREE_FD):
        self.mem = mem
        self.namespace = namespace
        self.log = log
        self.mode = mode
        self.fds = FdTable(NAMESPACE_DIR, mode, first_device_fd)
        #: Set by the host around each plugin call: blocking device waits give up at this deadline.
        self.deadline = deadlines.NONE
        self._dir_name = NAMESPACE_DIR.encode()

    def functions(self) -> Dict[str, Callable]:
        """What the linker defines under wasi_snapshot_preview1 (names as in wasi_subset)."""
        return {
            'args_get': lambda argv, buf: Errno.SUCCESS,
            'args_sizes_get': self._put_zeros,
            'environ_get': lambda env, buf: Errno.SUCCESS,
            'environ_sizes_get': self._put_zeros,
            'clock_time_get': lambda clock, _precision, out: self.clock_time_get(clock, out),
            'fd_close': self.fd_close,
            'fd_fdstat_get': self.fd_fdstat_get,
            'fd_prestat_get': self.fd_prestat_get,
            'fd_prestat_dir_name': self.fd_prestat_dir_name,
            'fd_pread': self.fd_pread,
            'fd_read': self.fd_read,
            'fd_write': self.fd_write,
            'path_open': lambda dirfd, _dirflags, path, length, oflags, _rb, _ri, _fdflags, out: self.path_open(dirfd, path, length, oflags, out),
            'proc_exit': self.proc_exit,
            'random_get': self.random_get,
            'sched_yield': lambda: Errno.SUCCESS,
        }

    # -- iovecs ------------------------------------------------------------------------------------

    def _iovec_total(self, iovs: int, count: int) -> int:
        """Total length of a `{buf: u32, buf_len: u32}[count]` array, or -1 if any of it is outside memory."""
        if count < 0 or not self.mem.in_bounds(iovs, count * IOVEC_SIZE):
            return -1
        total = 0
        for i in range(count):
            at = iovs + i * IOVEC_SIZE
            buf = self.mem.u32(at)
            length = self.mem.u32(at + 4)
            if not self.mem.in_bounds(buf, length):
                return -1
            total += length
        return total

    def _gather(self, iovs: int, count: int) -> bytes:
        parts = []
        for i in range(count):
            at = iovs + i * IOVEC_SIZE
            parts.append(self.mem.read(self.mem.u32(at), self.mem.u32(at + 4)))
        return b''.join(parts)

    def _scatter(self, iovs: int, count: int, data: bytes) -> int:
        # The iovecs are read once, before any byte is written (as Linux readv): data landing on the
        # iovec array itself must not redirect the rest of the copy.
        vecs = [(self.mem.u32(iovs + i * IOVEC_SIZE), self.mem.u32(iovs + i * IOVEC_SIZE + 4)) for i in range(count)]
        off = 0
        for buf, length in vecs:
            if off >= len(data):
                break
            n = min(length, len(data) - off)
            self.mem.write(buf, data[off:off + n])
            off += n
        return off

    # -- the calls ---------------------------------------------------------------------------------

    def _put_zeros(self, a: int, b: int) -> int:
        if not self.mem.in_bounds(a, 4) or not self.mem.in_bounds(b, 4):
            return Errno.FAULT
        self.mem.set_u32(a, 0)
        self.mem.set_u32(b, 0)
        return Errno.SUCCESS

    def clock_time_get(self, clock: int, out: int) -> int:
        if clock == CLOCK_REALTIME:
            now = time.time_ns()
        elif clock == CLOCK_MONOTONIC:
            now = time.monotonic_ns()
        elif clock == CLOCK_PROCESS_CPUTIME:
            now = time.process_time_ns()
        elif clock == CLOCK_THREAD_CPUTIME:
            now = time.thread_time_ns()
        else:
            return Errno.INVAL
        if not self.mem.in_bounds(out, 8):
            return Errno.FAULT
        self.mem.set_u64(out, now)
        return Errno.SUCCESS

    def fd_close(self, fd: int) -> int:
        entry = self.fds.get(fd)
        if entry is None:
            return Errno.BADF
        if isinstance(entry, DeviceFd):
            if entry.host_owned:
                return Errno.NOTSUP
            # Linux drops a closed sg fd's unread reply; one still outstanding is the device's to finish.
            if entry.device.io.ready():
                entry.device.io.take()
        return Errno.SUCCESS if self.fds.close(fd) else Errno.NOTSUP

    def fd_fdstat_get(self, fd: int, out: int) -> int:
        entry = self.fds.get(fd)
        if entry is None:
            return Errno.BADF
        if not self.mem.in_bounds(out, 24):
            return Errno.FAULT
        is_dir = isinstance(entry, Dir)
        self.mem.fill(out, 24)
        self.mem.set_u8(out, FILETYPE_DIRECTORY if is_dir else FILETYPE_CHARACTER_DEVICE)
        if isinstance(entry, DeviceFd):
            self.mem.set_u16(out + 2, entry.mode.fs_flags)
        self.mem.set_u64(out + 8, ALL_RIGHTS)
        self.mem.set_u64(out + 16, ALL_RIGHTS if is_dir else 0)
        return Errno.SUCCESS

    def fd_prestat_get(self, fd: int, out: int) -> int:
        entry = self.fds.get(fd)
        if not isinstance(entry, Dir):
            return Errno.BADF
        if not self.mem.in_bounds(out, 8):
            return Errno.FAULT
        self.mem.set_u32(out, PREOPENTYPE_DIR)
        self.mem.set_u32(out + 4, len(self._dir_name))
        return Errno.SUCCESS

    def fd_prestat_dir_name(self, fd: int, path: int, length: int) -> int:
        if not isinstance(self.fds.get(fd), Dir):
            return Errno.BADF
        if length < len(self._dir_name):
            return Errno.NAMETOOLONG
        if not self.mem.in_bounds(path, len(self._dir_name)):
            return Errno.FAULT
        self.mem.write(path, self._dir_name)
        return Errno.SUCCESS

    def _io_entry(self, fd: int, iovs: int, count: int, out: int):
        """What fd_read, fd_write and fd_pread check first: the fd, the iovecs and the out pointer, and
        that the fd is not the directory. Returns (errno, 0) or (entry, total length of the iovecs)."""
        entry = self.fds.get(fd)
        if entry is None:
            return Errno.BADF, 0
        total = self._iovec_total(iovs, count)
        if total < 0 or not self.mem.in_bounds(out, 4):
            return Errno.FAULT, 0
        if isinstance(entry, Dir):
            return Errno.ISDIR, 0
        return entry, total

    def fd_read(self, fd: int, iovs: int, count: int, out: int) -> int:
        entry, capacity = self._io_entry(fd, iovs, count, out)
        if isinstance(entry, int):
            return entry
        if isinstance(entry, Stdio):
            if entry.fd != 0:
                return Errno.BADF
            self.mem.set_u32(out, 0)
            return Errno.SUCCESS
        errno, reply = entry.channel.read(capacity, self.deadline)
        if errno != Errno.SUCCESS:
            return errno
        self.mem.set_u32(out, self._scatter(iovs, count, reply))
        return Errno.SUCCESS

    def fd_write(self, fd: int, iovs: int, count: int, out: int) -> int:
        entry, length = self._io_entry(fd, iovs, count, out)
        if isinstance(entry, int):
            return entry
        if isinstance(entry, Stdio):
            if entry.fd == 0:
                return Errno.BADF
            self.log(entry.fd, self._gather(iovs, count).decode('utf-8', 'replace'))
            self.mem.set_u32(out, length)
            return Errno.SUCCESS
        # Refuse before reading the frame: the pending command must stay as it was written.
        if entry.channel.busy:
            return Errno.BUSY
        if length > SG_MAX_FRAME:
            return Errno.INVAL
        errno = entry.channel.submit(self._gather(iovs, count))
        if errno != Errno.SUCCESS:
            return errno
        self.mem.set_u32(out, length)
        return Errno.SUCCESS

    def fd_pread(self, fd: int, iovs: int, count: int, offset: int, out: int) -> int:
        """A plain read (docs/ABI.md "Plain reads"): the first call submits it, the same call again
        collects it once the device has answered; in between the fd's mode decides (EAGAIN or a wait)."""
        entry, length = self._io_entry(fd, iovs, count, out)
        if isinstance(entry, int):
            return entry
        if isinstance(entry, Stdio):
            return Errno.SPIPE
        if offset < 0 or offset > MAX_SAFE_INTEGER:
            return Errno.INVAL
        device = entry.device
        io = device.io
        outstanding = io.peek()
        if outstanding is None:
            if length > IO_DATA_MAX:
                return Errno.INVAL
            errno = device.submit_read(offset, length)
            if errno != Errno.SUCCESS:
                return errno
        elif outstanding.kind != READ or outstanding.offset != offset or outstanding.length != length:
            return Errno.BUSY
        errno = entry.mode.settle(io, self.deadline)
        if errno != Errno.SUCCESS:
            return errno
        data = device.read_reply(io.take())
        if isinstance(data, DeviceFailure):
            return data.errno
        self.mem.set_u32(out, self._scatter(iovs, count, data))
        return Errno.SUCCESS

    def path_open(self, dirfd: int, path: int, length: int, oflags: int, out: int) -> int:
        d = self.fds.get(dirfd)
        if d is None:
            return Errno.BADF
        if not isinstance(d, Dir):
            return Errno.NOTDIR
        if not self.mem.in_bounds(path, length) or not self.mem.in_bounds(out, 4):
            return Errno.FAULT
        if oflags & (OFLAGS_CREAT | OFLAGS_EXCL | OFLAGS_TRUNC):
            return Errno.ROFS
        name = self.mem.read(path, length).decode('utf-8', 'replace')
        if name == '..' or name.startswith('../') or name.startswith('/'):
            return Errno.NOTCAPABLE
        if name_problem(name) is not None:
            return Errno.NAMETOOLONG if length > 255 else Errno.NOENT
        device = self.namespace.lookup(name)
        if device is None:
            return Errno.NOENT
        if oflags & OFLAGS_DIRECTORY:
            return Errno.NOTDIR
        self.mem.set_u32(out, self.fds.open_device(device, host_owned=False))
        return Errno.SUCCESS

    def proc_exit(self, code: int) -> None:
        raise ProcExit(code)

    def random_get(self, buf: int, length: int) -> int:
        if not self.mem.in_bounds(buf, length):
            return Errno.FAULT
        self.mem.write(buf, os.urandom(length))
        return Errno.SUCCESS
