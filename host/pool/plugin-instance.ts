import type { DeviceNamespace } from '../shim/device-namespace.js';
import { GuestMemory } from '../shim/guest-memory.js';
import { WasiShim, type LogSink } from '../shim/wasi.js';

/** The plugin's exports as the host calls them (docs/ABI.md "Exports"); validated at load. */
export interface PluginExports {
  pc_abi_version(): number;
  pc_name(): number;
  pc_name_len(): number;
  pc_ctx_size(): number;
  pc_scratch_size(): number;
  pc_msg_count(): number;
  pc_msg(id: number): number;
  pc_msg_len(id: number): number;
  pc_init(ctx: number, fd: number, scratch: number): number;
  pc_check(ctx: number, fd: number, scratch: number): number;
  pc_pending(ctx: number, fd: number, scratch: number): number;
  pc_free(ctx: number): void;
  pc_reset?(): void;
  pc_mpctx_offset?(): number;
}

/** One instance of a class on one host thread, with its own WASI shim (fd table, deadline). */
export class PluginInstance {
  private constructor(
    readonly exports: PluginExports,
    readonly shim: WasiShim,
    readonly memory: GuestMemory,
  ) {}

  /** `log`: where the plugin's stdout and stderr go (docs/ABI.md "stdout and stderr"); discarded by default. */
  static create(module: WebAssembly.Module, memory: WebAssembly.Memory, namespace: DeviceNamespace, log?: LogSink): PluginInstance {
    const guest = new GuestMemory(memory);
    const shim = new WasiShim(guest, namespace, log);
    const instance = new WebAssembly.Instance(module, {
      env: { memory },
      wasi_snapshot_preview1: shim.imports(),
    });
    return new PluginInstance(instance.exports as unknown as PluginExports, shim, guest);
  }

  /** A UTF-16LE string the plugin exported as pointer + byte length (docs/ABI.md "Strings"). */
  readString(ptr: number, byteLength: number): string | null {
    if (byteLength < 0 || byteLength % 2 !== 0 || !this.memory.inBounds(ptr, byteLength)) return null;
    return Buffer.from(this.memory.bytes(ptr, byteLength)).toString('utf16le');
  }
}
