"""
What a simulated disk answers a GOOD command with when its scenario gives no data, as
host/backends/sim/disk-data.ts: capacity from its geometry, its blocks' contents, VPD pages 0x00 and
0x80, and nothing else (sim_device adds standard INQUIRY data, and refuses a VPD or mode page it has
none of).
"""
import struct
from typing import Optional, Tuple

from .command_kind import CommandKind, cdb_byte

BLOCK_SIZE = 512

#: LOGICAL BLOCK ADDRESS OUT OF RANGE (21/00), with ILLEGAL REQUEST: a READ past the end.
LBA_OUT_OF_RANGE = (0x21, 0x00)

_CAPACITY_10 = struct.Struct('>II')
_CAPACITY_16 = struct.Struct('>QI20x')


def block_pattern(offset: int, length: int) -> bytes:
    """What a simulated block holds: each byte is the low byte of its own offset."""
    return bytes((offset + i) & 0xFF for i in range(length))


def capacity_data(blocks: int, sixteen: bool) -> bytes:
    """READ CAPACITY(10) (8 bytes) or (16) (32 bytes) data of a disk of `blocks` blocks."""
    if sixteen:
        return _CAPACITY_16.pack(blocks - 1, BLOCK_SIZE)
    # SBC-4 5.20.2: a last LBA over 32 bits reads 0xffffffff, asking for READ CAPACITY(16).
    return _CAPACITY_10.pack(min(blocks - 1, 0xFFFFFFFF), BLOCK_SIZE)


def read_range(kind: CommandKind, cdb: bytes) -> Tuple[int, int]:
    """The blocks a READ(10)/(16) CDB names: (first LBA, count)."""
    def number(start: int, end: int) -> int:
        n = 0
        for i in range(start, end):
            n = n * 256 + cdb_byte(cdb, i)
        return n

    if kind.name == 'READ(10)':
        return number(2, 6), number(7, 9)
    return number(2, 10), number(10, 14)


#: VPD pages a simulated disk has (SPC-4 7.8): the supported-pages list and the unit serial number.
VPD_SUPPORTED = 0x00
VPD_SERIAL = 0x80


def vpd_page(page: int, serial: str) -> Optional[bytes]:
    """VPD page `page` of a disk whose serial number is `serial` (printable ASCII), or None when it has no such page."""
    if page == VPD_SUPPORTED:
        return bytes((0, VPD_SUPPORTED, 0, 2, VPD_SUPPORTED, VPD_SERIAL))
    if page != VPD_SERIAL:
        return None
    return bytes((0, VPD_SERIAL, 0, len(serial))) + serial.encode('ascii')


def serial_of(id: str) -> str:
    """
    The serial number of a sim disk: its `id`, printable ASCII only (others become '?'), at most 32
    characters; `SIM` without one. Characters are UTF-16 code units, as the Node host counts them.
    """
    if id == '':
        return 'SIM'
    units = id.encode('utf-16-le', 'surrogatepass')
    codes = struct.unpack(f'<{len(units) // 2}H', units)[:32]
    return ''.join(chr(u) if 0x20 <= u <= 0x7E else '?' for u in codes)
