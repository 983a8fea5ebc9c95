"""
Where things live in a class memory (docs/ABI.md "Memory layout"):

    0 .. dataEnd        the module's active data segments
    scratch[0..T)       one region of pc_scratch_size bytes per host thread, 16-byte aligned
    ctx[0..N)           one slot of pc_ctx_size bytes per bound path, 16-byte aligned
"""
ALIGN = 16
PAGE = 65536


def align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class MemoryLayout:
    def __init__(self, data_end: int, scratch_size: int, scratch_regions: int, ctx_size: int):
        self.scratch_regions = scratch_regions
        self.scratch_base = align(max(data_end, ALIGN))
        self.scratch_stride = align(scratch_size)
        self.ctx_base = self.scratch_base + self.scratch_stride * scratch_regions
        self.ctx_stride = max(ALIGN, align(ctx_size))

    def scratch(self, region: int) -> int:
        return self.scratch_base + region * self.scratch_stride

    def ctx(self, slot: int) -> int:
        return self.ctx_base + slot * self.ctx_stride

    def pages_for(self, slots: int) -> int:
        """Pages needed to hold `slots` contexts."""
        return -(-(self.ctx_base + slots * self.ctx_stride) // PAGE)
