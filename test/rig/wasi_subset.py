"""
The wasi_snapshot_preview1 functions a checker may import (docs/ABI.md "WASI subset"), with their
preview1 signatures. Anything else is refused at load.
"""
from typing import Dict, Tuple

import wasmtime

_I32 = wasmtime.ValType.i32()
_I64 = wasmtime.ValType.i64()

#: name -> (params, results), in docs/ABI.md order.
SIGNATURES: Dict[str, Tuple[tuple, tuple]] = {
    'args_get': ((_I32, _I32), (_I32,)),
    'args_sizes_get': ((_I32, _I32), (_I32,)),
    'environ_get': ((_I32, _I32), (_I32,)),
    'environ_sizes_get': ((_I32, _I32), (_I32,)),
    'clock_time_get': ((_I32, _I64, _I32), (_I32,)),
    'fd_close': ((_I32,), (_I32,)),
    'fd_fdstat_get': ((_I32, _I32), (_I32,)),
    'fd_prestat_get': ((_I32, _I32), (_I32,)),
    'fd_prestat_dir_name': ((_I32, _I32, _I32), (_I32,)),
    'fd_pread': ((_I32, _I32, _I32, _I64, _I32), (_I32,)),
    'fd_read': ((_I32, _I32, _I32, _I32), (_I32,)),
    'fd_write': ((_I32, _I32, _I32, _I32), (_I32,)),
    'path_open': ((_I32, _I32, _I32, _I32, _I32, _I64, _I64, _I32, _I32), (_I32,)),
    'proc_exit': ((_I32,), ()),
    'random_get': ((_I32, _I32), (_I32,)),
    'sched_yield': ((), (_I32,)),
}

SUPPORTED_WASI = tuple(SIGNATURES)


def func_type(name: str) -> wasmtime.FuncType:
    params, results = SIGNATURES[name]
    return wasmtime.FuncType(list(params), list(results))
