// A bench-only peer: one checker instance called directly on the calling thread, through the same
// WASI shim and simulated device a pool worker uses, with none of the pool around it, but with the
// per-check bookkeeping the host does on any thread (context hold, class reference, result and message
// decoding), as the in-thread limit always included. The daemon never runs plugin code on its main
// thread; this exists to measure the limit the pool is compared with.
import { readFileSync } from 'node:fs';
import { decodeCheckResult } from '../dist/host/abi/abi-version.js';
import { MessageTable } from '../dist/host/abi/message.js';
import { openDevice } from '../dist/host/backends/device-spec.js';
import { PluginInstance } from '../dist/host/pool/plugin-instance.js';
import { readMetadata } from '../dist/host/pool/read-metadata.js';
import { ContextTable } from '../dist/host/registry/context-table.js';
import { MemoryLayout } from '../dist/host/registry/memory-layout.js';
import { RefCount } from '../dist/host/registry/refcount.js';
import { validateModule } from '../dist/host/registry/validate-module.js';
import { DeviceNamespace } from '../dist/host/shim/device-namespace.js';

const MAX_PAGES = 4096;

/** A function that runs one check of `spec` with the checker in `file` and returns the path state code. */
export async function inThreadChecker(file, spec) {
  const validated = await validateModule(new Uint8Array(readFileSync(file)), file, { maxPages: MAX_PAGES });
  const maximum = Math.min(validated.memory.max, MAX_PAGES);
  const memory = new WebAssembly.Memory({ initial: Math.max(validated.memory.min, 1), maximum, shared: true });
  const instance = PluginInstance.create(validated.module, memory, new DeviceNamespace());
  const meta = readMetadata(instance);
  const layout = new MemoryLayout(validated.dataEnd, meta.scratchSize, 1, meta.ctxSize);
  const need = layout.pagesFor(1) - memory.buffer.byteLength / 65536;
  if (need > 0) memory.grow(need);
  const fd = instance.shim.fds.openDevice(openDevice(spec));
  const ctx = layout.ctx(0);
  const scratch = layout.scratch(0);
  const x = instance.exports;
  if (x.pc_init(ctx, fd, scratch) !== 0) throw new Error(`${file}: pc_init failed`);
  const contexts = new ContextTable(1);
  const handle = contexts.acquire();
  const refs = new RefCount(() => {}, () => {});
  refs.ref();
  const messages = new MessageTable(meta.name, meta.messages);
  return () => {
    contexts.hold(handle);
    refs.ref();
    const raw = x.pc_check(ctx, fd, scratch);
    // A device that answers at once never makes a check wait; one that does is not this peer's case.
    if (raw < 0) throw new Error(`${file} waited on ${spec}: the in-thread peer needs a device that answers at once`);
    const { state, msgid } = decodeCheckResult(raw);
    messages.format(msgid);
    contexts.release(handle);
    refs.unref();
    return state;
  };
}
