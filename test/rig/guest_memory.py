"""
Bounds-checked, little-endian access to a class memory from the host side. The view covers the
memory's current length and is remade when an access falls past it: another instance of the class may
have grown the memory since (a shared memory grows in place, so the start address never changes).
Guest pointers arrive as signed i32 from wasm and are taken unsigned, as the Node host does. The
fixed-width accessors (u32, set_*) are for pointers the caller has checked with in_bounds; the byte
range ones (read, write, fill) check and refresh themselves.
"""
import ctypes
import struct

from .shared_memory import ClassMemory

_U16 = struct.Struct('<H')
_U32 = struct.Struct('<I')
_U64 = struct.Struct('<Q')


class GuestMemory:
    def __init__(self, memory: ClassMemory):
        self.memory = memory
        self._refresh()

    def _refresh(self) -> None:
        n = self.memory.byte_length()
        self.view = memoryview((ctypes.c_ubyte * n).from_address(self.memory.address())).cast('B')
        self.length = n

    def in_bounds(self, ptr: int, length: int) -> bool:
        start = ptr & 0xFFFFFFFF
        if length < 0:
            return False
        end = start + length
        if end <= self.length:
            return True
        self._refresh()
        return end <= self.length

    def u32(self, ptr: int) -> int:
        return _U32.unpack_from(self.view, ptr & 0xFFFFFFFF)[0]

    def set_u8(self, ptr: int, value: int) -> None:
        self.view[ptr & 0xFFFFFFFF] = value & 0xFF

    def set_u16(self, ptr: int, value: int) -> None:
        _U16.pack_into(self.view, ptr & 0xFFFFFFFF, value & 0xFFFF)

    def set_u32(self, ptr: int, value: int) -> None:
        _U32.pack_into(self.view, ptr & 0xFFFFFFFF, value & 0xFFFFFFFF)

    def set_u64(self, ptr: int, value: int) -> None:
        _U64.pack_into(self.view, ptr & 0xFFFFFFFF, value & 0xFFFFFFFFFFFFFFFF)

    def _span(self, ptr: int, length: int) -> slice:
        """The bytes [ptr, ptr + length), remaking the view first if the memory grew under it."""
        if not self.in_bounds(ptr, length):
            raise IndexError(f'guest range {ptr & 0xFFFFFFFF:#x}+{length} is outside memory ({self.length} bytes)')
        start = ptr & 0xFFFFFFFF
        return slice(start, start + length)

    # The span is taken before self.view is read: in `self.view[span] = x` Python would fetch the
    # view first, and a refresh inside the subscript would come too late.
    def read(self, ptr: int, length: int) -> bytes:
        """A copy of guest bytes."""
        span = self._span(ptr, length)
        return bytes(self.view[span])

    def write(self, ptr: int, data: bytes) -> None:
        span = self._span(ptr, len(data))
        self.view[span] = data

    def fill(self, ptr: int, length: int, value: int = 0) -> None:
        span = self._span(ptr, length)
        self.view[span] = bytes([value]) * length
