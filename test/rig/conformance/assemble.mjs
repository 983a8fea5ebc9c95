import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SetupError } from './setup-error.mjs';

/** Assemble WebAssembly text into `dir/<id>.wasm` with binaryen (all features: shared memory imports). */
export async function assemble(dir, id, text) {
  const { default: binaryen } = await import('binaryen');
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(binaryen.Features.All);
    if (!mod.validate()) throw new SetupError(`fixture ${id} does not validate`);
    const path = join(dir, `${id}.wasm`);
    writeFileSync(path, mod.emitBinary());
    return path;
  } finally {
    mod.dispose();
  }
}
