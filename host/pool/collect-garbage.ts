import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/**
 * A full collection of this thread's heap. V8 counts no shared memory (a class's WebAssembly.Memory, its
 * context table) towards any thread's GC pressure, so a dropped class's memory and code stay until every
 * thread that held them collects for some other reason: an idle worker never does, the main thread only
 * when its own garbage adds up (a 256 MiB class memory weighs nothing there). Threads that drop a class
 * call this, rate-limited.
 */
export function collectGarbage(): void {
  gc ??= exposedGc();
  gc();
}

function exposedGc(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  // Process-wide, but it only gives `gc` to contexts made from now on, such as this one.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
