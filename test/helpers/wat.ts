import binaryen from 'binaryen';

/** Assemble WebAssembly text into module bytes (all features on, so shared memory imports are allowed). */
export function wat(text: string): Uint8Array<ArrayBuffer> {
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(binaryen.Features.All);
    if (!mod.validate()) throw new Error('fixture module does not validate');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

function utf16(s: string): string {
  return [...Buffer.from(s, 'utf16le')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

export interface FakePlugin {
  abi?: number;
  name?: string;
  /** Body of pc_check (params $ctx $fd $scratch, result i32). Default: up with generic message 4. */
  check?: string;
  /** Body of pc_pending (params $ctx $fd $scratch, result i32). Default: as pc_check's default. */
  pending?: string;
  /** Body of pc_init (params $ctx $fd $scratch, result i32). Default: 0. */
  init?: string;
  /** Body of pc_free (param $ctx). Default: nothing. */
  free?: string;
  /** Extra module fields: imports, functions. */
  extra?: string;
  /** Replace the memory import line (e.g. with a defined memory). */
  memory?: string;
  /** Exports to leave out. */
  omit?: string[];
  ctxSize?: number;
  /** Value pc_scratch_size returns (default 64). */
  scratchSize?: number;
  /**
   * Replace the body of a metadata export (pc_msg and pc_msg_len take `$id`). For plugins that misbehave
   * in one of them; the body must leave the export's result type (i32) on the stack.
   */
  bodies?: Partial<Record<MetadataExport, string>>;
  messages?: string[];
}

/** The metadata exports a host reads at load (docs/ABI.md "Exports"). */
export const METADATA_EXPORTS = ['pc_abi_version', 'pc_name', 'pc_name_len', 'pc_ctx_size', 'pc_scratch_size', 'pc_msg_count', 'pc_msg', 'pc_msg_len'] as const;
export type MetadataExport = (typeof METADATA_EXPORTS)[number];

/** Types of the `wasi_snapshot_preview1` functions of the pathcheck subset (docs/ABI.md "WASI subset"). */
export const WASI_TYPES = {
  args_get: '(param i32 i32) (result i32)',
  args_sizes_get: '(param i32 i32) (result i32)',
  environ_get: '(param i32 i32) (result i32)',
  environ_sizes_get: '(param i32 i32) (result i32)',
  clock_time_get: '(param i32 i64 i32) (result i32)',
  fd_close: '(param i32) (result i32)',
  fd_fdstat_get: '(param i32 i32) (result i32)',
  fd_prestat_get: '(param i32 i32) (result i32)',
  fd_prestat_dir_name: '(param i32 i32 i32) (result i32)',
  fd_pread: '(param i32 i32 i32 i64 i32) (result i32)',
  fd_read: '(param i32 i32 i32 i32) (result i32)',
  fd_write: '(param i32 i32 i32 i32) (result i32)',
  path_open: '(param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)',
  proc_exit: '(param i32)',
  random_get: '(param i32 i32) (result i32)',
  sched_yield: '(result i32)',
} as const;
export type WasiFunction = keyof typeof WASI_TYPES;

/** Import lines for `extra`: each function as `$<name>` (call it as `(call $fd_write ...)`). */
export function wasiImports(names: readonly WasiFunction[]): string {
  return names.map((n) => `(import "wasi_snapshot_preview1" "${n}" (func $${n} ${WASI_TYPES[n]}))`).join('\n');
}

/** `up` with the generic "reports path is up" message. */
const UP = '(i32.or (i32.const 3) (i32.shl (i32.const 4) (i32.const 8)))';

/**
 * A hand-written plugin that follows docs/ABI.md, with knobs to break it in exactly one way.
 * Name at 1024, messages from 1088, all UTF-16LE.
 */
export function fakePlugin(p: FakePlugin = {}): Uint8Array<ArrayBuffer> {
  const name = p.name ?? 'fake';
  const messages = p.messages ?? ['says hello'];
  const omit = new Set(p.omit ?? []);
  let at = 1088;
  const msgData: string[] = [];
  const msgPtr: string[] = [];
  const msgLen: string[] = [];
  messages.forEach((m, i) => {
    const bytes = Buffer.byteLength(m, 'utf16le');
    msgData.push(`(data (i32.const ${at}) "${utf16(m)}")`);
    msgPtr.push(`(if (i32.eq (local.get $id) (i32.const ${100 + i})) (then (return (i32.const ${at}))))`);
    msgLen.push(`(if (i32.eq (local.get $id) (i32.const ${100 + i})) (then (return (i32.const ${bytes}))))`);
    at += bytes + 16;
  });
  const exp = (n: string) => (omit.has(n) ? '' : `(export "${n}")`);
  const body = (n: MetadataExport, dflt: string) => p.bodies?.[n] ?? dflt;
  return wat(`(module
    ${p.memory ?? '(import "env" "memory" (memory 1 16384 shared))'}
    ${p.extra ?? ''}
    (data (i32.const 1024) "${utf16(name)}")
    ${msgData.join('\n')}
    ${p.memory?.includes('import') === false ? '(export "memory" (memory 0))' : omit.has('memory') ? '' : '(export "memory" (memory 0))'}
    (func ${exp('pc_abi_version')} (result i32) ${body('pc_abi_version', `(i32.const ${p.abi ?? 2})`)})
    (func ${exp('pc_name')} (result i32) ${body('pc_name', '(i32.const 1024)')})
    (func ${exp('pc_name_len')} (result i32) ${body('pc_name_len', `(i32.const ${Buffer.byteLength(name, 'utf16le')})`)})
    (func ${exp('pc_ctx_size')} (result i32) ${body('pc_ctx_size', `(i32.const ${p.ctxSize ?? 16})`)})
    (func ${exp('pc_scratch_size')} (result i32) ${body('pc_scratch_size', `(i32.const ${p.scratchSize ?? 64})`)})
    (func ${exp('pc_msg_count')} (result i32) ${body('pc_msg_count', `(i32.const ${messages.length})`)})
    (func ${exp('pc_msg')} (param $id i32) (result i32) ${body('pc_msg', `${msgPtr.join(' ')} (i32.const 0)`)})
    (func ${exp('pc_msg_len')} (param $id i32) (result i32) ${body('pc_msg_len', `${msgLen.join(' ')} (i32.const 0)`)})
    (func ${exp('pc_init')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) ${p.init ?? '(i32.const 0)'})
    (func ${exp('pc_check')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
      ${p.check ?? UP})
    (func ${exp('pc_pending')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
      ${p.pending ?? UP})
    (func ${exp('pc_free')} (param $ctx i32) ${p.free ?? ''})
  )`);
}
