"""
The sg v2 protocol on one device fd (docs/ABI.md "SCSI through WASI"): an fd_write submits one
request frame (header, CDB, data-out), the next fd_read runs it on the device and returns the reply
frame (header, data-in), truncated to the reader's buffer as Linux does.
"""
import struct
from typing import Optional, Tuple

from . import sg_header as sg
from .deadline import Deadline
from .device import DeviceFailure, ScsiCommand
from .wasi_errno import Errno

_I32 = struct.Struct('<i')
_U32 = struct.Struct('<I')


class SgChannel:
    def __init__(self, device):
        self.device = device
        self.pending: Optional[ScsiCommand] = None
        self.pending_reply_len = 0
        self.pending_pack_id = 0

    @property
    def busy(self) -> bool:
        """A command is written and its reply not yet read: another write gets EBUSY."""
        return self.pending is not None

    def submit(self, frame: bytes) -> int:
        """Take one request frame; returns a WASI errno."""
        if self.pending is not None:
            return Errno.BUSY
        if len(frame) < sg.SG_HEADER_SIZE + 1:
            return Errno.INVAL
        reply_len = _I32.unpack_from(frame, sg.REPLY_LEN)[0]
        if reply_len < sg.SG_HEADER_SIZE or reply_len > sg.SG_MAX_FRAME:
            return Errno.INVAL
        flags = _U32.unpack_from(frame, sg.FLAGS)[0]
        cdb_len = sg.cdb_length(frame[sg.SG_HEADER_SIZE], sg.twelve_byte(flags))
        if len(frame) < sg.SG_HEADER_SIZE + cdb_len:
            return Errno.INVAL
        self.pending = ScsiCommand(
            cdb=frame[sg.SG_HEADER_SIZE:sg.SG_HEADER_SIZE + cdb_len],
            data_out=frame[sg.SG_HEADER_SIZE + cdb_len:],
            data_in_length=reply_len - sg.SG_HEADER_SIZE,
        )
        self.pending_reply_len = reply_len
        self.pending_pack_id = _I32.unpack_from(frame, sg.PACK_ID)[0]
        return Errno.SUCCESS

    def complete(self, capacity: int, deadline: Deadline) -> Tuple[int, bytes]:
        """Run the pending command (blocking up to the deadline): (errno, reply frame)."""
        command = self.pending
        if command is None:
            return Errno.AGAIN, b''
        if capacity < sg.SG_HEADER_SIZE:
            return Errno.INVAL, b''
        self.pending = None
        outcome = self.device.scsi(command, deadline)
        if isinstance(outcome, DeviceFailure):
            return outcome.errno, b''
        data = outcome.data_in[:command.data_in_length]
        sense = outcome.sense[:sg.SG_SENSE_SIZE]
        driver = outcome.driver_status | (sg.DRIVER_SENSE if sense else 0)
        header = bytearray(sg.SG_HEADER_SIZE)
        # Linux's sg v2 reply carries reply_len in pack_len too ("old, strange behaviour" in sg.c).
        _I32.pack_into(header, sg.PACK_LEN, self.pending_reply_len)
        _I32.pack_into(header, sg.REPLY_LEN, self.pending_reply_len)
        _I32.pack_into(header, sg.PACK_ID, self.pending_pack_id)
        _I32.pack_into(header, sg.RESULT, 0)
        _U32.pack_into(header, sg.FLAGS, sg.pack_status_word(outcome.status, outcome.host_status, driver))
        header[sg.SENSE:sg.SENSE + len(sense)] = sense
        return Errno.SUCCESS, bytes(header) + data
