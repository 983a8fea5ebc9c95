"""
What a module must satisfy before the rig instantiates it (docs/ABI.md "Imports", "Exports"). Checks
run in the same order as the Node host's host/registry/validate-module.ts and refuse with the same
one-line reason, so a plugin author sees one diagnosis whichever host loads the plugin. The only text
that differs is an engine's own compile error after "invalid WebAssembly module: ".
"""
import hashlib
from dataclasses import dataclass
from typing import Optional

import wasmtime

from .load_error import LoadError
from .wasi_subset import SUPPORTED_WASI
from .wasm_sections import MemoryLimits, module_facts

WASM_MAGIC = b'\x00asm'
WASI_MODULE = 'wasi_snapshot_preview1'
REQUIRED_EXPORTS = (
    'memory',
    'pc_abi_version',
    'pc_name',
    'pc_name_len',
    'pc_ctx_size',
    'pc_scratch_size',
    'pc_msg_count',
    'pc_msg',
    'pc_msg_len',
    'pc_init',
    'pc_check',
    'pc_pending',
    'pc_free',
)
OPTIONAL_EXPORTS = ('pc_reset', 'pc_mpctx_offset')
SUPPORTED = frozenset(SUPPORTED_WASI)


def extern_kind(ty: object) -> str:
    """An import or export type as the WebAssembly JS API names its kind (what the reason texts use)."""
    if isinstance(ty, wasmtime.FuncType):
        return 'function'
    if isinstance(ty, wasmtime.MemoryType):
        return 'memory'
    if isinstance(ty, wasmtime.TableType):
        return 'table'
    if isinstance(ty, wasmtime.GlobalType):
        return 'global'
    return 'tag'


def _compile_error(e: Exception) -> str:
    """wasmtime's error and its innermost cause on one line (the engine's wording, not V8's)."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if not lines:
        return 'cannot compile'
    if 'Caused by:' in lines and lines[-1] != 'Caused by:':
        return f'{lines[0]}: {lines[-1]}'
    return lines[0]


@dataclass(frozen=True)
class ValidatedModule:
    module: wasmtime.Module
    sha256: str
    size: int
    memory: MemoryLimits
    data_end: int
    has_reset: bool
    has_mpctx_offset: bool


def validate_module(engine: wasmtime.Engine, data: bytes, origin: str, max_pages: int, sha256: Optional[str] = None) -> ValidatedModule:
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and sha256.lower() != digest:
        raise LoadError('sha256', f'{origin}: sha256 {digest} does not match the pinned {sha256.lower()}')
    if len(data) < 8 or data[:4] != WASM_MAGIC:
        raise LoadError('not-wasm', f'{origin}: not a WebAssembly module (no \\0asm header)')
    try:
        module = wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as e:
        raise LoadError('invalid-module', f'{origin}: invalid WebAssembly module: {_compile_error(e)}') from None
    facts = module_facts(data)

    for imp in module.imports:
        kind = extern_kind(imp.type)
        if kind == 'memory' and imp.module == 'env' and imp.name == 'memory':
            continue
        if imp.module == WASI_MODULE and kind == 'function':
            if imp.name in SUPPORTED:
                continue
            raise LoadError('import', f'{origin}: imports {WASI_MODULE}.{imp.name}, which the pathcheck WASI subset does not provide')
        raise LoadError('import', f'{origin}: imports {imp.module}.{imp.name} ({kind}); a checker may import only env.memory and {WASI_MODULE} functions')
    if facts.defined_memories > 0:
        raise LoadError('own-memory', f"{origin}: defines its own memory; a checker must import the host's shared env.memory")
    mem = next((m for m in facts.memory_imports if m.module == 'env' and m.name == 'memory'), None)
    if mem is None:
        raise LoadError('memory', f'{origin}: does not import env.memory')
    lim = mem.limits
    if not lim.shared or lim.max is None:
        shared = 'shared' if lim.shared else 'not shared'
        raise LoadError('memory', f"{origin}: env.memory must be shared with a maximum (declared {shared}, max {'none' if lim.max is None else lim.max})")
    if lim.min > max_pages:
        raise LoadError('memory', f'{origin}: env.memory needs {lim.min} pages at start, over the class cap of {max_pages} pages')
    if facts.dynamic_data_segments > 0:
        raise LoadError('memory', f'{origin}: has data segments at non-constant offsets; the host cannot lay out memory around them')

    exports = {e.name: extern_kind(e.type) for e in module.exports}
    missing = [n for n in REQUIRED_EXPORTS if n not in exports]
    if missing:
        raise LoadError('missing-export', f"{origin}: missing export{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for name in REQUIRED_EXPORTS + OPTIONAL_EXPORTS:
        kind = exports.get(name)
        want = 'memory' if name == 'memory' else 'function'
        if kind is not None and kind != want:
            raise LoadError('bad-export', f'{origin}: export {name} is a {kind}, expected a {want}')
    return ValidatedModule(module, digest, len(data), lim, facts.data_end, 'pc_reset' in exports, 'pc_mpctx_offset' in exports)
