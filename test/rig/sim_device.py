"""
A simulated SCSI disk running a scenario from host/backends/sim/scenarios.json (see the file's
`about`): commands (SCSI and plain reads) are numbered from 0 as they are submitted; the program picks
each one's response then. An answer becomes readable after its latency (at once for latency 0), a
hang when the device is released (then it answers like `ok`), never otherwise. How long a reader
waits for that is the host's business (fd_mode), not the device's.
Every SCSI command gets the TEST UNIT READY answer, except INQUIRY on a GOOD answer, which returns
standard INQUIRY data (a VPD page request: ILLEGAL REQUEST 24/00).

Not run here: `hang-hard` ({hang: "hard"}), which blocks the checking thread ignoring deadlines by
design and needs a host that can terminate a thread; the rig refuses it rather than block.
"""
import time
from typing import Union

from .device import DeviceFailure, ScsiAnswer, ScsiCommand, ScsiOutcome
from .device_io import READ, SCSI, DeviceIo, Outstanding
from .inquiry_data import inquiry_data
from .scenario_file import Answer, Fail, Hang, Literal, Program, Quantity, Response, ScenarioFile
from .sense_bytes import SenseData, sense_bytes
from .sim_spec import SimSpec, SimSpecError, parse_sim_spec

BLOCK_SIZE = 512
INQUIRY = 0x12
EVPD = 0x01


class SimDevice:
    def __init__(self, spec: str, file: ScenarioFile):
        parsed: SimSpec = parse_sim_spec(spec, file)
        if any(isinstance(r, Hang) and r.hard for r in parsed.scenario.program.responses):
            raise SimSpecError(f"sim scenario '{parsed.scenario.name}' blocks the checking thread by design; the wasmtime rig does not run it")
        self.spec = spec
        self.file = file
        self.scenario = parsed.scenario
        self.params = parsed.params
        self.sense = parsed.sense
        self.block_count = parsed.blocks
        self.commands = 0
        codes = file.codes
        self.codes = codes
        #: What a hung command answers once released: the `ok` answer.
        self.released = Answer(codes.GOOD, codes.DID_OK, None, Literal(0), codes.EIO)
        self.io = DeviceIo()

    def release(self) -> None:
        """Answer the command hung at this moment, like `ok`."""
        self.io.release(self.released)

    def _resolve(self, q: Quantity) -> int:
        return q.value if isinstance(q, Literal) else self.params[q.slot]

    def _pick(self, program: Program, k: int) -> Response:
        if program.kind == 'repeat':
            return program.responses[0]
        if program.kind == 'sequence':
            return program.responses[min(k, len(program.responses) - 1)]
        every = self._resolve(program.every)
        period = every * len(program.responses)
        return program.responses[(k % period) // every]

    def _is_good(self, a: Answer) -> bool:
        return a.status == self.codes.GOOD and a.host_status == self.codes.DID_OK

    def _submit(self, command: Outstanding) -> None:
        """Count the command, pick its response and when it is readable, and make it outstanding."""
        k = self.commands
        self.commands += 1
        response = self._pick(self.scenario.program, k)
        if not isinstance(response, Hang):
            command.answer = DeviceFailure(response.errno) if isinstance(response, Fail) else response
            command.due_at = time.perf_counter() + self._resolve(response.latency) / 1000.0
        self.io.submit(command)

    def submit_scsi(self, command: ScsiCommand, pack_id: int, reply_len: int) -> None:
        """The caller checked that the device is not busy."""
        self._submit(Outstanding(SCSI, command=command, pack_id=pack_id, reply_len=reply_len))

    def submit_read(self, offset: int, length: int) -> int:
        """A plain read: 0, or EINVAL for one not wholly inside the device (it reaches no device, uncounted)."""
        if offset < 0 or length < 0 or offset + length > self.block_count * BLOCK_SIZE:
            return self.codes.EINVAL
        self._submit(Outstanding(READ, offset=offset, length=length))
        return 0

    def _outcome(self, a: Answer, data_in: bytes = b'') -> ScsiOutcome:
        sense = b'' if a.sense is None else sense_bytes(self.sense, a.sense)
        return ScsiOutcome(a.status, a.host_status, 0, sense, data_in)

    def scsi_reply(self, done: Outstanding) -> ScsiAnswer:
        """What a completed SCSI command answers."""
        answer, command = done.answer, done.command
        assert answer is not None and command is not None
        if isinstance(answer, DeviceFailure):
            return answer
        if command.cdb[0] == INQUIRY and self._is_good(answer):
            if command.cdb[1] & EVPD:
                c = self.codes
                return self._outcome(Answer(c.CHECK_CONDITION, c.DID_OK, SenseData(c.ILLEGAL_REQUEST, 0x24, 0x00), Literal(0), c.EIO))
            return self._outcome(answer, inquiry_data(self.scenario.name)[:command.data_in_length])
        return self._outcome(answer)

    def read_reply(self, done: Outstanding) -> Union[bytes, DeviceFailure]:
        """What a completed plain read answers: the block pattern, or an errno."""
        answer = done.answer
        assert answer is not None
        if isinstance(answer, DeviceFailure):
            return answer
        if not self._is_good(answer):
            return DeviceFailure(answer.read_errno)
        return bytes((done.offset + i) & 0xFF for i in range(done.length))
