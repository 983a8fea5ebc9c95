"""
pathcheck's wasmtime rig: a second, independent host for checker plugins, written against
docs/ABI.md only, running the same .wasm bytes under the real wasmtime engine (Python embedding).

One concept per file, bottom up:

    wasi_errno       WASI preview1 errno values
    path_state       libmultipath path states
    messages         generic message texts, a class's message table, host messages, result decoding
    load_error       why a module was refused (one line, same text as the Node host)
    wasm_sections    memory import limits, defined memories, data segment end: read from the binary
    engine           the wasmtime Engine with the threads proposal and shared memories on
    shared_memory    the class's wasmtime.SharedMemory (and the embedding defect worked around)
    guest_memory     bounds-checked little-endian access to that memory
    memory_layout    dataEnd | scratch regions | context slots (docs/ABI.md "Memory layout")
    abi_loader       module validation: imports, memory, exports
    deadline         when a device wait or a parked call gives up
    device_io        a device's one outstanding command, readable when its time comes
    fd_mode          how a device fd waits: blocking (a stock WASI runtime) or resuming (EAGAIN)
    sg_header        struct sg_header: offsets, CDB length, status word packing
    sg_channel       the sg v2 write-then-read protocol on one device fd
    fd_table         an instance's file descriptors
    device_namespace names a plugin may path_open under the preopened `dev`
    wasi_shim        the WASI preview1 subset the ABI allows
    command_kind     what a sim scenario keys a per-command program by: command name, and page
    scenario_file    host/backends/sim/scenarios.json compiled (names tables, programs, params, data)
    sim_spec         sim:<scenario>[?key=value&...] device specs
    sense_bytes      fixed and descriptor sense data
    inquiry_data     standard INQUIRY data of a simulated disk
    disk_data        a simulated disk's own data: blocks, READ CAPACITY, VPD pages 0x00 and 0x80
    sim_device       a simulated SCSI disk running a scenario
    plugin_instance  one instance of a class: linker, imports, exports
    host_thread      one host thread of a class: its instance, scratch region, fd numbers
    resumable_call   pc_init / pc_check, then pc_pending on the other thread while it answers WAIT
    checker_class    a loaded class: metadata, message table, layout, threads, contexts (pc_init)
    run_check        one check and what it means: state and message, and how often it parked
    stock_wasi       a checker under wasmtime's own WASI on a read-only disk image: no shim of ours
    cli              `python test/rig --json` (the conformance runner's protocol) and a human CLI

conformance.mjs (with conformance/) runs the same bytes under the Node host and this rig, in both fd
modes, and compares every answer.
"""
