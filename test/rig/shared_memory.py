"""
A class memory (docs/ABI.md "Imports"): one wasmtime.SharedMemory per class, with the module's
minimum and maximum = min(module max, class cap), imported by every instance of the class as env.memory.

Embedding defect worked around here: wasmtime-py (up to at least 49.0.0) cannot pass a SharedMemory
as an import. `SharedMemory._as_extern` wraps its pointer once more (`ctypes.pointer(self.ptr())`),
so Linker.define / Instance raise "incompatible types, LP_LP_wasmtime_sharedmemory instance instead
of LP_wasmtime_sharedmemory instance" (bytecodealliance/wasmtime-py#318), and `SharedMemory.size()`
has the same double indirection (`byref(self.ptr())` -> ctypes.ArgumentError). The subclass below
builds the extern from the pointer itself and computes the size from `data_len()`. The memory stays a
real shared memory created by wasmtime_sharedmemory_new; nothing is downgraded to a plain Memory.
"""
import ctypes

import wasmtime
from wasmtime import _ffi as ffi  # the extern union is only reachable through the bindings module

from .wasm_sections import MemoryLimits

PAGE = 65536


class _SharedMemory(wasmtime.SharedMemory):
    def _as_extern(self) -> ffi.wasmtime_extern_t:  # type: ignore[override]
        # wasmtime-py#318: the union's `sharedmemory` field is a wasmtime_sharedmemory_t*, which
        # self.ptr() already is. (Upstream passes ctypes.pointer(self.ptr()), a pointer to it.)
        union = ffi.wasmtime_extern_union(sharedmemory=self.ptr())
        return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)

    def size(self) -> int:  # type: ignore[override]
        # wasmtime-py#318 family: upstream passes byref(self.ptr()) and ctypes refuses it.
        return self.data_len() // PAGE


class ClassMemory:
    """The shared memory of one class: create, grow to a page count, expose its bytes."""

    def __init__(self, engine: wasmtime.Engine, limits: MemoryLimits, max_pages: int):
        assert limits.shared and limits.max is not None, 'validated before: shared with a maximum'
        self.maximum = min(limits.max, max_pages)
        initial = min(max(limits.min, 1), self.maximum)
        ty = wasmtime.MemoryType(wasmtime.Limits(initial, self.maximum), shared=True)
        self.shared = _SharedMemory(engine, ty)

    @property
    def pages(self) -> int:
        return self.shared.size()

    def grow_to(self, pages: int) -> bool:
        """Grow to at least `pages`; False when that is past the maximum."""
        have = self.pages
        if pages <= have:
            return True
        if pages > self.maximum:
            return False
        self.shared.grow(pages - have)
        return True

    def address(self) -> int:
        """Where the memory's bytes start. A shared memory never moves, even when it grows."""
        return ctypes.addressof(self.shared.data_ptr().contents)

    def byte_length(self) -> int:
        return self.shared.data_len()
