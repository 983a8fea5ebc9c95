"""
A simulated SCSI disk running a scenario from host/backends/sim/scenarios.json, answering every command
as host/backends/sim/sim-device.ts does.

Which program answers a command (command_kind): the scenario's program keyed for the command's page
(`INQUIRY VPD 0xC9`), else the one keyed for its name (`INQUIRY VPD`, `READ(10)`, `plain read`), else
its default program; a command no scenario can key (SYNCHRONIZE CACHE, REQUEST SENSE...) always takes
the default. Each program numbers the commands it answers from 0 (the rig never changes a device's
scenario, so from the device's making) and picks each one's response as it is submitted. An answer
becomes readable after its latency (at once for latency 0), a hang when the device is released (then
it answers like `ok`), never otherwise. How long a reader waits for that is the host's business
(fd_mode), not the device's.

What a SCSI answer carries: its sense in its own format if it names one, else the device's `sense`,
cut or zero-filled to its `length` if it has one; its `data` if it has some; and a GOOD answer (GOOD
with DID_OK) without data the disk's own (disk_data): standard INQUIRY data; VPD pages 0x00 and 0x80
(serial number: the id); READ CAPACITY(10)/(16) from `blocks` (512-byte blocks; 0xffffffff in (10)
when the last LBA needs more than 32 bits); READ(10)/(16) the block pattern, or ILLEGAL REQUEST 21/00
when the range goes past the end. Any other VPD page and every MODE SENSE page are ILLEGAL REQUEST
24/00; any other command gets no data. Data-in is cut to the command's data-in length. A plain read
gets the block pattern on a GOOD answer, else its errno (`readErrno`, EIO by default).

Not run here: a scenario with {hang: "hard"} in any of its programs (`hang-hard`), which blocks the
checking thread ignoring deadlines by design and needs a host that can terminate a thread; the rig
refuses it rather than block.
"""
import time
from typing import Optional, Union

from .command_kind import PLAIN_READ, CommandKind, command_kind
from .device import DeviceFailure, ScsiAnswer, ScsiCommand, ScsiOutcome
from .device_io import READ, SCSI, DeviceIo, Outstanding
from .disk_data import BLOCK_SIZE, LBA_OUT_OF_RANGE, block_pattern, capacity_data, read_range, serial_of, vpd_page
from .inquiry_data import inquiry_data
from .scenario_file import Answer, Fail, Hang, Literal, Program, Quantity, Response, ScenarioFile
from .sense_bytes import SenseData, sense_bytes
from .sim_spec import SimSpec, SimSpecError, parse_sim_spec

#: ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00): a target's answer to a VPD or mode page it does not have.
INVALID_FIELD_IN_CDB = (0x24, 0x00)


class SimDevice:
    def __init__(self, spec: str, file: ScenarioFile):
        parsed: SimSpec = parse_sim_spec(spec, file)
        if any(isinstance(r, Hang) and r.hard for p in parsed.scenario.programs for r in p.responses):
            raise SimSpecError(f"sim scenario '{parsed.scenario.name}' blocks the checking thread by design; the wasmtime rig does not run it")
        self.spec = spec
        self.file = file
        self.scenario = parsed.scenario
        self.params = parsed.params
        self.sense = parsed.sense
        self.block_count = parsed.blocks
        self.serial = serial_of(parsed.id)
        #: Commands (SCSI and plain reads) received, and how many each program of the scenario answered.
        self.command_count = 0
        self.program_counts = [0] * len(self.scenario.programs)
        codes = file.codes
        self.codes = codes
        #: What a hung command answers once released: the `ok` answer.
        self.released = Answer(codes.GOOD, codes.DID_OK, None, Literal(0), codes.EIO)
        self.invalid_field = self._illegal_request(*INVALID_FIELD_IN_CDB)
        self.out_of_range = self._illegal_request(*LBA_OUT_OF_RANGE)
        self.io = DeviceIo()

    def _illegal_request(self, asc: int, ascq: int) -> Answer:
        c = self.codes
        return Answer(c.CHECK_CONDITION, c.DID_OK, SenseData(c.ILLEGAL_REQUEST, asc, ascq), Literal(0), c.EIO)

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

    def _program_for(self, kind: CommandKind) -> int:
        """The scenario's program for a command: the one keyed for its page, else for its name, else the default."""
        if kind.name is None:
            return 0
        commands = self.scenario.commands
        program: Optional[int] = commands.get(kind.key)
        if program is None and kind.page >= 0:
            program = commands.get(kind.name)
        return 0 if program is None else program

    def _is_good(self, a: Answer) -> bool:
        return a.status == self.codes.GOOD and a.host_status == self.codes.DID_OK

    def _submit(self, command: Outstanding, kind: CommandKind) -> None:
        """Count the command, pick its response and when it is readable, and make it outstanding."""
        program = self._program_for(kind)
        k = self.program_counts[program]
        self.program_counts[program] += 1
        self.command_count += 1
        response = self._pick(self.scenario.programs[program], k)
        if not isinstance(response, Hang):
            command.answer = DeviceFailure(response.errno) if isinstance(response, Fail) else response
            command.due_at = time.perf_counter() + self._resolve(response.latency) / 1000.0
        self.io.submit(command)

    def submit_scsi(self, command: ScsiCommand, pack_id: int, reply_len: int) -> None:
        """The caller checked that the device is not busy."""
        self._submit(Outstanding(SCSI, command=command, pack_id=pack_id, reply_len=reply_len), command_kind(command.cdb))

    def submit_read(self, offset: int, length: int) -> int:
        """A plain read: 0, or EINVAL for one not wholly inside the device (it reaches no device, uncounted)."""
        if offset < 0 or length < 0 or offset + length > self.block_count * BLOCK_SIZE:
            return self.codes.EINVAL
        self._submit(Outstanding(READ, offset=offset, length=length), PLAIN_READ)
        return 0

    def _sense(self, a: Answer) -> bytes:
        """The answer's sense bytes in its own format if it names one, else the device's; cut or zero-filled to its length."""
        if a.sense is None:
            return b''
        b = sense_bytes(a.sense_format or self.sense, a.sense)
        return b if a.sense_length is None else b[:a.sense_length].ljust(a.sense_length, b'\0')

    def _outcome(self, a: Answer, command: ScsiCommand, data_in: bytes = b'') -> ScsiOutcome:
        return ScsiOutcome(a.status, a.host_status, 0, self._sense(a), data_in[:command.data_in_length])

    def scsi_reply(self, done: Outstanding) -> ScsiAnswer:
        """What a completed SCSI command answers."""
        answer, command = done.answer, done.command
        assert answer is not None and command is not None
        if isinstance(answer, DeviceFailure):
            return answer
        if not self._is_good(answer) or answer.data is not None:
            return self._outcome(answer, command, answer.data or b'')
        kind = command_kind(command.cdb)
        if kind.name == 'INQUIRY':
            return self._outcome(answer, command, inquiry_data(self.scenario.name))
        if kind.name == 'INQUIRY VPD':
            page = vpd_page(kind.page, self.serial)
            return self._outcome(self.invalid_field, command) if page is None else self._outcome(answer, command, page)
        if kind.name in ('MODE SENSE(6)', 'MODE SENSE(10)'):
            return self._outcome(self.invalid_field, command)
        if kind.name in ('READ CAPACITY(10)', 'READ CAPACITY(16)'):
            return self._outcome(answer, command, capacity_data(self.block_count, kind.name == 'READ CAPACITY(16)'))
        if kind.name in ('READ(10)', 'READ(16)'):
            lba, count = read_range(kind, command.cdb)
            if lba + count > self.block_count:
                return self._outcome(self.out_of_range, command)
            return self._outcome(answer, command, block_pattern(lba * BLOCK_SIZE, min(count * BLOCK_SIZE, command.data_in_length)))
        return self._outcome(answer, command)

    def read_reply(self, done: Outstanding) -> Union[bytes, DeviceFailure]:
        """What a completed plain read answers: the block pattern, or an errno."""
        answer = done.answer
        assert answer is not None
        if isinstance(answer, DeviceFailure):
            return answer
        if not self._is_good(answer):
            return DeviceFailure(answer.read_errno)
        return block_pattern(done.offset, done.length)
