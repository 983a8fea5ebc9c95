"""
A checker under wasmtime's own WASI implementation (preview1, `Linker.define_wasi`): no shim of ours, a
preopened directory of disk-image files, opened read-only (a stock WASI runtime's file rights). This is
what a checker that only reads can count on anywhere: its fd is a plain file, `fd_pread` reads it and
blocks until it has, `fd_write` fails. directio works so (its READ CAPACITY through an sg frame fails,
so it reads 4096 bytes, directio.c's default); readsector0 sends READ(10) as an sg frame and is down.

The fd a check gets is a file of that directory, opened by a three-line module instantiated in the same
Store (so in the same WASI context): the host itself has no way to open one.
"""
import os
from typing import Any, Dict

import wasmtime

from . import path_state as ps
from .abi_loader import validate_module
from .guest_memory import GuestMemory
from .memory_layout import MemoryLayout
from .messages import FIRST_MSGID, MessageTable, decode_check_result
from .shared_memory import ClassMemory

#: Where the images' directory is preopened (fd 3).
GUEST_DIR = 'disks'
#: WASI rights fd_read | fd_seek: what a positioned read needs, nothing to write with.
READ_RIGHTS = 0x2 | 0x4
MAX_PAGES = 4096
WAIT = 0x80000000

OPENER = '''(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "open") (param $len i32) (result i32)
    (local $errno i32)
    (local.set $errno (call $open (i32.const 3) (i32.const 0) (i32.const 64) (local.get $len) (i32.const 0)
      (i64.const %d) (i64.const 0) (i32.const 0) (i32.const 8)))
    (if (result i32) (local.get $errno) (then (i32.sub (i32.const 0) (local.get $errno))) (else (i32.load (i32.const 8))))))''' % READ_RIGHTS


def check_image(engine: wasmtime.Engine, checker: str, image: str) -> Dict[str, Any]:
    """pc_init and one pc_check of `checker` on the disk image `image`: state, code, message, fd."""
    with open(checker, 'rb') as f:
        validated = validate_module(engine, f.read(), checker, MAX_PAGES, None)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.preopen_dir(os.path.dirname(os.path.abspath(image)), GUEST_DIR, False)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    memory = ClassMemory(engine, validated.memory, MAX_PAGES)
    linker.define(store, 'env', 'memory', memory.shared)
    plugin = linker.instantiate(store, validated.module).exports(store)
    opener = linker.instantiate(store, wasmtime.Module(engine, OPENER)).exports(store)
    name = os.path.basename(image).encode()
    opener['memory'].write(store, name, 64)
    fd = opener['open'](store, len(name))
    if fd < 0:
        return {'error': f'cannot open {image} under wasmtime WASI: errno {-fd}'}
    guest = GuestMemory(memory)
    call = lambda export, *args: plugin[export](store, *args)
    messages = [guest.read(call('pc_msg', FIRST_MSGID + i), call('pc_msg_len', FIRST_MSGID + i)).decode('utf-16-le') for i in range(call('pc_msg_count'))]
    checker_name = guest.read(call('pc_name'), call('pc_name_len')).decode('utf-16-le')
    layout = MemoryLayout(validated.data_end, call('pc_scratch_size'), 1, call('pc_ctx_size'))
    memory.grow_to(layout.pages_for(1))
    ctx, scratch = layout.ctx(0), layout.scratch(0)
    if call('pc_init', ctx, fd, scratch) != 0:
        return {'error': f'{checker_name} pc_init failed on {image}'}
    raw = call('pc_check', ctx, fd, scratch) & 0xFFFFFFFF
    # Stock WASI files block: a plugin written to the ABI never waits here.
    if raw & WAIT:
        return {'error': f'{checker_name} waited on fd {raw & 0xFFFF} under blocking WASI'}
    state, msgid = decode_check_result(raw)
    return {'checker': checker_name, 'image': os.path.basename(image), 'fd': fd, 'state': ps.state_name(state), 'code': state,
            'message': MessageTable(checker_name, messages).format(msgid)}
