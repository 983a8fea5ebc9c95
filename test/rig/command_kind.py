"""
What a simulated device tells commands apart by, for a scenario's per-command programs (scenarios.json
`commands`), as host/backends/sim/command-kind.ts: the command's name, and for INQUIRY VPD and MODE
SENSE the page. A scenario keys a program by `NAME` (every page) or `NAME 0xPP` (one page).
"""
from dataclasses import dataclass
from typing import Optional

COMMAND_NAMES = (
    'TEST UNIT READY',
    'INQUIRY',
    'INQUIRY VPD',
    'MODE SENSE(6)',
    'MODE SENSE(10)',
    'MODE SELECT(6)',
    'MODE SELECT(10)',
    'READ CAPACITY(10)',
    'READ CAPACITY(16)',
    'READ(10)',
    'READ(16)',
    'plain read',
)

#: Commands whose key may name a page.
PAGED = ('INQUIRY VPD', 'MODE SENSE(6)', 'MODE SENSE(10)')


@dataclass(frozen=True)
class CommandKind:
    #: None: a command no scenario can key (it takes the scenario's default program).
    name: Optional[str]
    #: The page of a paged command, else -1.
    page: int
    #: Its key with the page (`INQUIRY VPD 0xC9`), or its name; '' for a command no scenario can key.
    key: str


def page_key(name: str, page: int) -> str:
    """The key a scenario writes for `name` on one page, e.g. `INQUIRY VPD 0xC9`."""
    return f'{name} 0x{page:02X}'


OTHER = CommandKind(None, -1, '')
PLAIN_READ = CommandKind('plain read', -1, 'plain read')
_FIXED = {op: CommandKind(name, -1, name) for op, name in (
    (0x00, 'TEST UNIT READY'),
    (0x15, 'MODE SELECT(6)'),
    (0x55, 'MODE SELECT(10)'),
    (0x25, 'READ CAPACITY(10)'),
    (0x28, 'READ(10)'),
    (0x88, 'READ(16)'),
)}
_INQUIRY = CommandKind('INQUIRY', -1, 'INQUIRY')
_RC16 = CommandKind('READ CAPACITY(16)', -1, 'READ CAPACITY(16)')


def _paged(name: str, page: int) -> CommandKind:
    return CommandKind(name, page, page_key(name, page))


def cdb_byte(cdb: bytes, i: int) -> int:
    """Byte `i` of a CDB, 0 past its end (the CDB lengths the sg driver takes cover every byte read here)."""
    return cdb[i] if i < len(cdb) else 0


def command_kind(cdb: bytes) -> CommandKind:
    """The kind of a SCSI command, by its CDB; a plain read is PLAIN_READ."""
    op = cdb_byte(cdb, 0)
    if op in _FIXED:
        return _FIXED[op]
    if op == 0x12:
        return _paged('INQUIRY VPD', cdb_byte(cdb, 2)) if cdb_byte(cdb, 1) & 0x01 else _INQUIRY
    if op == 0x1A:
        return _paged('MODE SENSE(6)', cdb_byte(cdb, 2) & 0x3F)
    if op == 0x5A:
        return _paged('MODE SENSE(10)', cdb_byte(cdb, 2) & 0x3F)
    if op == 0x9E:
        # SERVICE ACTION IN(16): READ CAPACITY(16) is action 0x10.
        return _RC16 if cdb_byte(cdb, 1) & 0x1F == 0x10 else OTHER
    return OTHER
