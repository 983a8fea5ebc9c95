"""The wasmtime Engine the rig runs every class in: threads proposal and shared memories enabled."""
import wasmtime


def make_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    # Checkers import `(memory shared min max)` (docs/ABI.md "Imports"): both switches are needed to
    # compile such a module and to create its memory.
    config.wasm_threads = True
    config.shared_memory = True
    return wasmtime.Engine(config)
