"""
The facts about a module's binary that no engine API exposes: the limits and shared flag of memory
imports, whether the module defines a memory, and where its active data segments end (dataEnd,
docs/ABI.md "Memory layout"). Only called on bytes that already compiled.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Union

SECTION_IMPORT = 2
SECTION_MEMORY = 5
SECTION_DATA = 11
KIND_FUNC = 0
KIND_TABLE = 1
KIND_MEMORY = 2
KIND_GLOBAL = 3
KIND_TAG = 4
OP_I32_CONST = 0x41
OP_END = 0x0B


@dataclass(frozen=True)
class MemoryLimits:
    min: int
    max: Optional[int]
    shared: bool


@dataclass(frozen=True)
class MemoryImport:
    module: str
    name: str
    limits: MemoryLimits


@dataclass
class ModuleFacts:
    memory_imports: List[MemoryImport] = field(default_factory=list)
    defined_memories: int = 0
    #: End (exclusive) of the highest active data segment with a constant offset; 0 when none.
    data_end: int = 0
    #: Active data segments whose offset is not a constant: nothing can be laid out around those.
    dynamic_data_segments: int = 0


class _Reader:
    def __init__(self, b: bytes, start: int, end: int):
        self.b = b
        self.pos = start
        self.end = end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise ValueError('unexpected end of section')
        v = self.b[self.pos]
        self.pos += 1
        return v

    def u32(self) -> int:
        result = 0
        shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if byte & 0x80 == 0:
                return result
            shift += 7
            if shift > 35:
                raise ValueError('LEB128 too long')

    def i32(self) -> int:
        result = 0
        shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not (byte & 0x80) or shift >= 35:
                break
        if shift < 32 and byte & 0x40:
            result |= -1 << shift
        return ((result + 0x80000000) & 0xFFFFFFFF) - 0x80000000

    def name(self) -> str:
        n = self.u32()
        if self.pos + n > self.end:
            raise ValueError('name past end of section')
        s = self.b[self.pos:self.pos + n].decode('utf-8', 'replace')
        self.pos += n
        return s

    def limits(self) -> MemoryLimits:
        flags = self.byte()
        lo = self.u32()
        hi = self.u32() if flags & 1 else None
        return MemoryLimits(lo, hi, bool(flags & 2))


def module_facts(b: bytes) -> ModuleFacts:
    facts = ModuleFacts()
    top = _Reader(b, 8, len(b))
    while top.pos < len(b):
        section = top.byte()
        size = top.u32()
        r = _Reader(b, top.pos, top.pos + size)
        top.pos += size
        if section == SECTION_IMPORT:
            for _ in range(r.u32()):
                module = r.name()
                name = r.name()
                kind = r.byte()
                if kind == KIND_MEMORY:
                    facts.memory_imports.append(MemoryImport(module, name, r.limits()))
                else:
                    _skip_import_desc(r, kind)
        elif section == SECTION_MEMORY:
            facts.defined_memories = r.u32()
        elif section == SECTION_DATA:
            for _ in range(r.u32()):
                seg = _data_segment(r)
                if seg == 'dynamic':
                    facts.dynamic_data_segments += 1
                elif seg != 'passive':
                    facts.data_end = max(facts.data_end, int(seg))
    return facts


def _skip_import_desc(r: _Reader, kind: int) -> None:
    if kind == KIND_FUNC:
        r.u32()
    elif kind == KIND_TABLE:
        r.byte()
        r.limits()
    elif kind == KIND_GLOBAL:
        r.byte()
        r.byte()
    elif kind == KIND_TAG:
        r.byte()
        r.u32()
    else:
        raise ValueError(f'unknown import kind {kind}')


def _data_segment(r: _Reader) -> Union[int, str]:
    """An active segment's end offset, 'passive', or 'dynamic' when its offset is not an i32.const."""
    flags = r.u32()
    if flags == 1:
        r.pos += r.u32()
        return 'passive'
    if flags == 2:
        r.u32()
    offset: Optional[int] = None
    if r.byte() == OP_I32_CONST:
        offset = r.i32() & 0xFFFFFFFF
        if r.byte() != OP_END:
            offset = None
    if offset is None:
        while r.byte() != OP_END:
            pass
    n = r.u32()
    r.pos += n
    return 'dynamic' if offset is None else offset + n
