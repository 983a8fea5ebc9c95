"""
A loaded checker class: validated module, its shared memory laid out as docs/ABI.md says, one
instance per host thread (the first also reads the metadata and runs pc_free), its message table,
and its context slots. Binding a path opens its device on every thread and runs pc_init, which may
wait like a check. Load-time refusals after validation use the Node host's reasons
(host/registry/checker-class.ts), the v1 refusal included.
"""
import json
import re
from typing import Dict, List, Optional

import wasmtime

from .abi_loader import ValidatedModule, validate_module
from .deadline import Deadline
from .device_namespace import DeviceNamespace
from .fd_mode import RESUMING, FdMode
from .host_thread import HostThread, first_device_fd
from .load_error import LoadError
from .memory_layout import MemoryLayout
from .messages import FIRST_MSGID, MessageTable
from .plugin_instance import PluginInstance
from .resumable_call import CallEnd, call_resumable
from .shared_memory import ClassMemory
from .wasi_shim import LogSink, _stderr_log

ABI_VERSION = 2
#: Host threads per class: two, so that every continuation can run on the other one.
THREADS = 2
#: Deadline of pc_init, as the Node host's default call timeout.
INIT_TIMEOUT_MS = 5000
MAX_CTX_SIZE = 65536
MAX_SCRATCH_SIZE = 65536
MAX_MESSAGES = 256 - FIRST_MSGID
NAME_PATTERN = re.compile(r'[a-z0-9][a-z0-9_-]{0,31}')
DEFAULT_MAX_PAGES = 4096


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def call_failure(end: CallEnd, timeout_ms: float) -> str:
    """Why a call other than a check failed, in the Node host's words (host/registry/plugin-call.ts)."""
    if end.kind == 'trapped':
        return f'trapped: {end.reason}'
    if end.kind == 'bad-wait':
        return f'waited on fd {end.fd} with no command outstanding'
    return f'did not return within {timeout_ms:g} ms'


class CheckerClass:
    def __init__(self, engine: wasmtime.Engine, validated: ValidatedModule, origin: str, max_pages: int = DEFAULT_MAX_PAGES,
                 max_contexts: int = 65536, mode: FdMode = RESUMING, namespace: Optional[DeviceNamespace] = None, log: LogSink = _stderr_log):
        self.validated = validated
        self.origin = origin
        self.max_contexts = max_contexts
        self.mode = mode
        self.memory = ClassMemory(engine, validated.memory, max_pages)
        namespace = namespace or DeviceNamespace()
        try:
            instances = [PluginInstance(engine, validated.module, self.memory, namespace, mode, log, first_device_fd(t)) for t in range(THREADS)]
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            raise LoadError('instantiate', f'{origin}: cannot instantiate: {_first_line(e)}') from None
        control = instances[0]
        self.control = control
        self.abi_version = control.pc_abi_version()
        if self.abi_version != ABI_VERSION:
            raise LoadError('abi-version', f'{origin}: plugin ABI version {self.abi_version}, this host implements version {ABI_VERSION} (rebuild the checker against the v2 SDK)')
        name = control.read_string(control.pc_name(), control.pc_name_len())
        if name is None or not NAME_PATTERN.fullmatch(name):
            shown = 'null' if name is None else json.dumps(name, ensure_ascii=False)
            raise LoadError('bad-export', f"{origin}: pc_name must be 1-32 characters of a-z, 0-9, '_' or '-', got {shown}")
        self.name = name
        self.ctx_size = control.pc_ctx_size()
        self.scratch_size = control.pc_scratch_size()
        if not 0 <= self.ctx_size <= MAX_CTX_SIZE:
            raise LoadError('bad-export', f'{origin}: pc_ctx_size {self.ctx_size} is outside 0..{MAX_CTX_SIZE}')
        if not 0 <= self.scratch_size <= MAX_SCRATCH_SIZE:
            raise LoadError('bad-export', f'{origin}: pc_scratch_size {self.scratch_size} is outside 0..{MAX_SCRATCH_SIZE}')
        #: docs/ABI.md "Multipath context": where a path's multipath word goes in its context, or -1.
        self.mpctx_offset = control.pc_mpctx_offset() if control.pc_mpctx_offset is not None else -1
        mp = self.mpctx_offset
        if mp != -1 and not (0 <= mp <= self.ctx_size - 8 and mp % 8 == 0):
            raise LoadError('bad-export', f'{origin}: pc_mpctx_offset {mp} must be -1 or a multiple of 8 from 0 to pc_ctx_size - 8 ({self.ctx_size - 8})')
        self.messages = MessageTable(name, self._read_messages())
        self.layout = MemoryLayout(validated.data_end, self.scratch_size, THREADS, self.ctx_size)
        if self.layout.pages_for(0) > self.memory.maximum:
            raise LoadError('memory', f'{origin}: data and scratch need {self.layout.pages_for(0)} pages, over the memory maximum of {self.memory.maximum}')
        self.threads = [HostThread(t, instance, self.layout.scratch(t)) for t, instance in enumerate(instances)]
        self._free: List[int] = []
        self._high_water = 0
        self._devices: Dict[int, object] = {}
        #: WAITs answered by the last pc_init (how often binding parked).
        self.last_init_waits = 0
        self._grow_to(0)

    @staticmethod
    def load(engine: wasmtime.Engine, path: str, origin: Optional[str] = None, sha256: Optional[str] = None, max_pages: int = DEFAULT_MAX_PAGES, **kw) -> 'CheckerClass':
        origin = origin if origin is not None else path
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError as e:
            why = {2: 'no such file', 21: 'is a directory', 13: 'permission denied'}.get(e.errno or 0, e.strerror)
            raise LoadError('unreadable', f'cannot read checker module {path}: {why}') from None
        validated = validate_module(engine, data, origin, max_pages, sha256)
        return CheckerClass(engine, validated, origin, max_pages, **kw)

    def _read_messages(self) -> List[str]:
        c = self.control
        count = c.pc_msg_count()
        if not 0 <= count <= MAX_MESSAGES:
            raise LoadError('bad-export', f'{self.origin}: pc_msg_count {count} is outside 0..{MAX_MESSAGES}')
        texts = []
        for i in range(count):
            msgid = FIRST_MSGID + i
            text = c.read_string(c.pc_msg(msgid), c.pc_msg_len(msgid))
            if text is None:
                raise LoadError('bad-export', f'{self.origin}: message {msgid} is not a valid UTF-16 string in memory')
            texts.append(text)
        return texts

    def _grow_to(self, slots: int) -> None:
        if not self.memory.grow_to(self.layout.pages_for(slots)):
            raise MemoryError(f'{self.name}: class memory cap of {self.memory.maximum} pages reached ({slots} contexts)')

    def open_context(self, device) -> int:
        """A context slot for a path on `device`: zeroed, the device open on every thread, pc_init'ed
        (it may wait on the device; it has INIT_TIMEOUT_MS)."""
        if self._free:
            slot = self._free.pop()
        elif self._high_water < self.max_contexts:
            slot = self._high_water
            self._high_water += 1
        else:
            raise RuntimeError(f'{self.name}: all {self.max_contexts} context slots are in use')
        opened = False
        try:
            self._grow_to(slot + 1)
            ptr = self.layout.ctx(slot)
            self.control.memory.fill(ptr, self.layout.ctx_stride)
            for thread in self.threads:
                thread.instance.shim.fds.open_device(device)
            opened = True
            deadline = Deadline.after(INIT_TIMEOUT_MS)
            end = call_resumable(self.threads, lambda i: i.pc_init, ptr, device, deadline)
            self.last_init_waits = end.waits
            late = deadline.expired()
            if end.kind == 'returned' and not late and end.raw != 0:
                raise RuntimeError(f'{self.name} checker failed to initialize a context (pc_init returned {end.raw})')
            if end.kind != 'returned' or late:
                raise RuntimeError(f'{self.name} checker pc_init {call_failure(end, INIT_TIMEOUT_MS)}')
        except BaseException:
            if opened:
                self._close_device(device)
            self._free.append(slot)
            raise
        self._devices[slot] = device
        return slot

    def device_of(self, slot: int):
        return self._devices[slot]

    def _close_device(self, device) -> None:
        for thread in self.threads:
            fds = thread.instance.shim.fds
            fd = fds.fd_of(device)
            if fd is not None:
                fds.close(fd)

    def release_context(self, slot: int) -> None:
        self.control.pc_free(self.layout.ctx(slot))
        self._close_device(self._devices.pop(slot))
        self._free.append(slot)
