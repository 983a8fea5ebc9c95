import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckResult } from '../../host/abi/abi-version.js';
import { MessageTable } from '../../host/abi/message.js';
import type { Device } from '../../host/backends/device.js';
import { CHECKERS_DIR } from '../../host/cli/package-paths.js';
import { PluginInstance } from '../../host/pool/plugin-instance.js';
import { readMetadata } from '../../host/pool/read-metadata.js';
import { MemoryLayout } from '../../host/registry/memory-layout.js';
import { validateModule } from '../../host/registry/validate-module.js';
import { DeviceNamespace } from '../../host/shim/device-namespace.js';

const MAX_PAGES = 256;
const WAIT = 0x80000000;

/** What one call answered: a result (state and the text a user sees), or WAIT. */
export type Answer = { readonly state: number; readonly message: string } | 'wait';

/**
 * One instance of a built checker, called directly on this thread through the real WASI shim, on one
 * device (a FakeDevice records every command and answers as the test programs it): for the exact
 * commands a checker sends. The pool is not here; a test calls pc_pending itself when a device answers.
 */
export class DirectChecker {
  private constructor(
    private readonly instance: PluginInstance,
    private readonly messages: MessageTable,
    private readonly fd: number,
    private readonly ctx: number,
    private readonly scratch: number,
  ) {}

  static async open(name: string, device: Device): Promise<DirectChecker> {
    const file = join(CHECKERS_DIR, `${name}.wasm`);
    const validated = await validateModule(new Uint8Array(readFileSync(file)), file, { maxPages: MAX_PAGES });
    const memory = new WebAssembly.Memory({ initial: Math.max(validated.memory.min, 1), maximum: Math.min(validated.memory.max, MAX_PAGES), shared: true });
    const instance = PluginInstance.create(validated.module, memory, new DeviceNamespace());
    const meta = readMetadata(instance);
    const layout = new MemoryLayout(validated.dataEnd, meta.scratchSize, 1, meta.ctxSize);
    const need = layout.pagesFor(1) - memory.buffer.byteLength / 65536;
    if (need > 0) memory.grow(need);
    return new DirectChecker(instance, new MessageTable(meta.name, meta.messages), instance.shim.fds.openDevice(device), layout.ctx(0), layout.scratch(0));
  }

  /** pc_init: 0, another number, or 'wait'. */
  init(): number | 'wait' {
    const raw = this.instance.exports.pc_init(this.ctx, this.fd, this.scratch);
    return (raw & WAIT) !== 0 ? 'wait' : raw;
  }

  check(): Answer {
    return this.decode(this.instance.exports.pc_check(this.ctx, this.fd, this.scratch));
  }

  pending(): Answer {
    return this.decode(this.instance.exports.pc_pending(this.ctx, this.fd, this.scratch));
  }

  private decode(raw: number): Answer {
    if ((raw & WAIT) !== 0) return 'wait';
    const { state, msgid } = decodeCheckResult(raw);
    return { state, message: this.messages.format(msgid) };
  }
}
