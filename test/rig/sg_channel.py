"""
The sg v2 protocol on one device fd (docs/ABI.md "SCSI through WASI"): an fd_write submits one
request frame (header, CDB, data-out) to the device; an fd_read returns the reply frame (header,
data-in), truncated to the reader's buffer as Linux does, once the device has answered. What a read
does before that is the fd's mode (fd_mode). The command lives on the device (device_io), so this
object holds nothing but the way to it: every thread's fd for the device reads the same reply.
"""
import struct
from typing import Tuple

from . import sg_header as sg
from .deadline import Deadline
from .device import DeviceFailure, ScsiCommand
from .device_io import SCSI
from .fd_mode import FdMode
from .wasi_errno import Errno

_I32 = struct.Struct('<i')
_U32 = struct.Struct('<I')


class SgChannel:
    def __init__(self, device, mode: FdMode):
        self.device = device
        self.mode = mode

    @property
    def busy(self) -> bool:
        """A command is outstanding or its reply unread: another write gets EBUSY."""
        return self.device.io.busy

    def submit(self, frame: bytes) -> int:
        """Take one request frame; returns a WASI errno."""
        if self.busy:
            return Errno.BUSY
        if len(frame) < sg.SG_HEADER_SIZE + 1:
            return Errno.INVAL
        reply_len = _I32.unpack_from(frame, sg.REPLY_LEN)[0]
        if reply_len < sg.SG_HEADER_SIZE or reply_len - sg.SG_HEADER_SIZE > sg.IO_DATA_MAX:
            return Errno.INVAL
        flags = _U32.unpack_from(frame, sg.FLAGS)[0]
        cdb_len = sg.cdb_length(frame[sg.SG_HEADER_SIZE], sg.twelve_byte(flags))
        if len(frame) < sg.SG_HEADER_SIZE + cdb_len or len(frame) - sg.SG_HEADER_SIZE - cdb_len > sg.IO_DATA_MAX:
            return Errno.INVAL
        command = ScsiCommand(
            cdb=frame[sg.SG_HEADER_SIZE:sg.SG_HEADER_SIZE + cdb_len],
            data_out=frame[sg.SG_HEADER_SIZE + cdb_len:],
            data_in_length=reply_len - sg.SG_HEADER_SIZE,
        )
        self.device.submit_scsi(command, _I32.unpack_from(frame, sg.PACK_ID)[0], reply_len)
        return Errno.SUCCESS

    def read(self, capacity: int, deadline: Deadline) -> Tuple[int, bytes]:
        """The reply of the outstanding command: (errno, reply frame)."""
        io = self.device.io
        outstanding = io.peek()
        if outstanding is None or outstanding.kind != SCSI:
            return Errno.AGAIN, b''
        errno = self.mode.settle(io, deadline)
        if errno != Errno.SUCCESS:
            return errno, b''
        # Checked once the reply is there, as the Node host does: a too-small buffer leaves it unread.
        if capacity < sg.SG_HEADER_SIZE:
            return Errno.INVAL, b''
        done = io.take()
        outcome = self.device.scsi_reply(done)
        if isinstance(outcome, DeviceFailure):
            return outcome.errno, b''
        assert done.command is not None
        data = outcome.data_in[:done.command.data_in_length]
        sense = outcome.sense[:sg.SG_SENSE_SIZE]
        driver = outcome.driver_status | (sg.DRIVER_SENSE if sense else 0)
        header = bytearray(sg.SG_HEADER_SIZE)
        # Linux's sg v2 reply carries reply_len in pack_len too ("old, strange behaviour" in sg.c).
        _I32.pack_into(header, sg.PACK_LEN, done.reply_len)
        _I32.pack_into(header, sg.REPLY_LEN, done.reply_len)
        _I32.pack_into(header, sg.PACK_ID, done.pack_id)
        _I32.pack_into(header, sg.RESULT, 0)
        _U32.pack_into(header, sg.FLAGS, sg.pack_status_word(outcome.status, outcome.host_status, driver))
        header[sg.SENSE:sg.SENSE + len(sense)] = sense
        return Errno.SUCCESS, bytes(header) + data
