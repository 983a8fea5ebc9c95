"""Sense data a simulated device answers in (SPC-4 4.5): fixed (0x70, 18 bytes) or descriptor (0x72, 8 bytes)."""
from dataclasses import dataclass

#: In the order the `sense` device parameter lists them.
SENSE_FORMATS = ('fixed', 'descriptor')

FIXED_CURRENT = 0x70
FIXED_LENGTH = 18
FIXED_ADDITIONAL = FIXED_LENGTH - 8
DESCRIPTOR_CURRENT = 0x72
DESCRIPTOR_LENGTH = 8


@dataclass(frozen=True)
class SenseData:
    key: int
    asc: int
    ascq: int


def sense_bytes(fmt: str, sense: SenseData) -> bytes:
    if fmt == 'fixed':
        b = bytearray(FIXED_LENGTH)
        b[0] = FIXED_CURRENT
        b[2] = sense.key & 0x0F
        b[7] = FIXED_ADDITIONAL
        b[12] = sense.asc
        b[13] = sense.ascq
        return bytes(b)
    if fmt == 'descriptor':
        b = bytearray(DESCRIPTOR_LENGTH)
        b[0] = DESCRIPTOR_CURRENT
        b[1] = sense.key & 0x0F
        b[2] = sense.asc
        b[3] = sense.ascq
        return bytes(b)
    raise ValueError(f'unknown sense format {fmt!r}')
