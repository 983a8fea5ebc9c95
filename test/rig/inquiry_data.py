"""Standard INQUIRY data (SPC-4 6.6.2) of a simulated disk: vendor PATHCHK, product `SIM <scenario>`."""
LENGTH = 36
VENDOR = 'PATHCHK '
REVISION = '0001'
DIRECT_ACCESS = 0x00
VERSION_SPC4 = 0x06
RESPONSE_FORMAT_2 = 0x02


def _ascii(text: str, width: int) -> bytes:
    return bytes(ord(c) & 0x7F for c in text.ljust(width, ' ')[:width])


def inquiry_data(scenario: str) -> bytes:
    b = bytearray(LENGTH)
    b[0] = DIRECT_ACCESS
    b[2] = VERSION_SPC4
    b[3] = RESPONSE_FORMAT_2
    b[4] = LENGTH - 5
    b[8:16] = _ascii(VENDOR, 8)
    b[16:32] = _ascii(f'SIM {scenario}', 16)
    b[32:36] = _ascii(REVISION, 4)
    return bytes(b)
