"""
Messages (docs/ABI.md "Messages" and "Result encoding"): generic ids below 100, checker-specific ids
from 100 read from the plugin once at load, the host's own messages, and pc_check result decoding.
"""
from typing import Sequence, Tuple

FIRST_MSGID = 100
MSGID_INVALID = 3

GENERIC = (
    '',
    'is disabled',
    'has no usable fd',
    'provided invalid message id',
    'reports path is up',
    'reports path is down',
    'reports path is ghost',
    "doesn't support this device",
    'no access to this device',
    'timed out',
    'still running',
)


def decode_check_result(raw: int) -> Tuple[int, int]:
    """pc_check returns state | (msgid << 8): (state, msgid)."""
    return raw & 0xFF, (raw >> 8) & 0xFF


class MessageTable:
    """A class's messages, formatted libmultipath style: "<name> checker <text>" ("<name> checker: <text>"
    for a text that starts with ':'); '' for message 0."""

    def __init__(self, checker_name: str, own: Sequence[str]):
        self.checker_name = checker_name
        self.own = tuple(own)
        self._formatted = tuple(self._format(i) for i in range(256))

    def _text(self, msgid: int) -> str:
        if msgid < len(GENERIC):
            return GENERIC[msgid]
        i = msgid - FIRST_MSGID
        if 0 <= i < len(self.own):
            return self.own[i]
        return GENERIC[MSGID_INVALID]

    def _format(self, msgid: int) -> str:
        text = self._text(msgid)
        if text == '':
            return ''
        # libmultipath's tables carry their separator; a text of ours starting with ':' brings its own.
        return f'{self.checker_name} checker{"" if text.startswith(":") else " "}{text}'

    def format(self, msgid: int) -> str:
        return self._formatted[msgid & 0xFF]


def timeout_message(checker: str) -> str:
    return f'{checker} checker timed out'


def pending_message() -> str:
    return 'checker thread not responding'


def trap_message(checker: str, reason: str) -> str:
    return f'{checker} checker trapped: {reason}'


def invalid_state_message(checker: str, state: int) -> str:
    return f'{checker} checker returned invalid state {state}'


def bad_wait_message(checker: str, fd: int) -> str:
    return f'{checker} checker waited on fd {fd} with no command outstanding'
