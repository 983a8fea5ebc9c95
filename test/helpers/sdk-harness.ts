// Compiles test/fixtures/sdk-harness.ts (thin exports over the plugin SDK) with asc exactly as
// scripts/build-checkers.mjs compiles a checker, and instantiates it on a fresh shared memory.

import asc from 'assemblyscript/asc';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HARNESS = join(ROOT, 'test', 'fixtures', 'sdk-harness.ts');

export type HarnessFn = (...args: number[]) => number;

/** The two WASI calls the SDK imports (sgSubmit's fd_write, sgCollect's fd_read); tests stub them. */
export interface HarnessWasi {
  fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number): number;
  fd_read(fd: number, iovs: number, iovsLen: number, nread: number): number;
}

export interface SdkHarness {
  memory: WebAssembly.Memory;
  /** The harness's exports (h_*). */
  h: Record<string, HarnessFn>;
  imports: WebAssembly.ModuleImportDescriptor[];
  /** The module's text, as asc emitted it. */
  wat: string;
}

async function compileHarness(): Promise<{ wasm: Uint8Array<ArrayBuffer>; wat: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pathcheck-sdk-harness-'));
  try {
    const wasm = join(dir, 'sdk-harness.wasm');
    const wat = join(dir, 'sdk-harness.wat');
    const { error, stderr } = await asc.main([
      HARNESS,
      '--config', join(ROOT, 'asconfig.json'),
      '--target', 'release',
      '--outFile', wasm,
      '--textFile', wat,
      '--noColors',
    ]);
    if (error) throw new Error(`sdk-harness: compile failed: ${error.message}\n${stderr.toString()}`);
    return { wasm: new Uint8Array(await readFile(wasm)), wat: await readFile(wat, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Compiles and instantiates the harness with `wasi` as its wasi_snapshot_preview1 imports. */
export async function loadSdkHarness(wasi: HarnessWasi): Promise<SdkHarness> {
  const { wasm, wat } = await compileHarness();
  const module = await WebAssembly.compile(wasm);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true });
  const instance = await WebAssembly.instantiate(module, {
    env: { memory },
    wasi_snapshot_preview1: { fd_write: wasi.fd_write, fd_read: wasi.fd_read },
  });
  return {
    memory,
    h: instance.exports as unknown as Record<string, HarnessFn>,
    imports: WebAssembly.Module.imports(module),
    wat,
  };
}
