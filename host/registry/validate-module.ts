import { createHash } from 'node:crypto';
import { SUPPORTED_WASI } from '../shim/wasi.js';
import { LoadError } from './load-error.js';
import { moduleFacts, type MemoryLimits, type ModuleFacts } from './wasm-sections.js';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const REQUIRED_EXPORTS = [
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
] as const;
const OPTIONAL_EXPORTS = ['pc_reset', 'pc_mpctx_offset'] as const;
const NO_ARGS = '() -> i32';
const ONE_ARG = '(i32) -> i32';
const CALL = '(i32, i32, i32) -> i32';
/** docs/ABI.md "Exports": a function of another type would be called with the wrong values, or give back a BigInt or a fraction. */
const SIGNATURES: Record<string, string> = {
  pc_abi_version: NO_ARGS,
  pc_name: NO_ARGS,
  pc_name_len: NO_ARGS,
  pc_ctx_size: NO_ARGS,
  pc_scratch_size: NO_ARGS,
  pc_msg_count: NO_ARGS,
  pc_msg: ONE_ARG,
  pc_msg_len: ONE_ARG,
  pc_init: CALL,
  pc_check: CALL,
  pc_pending: CALL,
  pc_free: '(i32) -> ()',
  pc_reset: '() -> ()',
  pc_mpctx_offset: NO_ARGS,
};
const WASI_MODULE = 'wasi_snapshot_preview1';

/** Text from the module (import names, the compiler's complaint) in a one-line message: control characters escaped. */
function shown(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
const SUPPORTED = new Set<string>(SUPPORTED_WASI);

export interface ValidatedModule {
  readonly module: WebAssembly.Module;
  readonly sha256: string;
  readonly bytes: number;
  readonly memory: MemoryLimits;
  readonly dataEnd: number;
  /** Required exports it lacks: refused after its ABI version has been read. */
  readonly missing: readonly string[];
}

/**
 * Everything a module must satisfy before a host instantiates it (docs/ABI.md "Imports", "Exports").
 * The ABI version and the plugin's own sizes are checked after instantiation, by the class.
 * Throws LoadError with one line that names what is wrong; `origin` names the file for the user.
 */
export async function validateModule(bytes: Uint8Array<ArrayBuffer>, origin: string, opts: { sha256?: string; maxPages: number }): Promise<ValidatedModule> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (opts.sha256 !== undefined && opts.sha256.toLowerCase() !== sha256) {
    throw new LoadError('sha256', `${origin}: sha256 ${sha256} does not match the pinned ${opts.sha256.toLowerCase()}`);
  }
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new LoadError('not-wasm', `${origin}: not a WebAssembly module (no \\0asm header)`);
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    throw new LoadError('invalid-module', `${origin}: invalid WebAssembly module: ${shown((e as Error).message.replace(/^WebAssembly\.compile\(\): /, ''))}`);
  }
  let facts: ModuleFacts;
  try {
    facts = moduleFacts(bytes);
  } catch (e) {
    throw new LoadError('invalid-module', `${origin}: an encoding the host does not read: ${shown((e as Error).message)}`);
  }

  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'memory' && imp.module === 'env' && imp.name === 'memory') continue;
    if (imp.module === WASI_MODULE && imp.kind === 'function') {
      if (SUPPORTED.has(imp.name)) continue;
      throw new LoadError('import', `${origin}: imports ${WASI_MODULE}.${shown(imp.name)}, which the pathcheck WASI subset does not provide`);
    }
    throw new LoadError('import', `${origin}: imports ${shown(imp.module)}.${shown(imp.name)} (${imp.kind}); a checker may import only env.memory and ${WASI_MODULE} functions`);
  }
  if (facts.definedMemories > 0) {
    throw new LoadError('own-memory', `${origin}: defines its own memory; a checker must import the host's shared env.memory`);
  }
  const memImport = facts.memoryImports.find((m) => m.module === 'env' && m.name === 'memory');
  if (memImport === undefined) {
    throw new LoadError('memory', `${origin}: does not import env.memory`);
  }
  const lim = memImport.limits;
  if (!lim.shared || lim.max === null) {
    throw new LoadError('memory', `${origin}: env.memory must be shared with a maximum (declared ${lim.shared ? 'shared' : 'not shared'}, max ${lim.max ?? 'none'})`);
  }
  if (lim.min > opts.maxPages) {
    throw new LoadError('memory', `${origin}: env.memory needs ${lim.min} pages at start, over the class cap of ${opts.maxPages} pages`);
  }
  if (facts.hasStart) {
    throw new LoadError('start', `${origin}: has a start function; a checker may not run code when a host thread instantiates it`);
  }
  if (facts.dynamicDataSegments > 0) {
    throw new LoadError('memory', `${origin}: has data segments at non-constant offsets; the host cannot lay out memory around them`);
  }

  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  const missing = REQUIRED_EXPORTS.filter((name) => !exports.has(name));
  // With a version to read, the version speaks first (a v1 checker lacks pc_pending): the class
  // refuses the module once a worker has read it.
  if (missing.length > 0 && exports.get('pc_abi_version') !== 'function') {
    throw new LoadError('missing-export', missingExports(origin, missing));
  }
  for (const name of [...REQUIRED_EXPORTS, ...OPTIONAL_EXPORTS]) {
    const kind = exports.get(name);
    const want = name === 'memory' ? 'memory' : 'function';
    if (kind !== undefined && kind !== want) throw new LoadError('bad-export', `${origin}: export ${name} is a ${kind}, expected a ${want}`);
    const signature = facts.exportSignatures.get(name);
    // pc_abi_version is read whatever the version; a v1 module's other exports are judged by its version.
    const judged = name === 'pc_abi_version' || missing.length === 0;
    if (judged && signature !== undefined && signature !== SIGNATURES[name]) {
      throw new LoadError('bad-export', `${origin}: export ${name} has type ${signature}, expected ${SIGNATURES[name]}`);
    }
  }
  return {
    module,
    sha256,
    bytes: bytes.length,
    memory: lim,
    dataEnd: facts.dataEnd,
    missing,
  };
}

export function missingExports(origin: string, missing: readonly string[]): string {
  return `${origin}: missing export${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
}
