"""
The one command a device has outstanding (docs/ABI.md "SCSI through WASI": the sg v2 default queue of
one). It lives on the device, not on an fd: every host thread's fd for the device sees the same
command, so a check that waited on one thread reads its reply on another.

A command is submitted with its answer already chosen and the time it becomes readable (`due_at`, a
time.perf_counter() value; infinity for a hang, until the device releases it). Nothing runs in the
background: readiness is the clock, checked when asked, which is all a single-threaded rig needs. A
command whose check was abandoned stays outstanding until it is due, then is discarded unread.
"""
import math
import threading
import time
from dataclasses import dataclass
from typing import Optional, Union

from .deadline import Deadline
from .device import DeviceFailure, ScsiCommand
from .scenario_file import Answer

SCSI = 'scsi'
READ = 'read'


@dataclass
class Outstanding:
    kind: str
    #: SCSI: the command and the frame fields its reply echoes.
    command: Optional[ScsiCommand] = None
    pack_id: int = 0
    reply_len: int = 0
    #: Plain read: where and how much.
    offset: int = 0
    length: int = 0
    #: What the device answers; None while a hang has not been released.
    answer: Union[Answer, DeviceFailure, None] = None
    due_at: float = math.inf
    #: The check that sent it was abandoned: the reply goes to no one.
    abandoned: bool = False


class DeviceIo:
    def __init__(self) -> None:
        self.current: Optional[Outstanding] = None
        # Wakes a blocking wait when release() is called from another Python thread.
        self._changed = threading.Condition()

    def submit(self, command: Outstanding) -> None:
        assert self.current is None, 'the caller checked busy first'
        self.current = command

    def _settle(self) -> None:
        """Drop an abandoned command once it has completed: its late reply is discarded."""
        c = self.current
        if c is not None and c.abandoned and time.perf_counter() >= c.due_at:
            self.current = None

    @property
    def busy(self) -> bool:
        """A command is outstanding or its reply unread: the device takes nothing else."""
        self._settle()
        return self.current is not None

    def peek(self) -> Optional[Outstanding]:
        """The outstanding command, if any (still the device's)."""
        self._settle()
        return self.current

    def ready(self) -> bool:
        """The outstanding command's reply is readable."""
        self._settle()
        return self.current is not None and time.perf_counter() >= self.current.due_at

    def wait(self, deadline: Deadline) -> bool:
        """Block until the reply is readable (True) or the deadline passes (False)."""
        with self._changed:
            while not self.ready():
                c = self.current
                if c is None or deadline.expired():
                    return False
                left = min(c.due_at - time.perf_counter(), deadline.remaining())
                self._changed.wait(None if left == math.inf else max(left, 0.0))
            return True

    def take(self) -> Outstanding:
        """The completed command, removed: the device may take the next one."""
        c = self.current
        assert c is not None and self.ready()
        self.current = None
        return c

    def drop(self) -> None:
        """Forget the outstanding command (a blocking read gave up on it at its deadline)."""
        self.current = None

    def abandon(self) -> None:
        """The check waiting on it is gone; the device stays busy until the command completes."""
        if self.current is not None:
            self.current.abandoned = True

    def release(self, answer: Answer) -> None:
        """A hung command answers `answer` now."""
        with self._changed:
            c = self.current
            if c is not None and c.answer is None:
                c.answer = answer
                c.due_at = time.perf_counter()
            self._changed.notify_all()
