import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckHost, type CheckHostOptions } from '../../host/registry/check-host.js';
import { LoadError } from '../../host/registry/load-error.js';
import { MAX_MODULE_BYTES } from '../../host/registry/read-module.js';
import type { Registry } from '../../host/registry/registry.js';
import { JobKind } from '../../host/pool/worker-pool.js';
import { callPlugin } from '../../host/registry/plugin-call.js';
import { fakePlugin, wat } from '../helpers/wat.js';
import { until } from '../pool/pool-helpers.js';

const hosts: CheckHost[] = [];
async function newHost(opts: CheckHostOptions = {}): Promise<CheckHost> {
  const h = new CheckHost({ size: 2, ...opts });
  hosts.push(h);
  await h.pool.ready();
  return h;
}
let shared: Registry;
beforeAll(async () => {
  shared = (await newHost()).registry;
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

async function refusal(source: string | Uint8Array<ArrayBuffer>, opts = {}, registry = shared): Promise<LoadError> {
  const err = await registry.load(source, { origin: 'm.wasm', ...opts }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LoadError);
  const e = err as LoadError;
  expect(e.message.includes('\n')).toBe(false);
  return e;
}

/** A plugin whose pc_name never returns. */
function spinningName(): Uint8Array<ArrayBuffer> {
  return fakePlugin({ omit: ['pc_name'], extra: '(func (export "pc_name") (result i32) (loop $l (br $l)) (i32.const 0))' });
}

describe('loader rejects bad modules with one clear line', () => {
  it('accepts a well-formed plugin (the baseline every rejection below differs from)', async () => {
    const cls = await shared.load(fakePlugin(), { origin: 'm.wasm' });
    expect(cls.name).toBe('fake');
    expect(cls.abiVersion).toBe(2);
  });

  it('garbage bytes', async () => {
    const e = await refusal(new Uint8Array(Buffer.from('this is not wasm at all')));
    expect(e.code).toBe('not-wasm');
    expect(e.message).toBe('m.wasm: not a WebAssembly module (no \\0asm header)');
  });

  it('truncated module', async () => {
    const good = fakePlugin();
    const e = await refusal(good.slice(0, Math.floor(good.length / 2)));
    expect(e.code).toBe('invalid-module');
    expect(e.message).toMatch(/^m\.wasm: invalid WebAssembly module: .+/);
  });

  it('a real v1 checker (no pc_pending, one-argument pc_init) is refused for its version, not for a missing export', async () => {
    const v1 = fakePlugin({ abi: 1, omit: ['pc_pending', 'pc_init'], extra: '(func (export "pc_init") (param $ctx i32) (result i32) (i32.const 0))' });
    const e = await refusal(v1);
    expect(e.code).toBe('abi-version');
    expect(e.message).toBe('m.wasm: plugin ABI version 1, this host implements version 2 (rebuild the checker against the v2 SDK)');
    // Without a version to read, the missing exports are named at once.
    expect((await refusal(fakePlugin({ omit: ['pc_abi_version', 'pc_pending'] }))).message).toBe('m.wasm: missing exports pc_abi_version, pc_pending');
  });

  it('wrong ABI version: v1 (blocking checks) is refused with what to do about it', async () => {
    for (const abi of [1, 3]) {
      const e = await refusal(fakePlugin({ abi }));
      expect(e.code).toBe('abi-version');
      expect(e.message).toBe(`m.wasm: plugin ABI version ${abi}, this host implements version 2 (rebuild the checker against the v2 SDK)`);
    }
  });

  it('metadata exports that loop or trap: the load fails in bounded time with one line, the worker is replaced', async () => {
    const h = await newHost({ callTimeoutMs: 300, stuckAfterMs: 300 });
    const started = Date.now();
    const slow = await refusal(spinningName(), {}, h.registry);
    expect(slow.code).toBe('timeout');
    expect(slow.message).toBe('m.wasm: reading its metadata exports did not return within 300 ms');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await until(() => h.pool.stats().replaced === 1)).toBe(true);
    const trap = await refusal(fakePlugin({ omit: ['pc_ctx_size'], extra: '(func (export "pc_ctx_size") (result i32) (unreachable))' }), {}, h.registry);
    expect(trap.code).toBe('trap');
    expect(trap.message).toMatch(/^m\.wasm: reading its metadata exports trapped: .*unreachable/);
    // Nothing was left behind, and the pool still loads and checks.
    expect(h.registry.classes()).toEqual([]);
    expect((await h.registry.load(fakePlugin())).name).toBe('fake');
  });

  it('an import outside env.memory and WASI', async () => {
    const e = await refusal(fakePlugin({ extra: '(import "env" "abort" (func (param i32 i32 i32 i32)))' }));
    expect(e.code).toBe('import');
    expect(e.message).toBe('m.wasm: imports env.abort (function); a checker may import only env.memory and wasi_snapshot_preview1 functions');
  });

  it('a WASI function outside the supported subset', async () => {
    const e = await refusal(fakePlugin({ extra: '(import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))' }));
    expect(e.code).toBe('import');
    expect(e.message).toBe('m.wasm: imports wasi_snapshot_preview1.sock_accept, which the pathcheck WASI subset does not provide');
  });

  it('a memory of its own', async () => {
    const e = await refusal(fakePlugin({ memory: '(memory 1 16384 shared)' }));
    expect(e.code).toBe('own-memory');
    expect(e.message).toBe("m.wasm: defines its own memory; a checker must import the host's shared env.memory");
  });

  it('an unshared memory import', async () => {
    const e = await refusal(fakePlugin({ memory: '(import "env" "memory" (memory 1 16384))' }));
    expect(e.code).toBe('memory');
    expect(e.message).toBe('m.wasm: env.memory must be shared with a maximum (declared not shared, max 16384)');
  });

  it('a memory larger at start than the class cap', async () => {
    const err = await (await newHost({ maxPages: 64 })).registry
      .load(fakePlugin({ memory: '(import "env" "memory" (memory 100 16384 shared))' }), { origin: 'm.wasm' })
      .catch((e: LoadError) => e);
    expect((err as LoadError).code).toBe('memory');
    expect((err as LoadError).message).toBe('m.wasm: env.memory needs 100 pages at start, over the class cap of 64 pages');
  });

  it('missing exports, each named', async () => {
    const e = await refusal(fakePlugin({ omit: ['pc_check', 'pc_free'] }));
    expect(e.code).toBe('missing-export');
    expect(e.message).toBe('m.wasm: missing exports pc_check, pc_free');
    expect((await refusal(fakePlugin({ omit: ['pc_pending'] }))).message).toBe('m.wasm: missing export pc_pending');
  });

  it('memory not re-exported', async () => {
    const e = await refusal(fakePlugin({ omit: ['memory'] }));
    expect(e.message).toBe('m.wasm: missing export memory');
  });

  it('exports of the wrong type, each named with the type it has and the one it needs', async () => {
    const cases: [string, string, string][] = [
      ['pc_check', '(func (export "pc_check") (param i32 i32 i32) (result i64) (i64.const 3))', '(i32, i32, i32) -> i64, expected (i32, i32, i32) -> i32'],
      ['pc_ctx_size', '(func (export "pc_ctx_size") (result f64) (f64.const 0.5))', '() -> f64, expected () -> i32'],
      ['pc_free', '(func (export "pc_free") (param i32) (result i32) (i32.const 0))', '(i32) -> i32, expected (i32) -> ()'],
      ['pc_pending', '(func (export "pc_pending") (param i32 i32) (result i32) (i32.const 3))', '(i32, i32) -> i32, expected (i32, i32, i32) -> i32'],
    ];
    for (const [name, func, types] of cases) {
      const e = await refusal(fakePlugin({ omit: [name], extra: func }));
      expect(e.code).toBe('bad-export');
      expect(e.message).toBe(`m.wasm: export ${name} has type ${types}`);
    }
    // Optional exports too, when present.
    const reset = await refusal(fakePlugin({ extra: '(func (export "pc_reset") (param i32))' }));
    expect(reset.message).toBe('m.wasm: export pc_reset has type (i32) -> (), expected () -> ()');
  });

  it('pc_mpctx_offset: -1 or a multiple of 8 inside the context; the wrong type, or any other value, is refused', async () => {
    const typed = await refusal(fakePlugin({ extra: '(func (export "pc_mpctx_offset") (param i32) (result i32) (i32.const 0))' }));
    expect(typed.message).toBe('m.wasm: export pc_mpctx_offset has type (i32) -> i32, expected () -> i32');
    const offset = (n: number, ctxSize = 16) => fakePlugin({ name: `mp${Math.abs(n)}x${ctxSize}`, ctxSize, extra: `(func (export "pc_mpctx_offset") (result i32) (i32.const ${n}))` });
    for (const [n, ctxSize] of [[4, 16], [16, 16], [-8, 16], [0, 4], [9, 32]] as const) {
      const e = await refusal(offset(n, ctxSize));
      expect(e.code, `${n} in ${ctxSize}`).toBe('bad-export');
      expect(e.message).toBe(`m.wasm: pc_mpctx_offset ${n} must be -1 or a multiple of 8 from 0 to pc_ctx_size - 8 (${ctxSize - 8})`);
    }
    for (const [n, ctxSize] of [[-1, 16], [0, 8], [8, 16], [24, 32]] as const) {
      const cls = await shared.load(offset(n, ctxSize), { origin: 'm.wasm' });
      expect(cls.mpctxOffset).toBe(n);
      shared.unload(cls.name);
    }
  });

  it('a name that is not a checker name', async () => {
    const e = await refusal(fakePlugin({ name: 'Bad Name' }));
    expect(e.code).toBe('bad-export');
    expect(e.message).toBe(`m.wasm: pc_name must be 1-32 characters of a-z, 0-9, '_' or '-', got "Bad Name"`);
  });

  it('a name other than the one it was looked up by: refused before it replaces the class of its own name', async () => {
    const current = await shared.load(fakePlugin({ name: 'namesake' }));
    const e = await refusal(fakePlugin({ name: 'namesake' }), { name: 'other' });
    expect(e.code).toBe('bad-export');
    expect(e.message).toBe("m.wasm: its pc_name is 'namesake', not 'other'");
    expect(shared.current('namesake')).toBe(current);
    expect(shared.current('other')).toBeUndefined();
  });

  it('a start function (code every host thread would run on instantiation)', async () => {
    const e = await refusal(fakePlugin({ extra: '(func $boot) (start $boot)' }));
    expect(e.code).toBe('start');
    expect(e.message).toBe('m.wasm: has a start function; a checker may not run code when a host thread instantiates it');
  });

  it('a sha256 pin that does not match', async () => {
    const e = await refusal(fakePlugin(), { sha256: '0'.repeat(64) });
    expect(e.code).toBe('sha256');
    expect(e.message).toMatch(/^m\.wasm: sha256 [0-9a-f]{64} does not match the pinned 0{64}$/);
  });

  it('a module file over the size cap, or one that never ends (/dev/zero): refused after reading one byte past the cap', async () => {
    const big = join(mkdtempSync(join(tmpdir(), 'pc-')), 'big.wasm');
    writeFileSync(big, new Uint8Array(MAX_MODULE_BYTES + 1));
    for (const path of [big, '/dev/zero']) {
      const e = await refusal(path, { origin: undefined });
      expect(e.code).toBe('unreadable');
      expect(e.message).toBe(`cannot read checker module ${path}: larger than the 16 MiB cap`);
    }
    writeFileSync(big, fakePlugin({ name: 'justfits' }));
    expect((await shared.load(big)).name).toBe('justfits');
  });

  it('a file that does not exist, or is a directory', async () => {
    const missing = await shared.load('/nonexistent/x.wasm').catch((e: LoadError) => e);
    expect((missing as LoadError).message).toBe('cannot read checker module /nonexistent/x.wasm: no such file');
    const dir = mkdtempSync(join(tmpdir(), 'pc-'));
    const isDir = await shared.load(dir).catch((e: LoadError) => e);
    expect((isDir as LoadError).message).toBe(`cannot read checker module ${dir}: is a directory`);
  });

  it('loads from a file path and pins by sha256', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-'));
    const file = join(dir, 'fake.wasm');
    writeFileSync(file, fakePlugin());
    const first = await shared.load(file);
    const pinned = await shared.load(file, { sha256: first.sha256.toUpperCase() });
    expect(pinned.sha256).toBe(first.sha256);
  });

  it('a plugin cannot grow its memory past the class cap', async () => {
    const grow = '(memory.grow (i32.const 1000))';
    const h = await newHost({ maxPages: 32 });
    const cls = await h.registry.load(fakePlugin({ check: `(if (i32.ne ${grow} (i32.const -1)) (then (return (i32.const 2)))) (i32.const 3)` }), { origin: 'm.wasm' });
    const checker = await h.registry.bind('fake', (await import('../pool/pool-helpers.js')).sim('sim:ok'));
    const job = h.registry.beginJob(checker)!;
    const end = await callPlugin(h.pool, JobKind.CHECK, cls.id, checker.handle.slot, checker.handle.gen, job.deviceId, 5000, () => h.registry.endJob(job));
    expect(end).toMatchObject({ kind: 'returned', raw: 3 });
    expect(cls.memoryBytes).toBeLessThanOrEqual(32 * 65536);
  });

  it('a memory import that is not the only import kind is still judged by name', async () => {
    const e = await refusal(wat(`(module (import "env" "memory" (memory 1 10 shared)) (import "env" "table" (table 1 funcref)))`));
    expect(e.message).toBe('m.wasm: imports env.table (table); a checker may import only env.memory and wasi_snapshot_preview1 functions');
  });
});
