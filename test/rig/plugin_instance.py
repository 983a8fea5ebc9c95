"""
One instance of a class (docs/ABI.md "Exports"): its own wasmtime Store and WASI shim (fd table,
deadline, fd mode), the class's shared memory imported as env.memory, the WASI subset under
wasi_snapshot_preview1. Many instances of a class share its memory; each host thread has its own.
"""
import ctypes
from typing import Callable, Optional

import wasmtime

from .abi_loader import OPTIONAL_EXPORTS, REQUIRED_EXPORTS
from .device_namespace import DeviceNamespace
from .fd_mode import FdMode
from .fd_table import FIRST_FREE_FD
from .guest_memory import GuestMemory
from .shared_memory import ClassMemory
from .wasi_shim import LogSink, WasiShim, _stderr_log
from .wasi_subset import SUPPORTED_WASI, func_type

WASI_MODULE = 'wasi_snapshot_preview1'


class PluginInstance:
    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module, memory: ClassMemory, namespace: DeviceNamespace, mode: FdMode,
                 log: LogSink = _stderr_log, first_device_fd: int = FIRST_FREE_FD):
        self.store = wasmtime.Store(engine)
        self.memory = GuestMemory(memory)
        self.shim = WasiShim(self.memory, namespace, mode, log, first_device_fd)
        linker = wasmtime.Linker(engine)
        linker.define(self.store, 'env', 'memory', memory.shared)
        functions = self.shim.functions()
        for name in SUPPORTED_WASI:
            linker.define_func(WASI_MODULE, name, func_type(name), functions[name])
        instance = linker.instantiate(self.store, module)
        exports = instance.exports(self.store)
        # The `memory` export must be the host's memory itself, not a copy: the whole layout depends on it.
        exported = exports['memory']
        if not isinstance(exported, wasmtime.SharedMemory) or _address(exported) != memory.address():
            raise wasmtime.WasmtimeError('the memory export is not the imported shared env.memory')
        funcs = {name: exports[name] for name in REQUIRED_EXPORTS if name != 'memory'}
        for optional in OPTIONAL_EXPORTS:
            if optional in exports:
                funcs[optional] = exports[optional]
        store = self.store

        def bind(f: wasmtime.Func) -> Callable:
            return lambda *args: f(store, *args)

        self.pc_abi_version = bind(funcs['pc_abi_version'])
        self.pc_name = bind(funcs['pc_name'])
        self.pc_name_len = bind(funcs['pc_name_len'])
        self.pc_ctx_size = bind(funcs['pc_ctx_size'])
        self.pc_scratch_size = bind(funcs['pc_scratch_size'])
        self.pc_msg_count = bind(funcs['pc_msg_count'])
        self.pc_msg = bind(funcs['pc_msg'])
        self.pc_msg_len = bind(funcs['pc_msg_len'])
        self.pc_init = bind(funcs['pc_init'])
        self.pc_check = bind(funcs['pc_check'])
        self.pc_pending = bind(funcs['pc_pending'])
        self.pc_free = bind(funcs['pc_free'])
        self.pc_reset: Optional[Callable] = bind(funcs['pc_reset']) if 'pc_reset' in funcs else None
        self.pc_mpctx_offset: Optional[Callable] = bind(funcs['pc_mpctx_offset']) if 'pc_mpctx_offset' in funcs else None

    def read_string(self, ptr: int, byte_length: int) -> Optional[str]:
        """A UTF-16LE string exported as pointer + byte length (docs/ABI.md "Strings"); None if invalid."""
        if byte_length < 0 or byte_length % 2 != 0 or not self.memory.in_bounds(ptr, byte_length):
            return None
        return self.memory.read(ptr, byte_length).decode('utf-16-le', 'surrogatepass')


def _address(m: wasmtime.SharedMemory) -> int:
    return ctypes.addressof(m.data_ptr().contents)
