"""Linux `struct sg_header` (sg v2), as laid out in docs/ABI.md "SCSI through WASI"."""

SG_HEADER_SIZE = 36
SG_SENSE_SIZE = 16
DRIVER_SENSE = 0x08
#: Most data-out or data-in bytes one command carries (what a device's command slot holds).
IO_DATA_MAX = 65536
#: Longest request or reply frame: a header, a 16-byte CDB and 64 KiB of data.
SG_MAX_FRAME = SG_HEADER_SIZE + 16 + IO_DATA_MAX

PACK_LEN = 0
REPLY_LEN = 4
PACK_ID = 8
RESULT = 12
FLAGS = 16
SENSE = 20

#: CDB length by opcode group (opcode >> 5): Linux's COMMAND_SIZE table.
_GROUP_CDB_LENGTH = (6, 10, 10, 12, 16, 12, 10, 10)


def cdb_length(opcode: int, twelve_byte: bool) -> int:
    """The CDB length the Linux sg driver takes: by group, except 12 for opcodes >= 0xc0 with twelve_byte."""
    if (opcode & 0xFF) >= 0xC0 and twelve_byte:
        return 12
    return _GROUP_CDB_LENGTH[(opcode >> 5) & 7]


def pack_status_word(sam_status: int, host_status: int, driver_status: int) -> int:
    """Offset 16: twelve_byte bit 0 (0 in a reply), target_status (SAM status >> 1) bits 1..5,
    host_status bits 6..13, driver_status bits 14..21."""
    return ((((sam_status >> 1) & 0x1F) << 1) | ((host_status & 0xFF) << 6) | ((driver_status & 0xFF) << 14)) & 0xFFFFFFFF


def twelve_byte(word: int) -> bool:
    return word & 1 == 1
