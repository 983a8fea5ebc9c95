#!/usr/bin/env node
// Compiles every assembly/checkers/*.ts to build/checkers/<name>.wasm (+ <name>.wat), runs the
// no-allocator check on each, and writes build/checkers/manifest.json.
//
//   node scripts/build-checkers.mjs                  build all checkers
//   node scripts/build-checkers.mjs --check <file>   compile one file to a temp dir and run only
//                                                    the no-allocator check (exit 1 on an allocator)
//
// Exit status: 0 ok, 1 compile error or allocator found, 2 usage.

import asc from 'assemblyscript/asc';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findAllocator } from './no-allocator.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = join(ROOT, 'assembly', 'checkers');
const OUT = join(ROOT, 'build', 'checkers');
const CONFIG = join(ROOT, 'asconfig.json');
const ABI_VERSION = 2;

class BuildError extends Error {}

/** Compiles `entry` to `<outDir>/<name>.wasm` and `.wat`; returns their paths. */
async function compile(entry, outDir, name) {
  const wasm = join(outDir, `${name}.wasm`);
  const wat = join(outDir, `${name}.wat`);
  const { error, stderr } = await asc.main([
    entry,
    '--config', CONFIG,
    '--target', 'release',
    '--outFile', wasm,
    '--textFile', wat,
    '--noColors',
  ]);
  if (error) {
    const detail = stderr.toString().trim();
    throw new BuildError(`${name}: compile failed: ${error.message}${detail ? `\n${detail}` : ''}`);
  }
  return { wasm, wat };
}

/** Fails with one line naming the checker and the offending symbol. */
async function checkNoAllocator(name, watPath) {
  const symbol = findAllocator(await readFile(watPath, 'utf8'));
  if (symbol !== null) {
    throw new BuildError(`${name}: no-allocator check failed: module contains ${symbol}`);
  }
}

/** Reads the checker's name and ABI version by instantiating it with inert WASI stubs. */
async function describe(bytes) {
  const module = await WebAssembly.compile(bytes);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true });
  const wasi = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module === 'wasi_snapshot_preview1') wasi[imp.name] = () => 52; // ENOSYS
  }
  const { exports } = await WebAssembly.instantiate(module, { env: { memory }, wasi_snapshot_preview1: wasi });
  const ptr = exports.pc_name();
  const len = exports.pc_name_len();
  const name = Buffer.from(memory.buffer.slice(ptr, ptr + len)).toString('utf16le');
  return { name, abiVersion: exports.pc_abi_version() };
}

async function buildAll() {
  const sources = (await readdir(SOURCES)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
  if (sources.length === 0) throw new BuildError(`no checkers in ${relative(ROOT, SOURCES)}`);
  await mkdir(OUT, { recursive: true });
  const names = new Set(sources.map((f) => basename(f, '.ts')));
  for (const f of await readdir(OUT)) {
    const m = /^(.*)\.(wasm|wat)$/.exec(f);
    if (m && !names.has(m[1])) await rm(join(OUT, f));
  }

  const checkers = [];
  for (const file of sources) {
    const name = basename(file, '.ts');
    const { wasm, wat } = await compile(join(SOURCES, file), OUT, name);
    try {
      await checkNoAllocator(name, wat);
    } catch (e) {
      await rm(wasm, { force: true });
      throw e;
    }
    const bytes = await readFile(wasm);
    const info = await describe(bytes);
    if (info.name !== name) throw new BuildError(`${name}: pc_name() is "${info.name}", expected "${name}"`);
    if (info.abiVersion !== ABI_VERSION) {
      throw new BuildError(`${name}: pc_abi_version() is ${info.abiVersion}, expected ${ABI_VERSION}`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    checkers.push({ name, file: `${name}.wasm`, bytes: bytes.length, sha256 });
    console.log(`built ${relative(ROOT, wasm)} (${bytes.length} bytes)`);
  }
  const manifest = { abiVersion: ABI_VERSION, checkers };
  await writeFile(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${relative(ROOT, join(OUT, 'manifest.json'))} (${checkers.length} checkers)`);
}

async function checkOne(file) {
  const entry = resolve(file);
  const name = basename(entry, '.ts');
  const dir = await mkdtemp(join(tmpdir(), 'pathcheck-nocheck-'));
  try {
    const { wat } = await compile(entry, dir, name);
    await checkNoAllocator(name, wat);
    console.log(`${name}: no-allocator check passed`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(argv) {
  if (argv.length === 0) return buildAll();
  if (argv[0] === '--check' && argv.length === 2) return checkOne(argv[1]);
  console.error('usage: node scripts/build-checkers.mjs [--check <file.ts>]');
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof BuildError) console.error(`build-checkers: ${e.message}`);
  else console.error(e);
  process.exitCode = 1;
});
