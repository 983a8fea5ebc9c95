"""What a device backend answers (the rig has one backend: sim_device)."""
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class ScsiCommand:
    cdb: bytes
    data_out: bytes
    #: Most data-in bytes the reply frame has room for (reply_len - 36).
    data_in_length: int


@dataclass(frozen=True)
class ScsiOutcome:
    #: SAM status byte (GOOD 0, CHECK CONDITION 2, ...), not yet shifted.
    status: int
    host_status: int
    driver_status: int
    sense: bytes
    data_in: bytes


@dataclass(frozen=True)
class DeviceFailure:
    """The command failed below SCSI: a WASI errno for fd_read / fd_pread."""
    errno: int


ScsiAnswer = Union[ScsiOutcome, DeviceFailure]
