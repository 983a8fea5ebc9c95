// The no-allocator rule (docs/ABI.md, "Memory layout and the no-allocation rule"): findAllocator
// (scripts/no-allocator.mjs) on the real checker builds and on hand-written text, and the build
// script's `--check` mode on the allocating fixture test/fixtures/alloc-checker.ts.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore: scripts/no-allocator.mjs is plain JavaScript without a declaration file
import * as noAllocator from '../../scripts/no-allocator.mjs';

const findAllocator = noAllocator.findAllocator as (watText: string) => string | null;
const ALLOCATOR_MARKERS = noAllocator.ALLOCATOR_MARKERS as readonly string[];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_SCRIPT = join(ROOT, 'scripts', 'build-checkers.mjs');
const CHECKERS_SRC = join(ROOT, 'assembly', 'checkers');
const CHECKERS_OUT = join(ROOT, 'build', 'checkers');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBuildScript(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILD_SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let checkerNames: string[] = [];

beforeAll(async () => {
  checkerNames = (await readdir(CHECKERS_SRC))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .sort();
  const missing = checkerNames.filter((n) => !existsSync(join(CHECKERS_OUT, `${n}.wat`)));
  if (missing.length > 0) {
    const run = await runBuildScript([]);
    if (run.code !== 0) throw new Error(`build-checkers failed (exit ${run.code}):\n${run.stderr}`);
  }
});

describe('findAllocator on the real checker builds', () => {
  it('every checker in assembly/checkers has a build/checkers/<name>.wat', async () => {
    expect(checkerNames.length).toBeGreaterThan(0);
    const wats = (await readdir(CHECKERS_OUT)).filter((f) => f.endsWith('.wat')).map((f) => basename(f, '.wat'));
    for (const name of checkerNames) expect(wats).toContain(name);
  });

  it('finds no allocator, memory.grow or own memory in any of them', async () => {
    const found: Record<string, string | null> = {};
    for (const name of checkerNames) {
      const text = await readFile(join(CHECKERS_OUT, `${name}.wat`), 'utf8');
      // It is real asc output: the env.memory import is there, and code too.
      expect(text).toContain('(import "env" "memory" (memory $0 1 16384 shared))');
      expect(text).toContain('(func ');
      found[name] = findAllocator(text);
    }
    expect(found).toEqual(Object.fromEntries(checkerNames.map((n) => [n, null])));
  });
});

describe('findAllocator on hand-written text', () => {
  const header = [
    '(module',
    ' (type $0 (func (param i32) (result i32)))',
    ' (import "env" "memory" (memory $0 1 16384 shared))',
    ' (export "memory" (memory $0))',
  ];

  it('a clean module: null', () => {
    const text = [...header, ' (func $f (param $0 i32) (result i32)', '  local.get $0', ' )', ')'].join('\n');
    expect(findAllocator(text)).toBeNull();
  });

  it('memory.grow in code, one instruction per line (as asc prints it)', () => {
    const text = [...header, ' (func $f (param $0 i32) (result i32)', '  local.get $0', '  memory.grow', ' )', ')'].join('\n');
    expect(findAllocator(text)).toBe('memory.grow');
  });

  it('memory.grow in folded form', () => {
    const text = [...header, ' (func $f (param $0 i32) (result i32)', '  (memory.grow (local.get $0))', ' )', ')'].join('\n');
    expect(findAllocator(text)).toBe('memory.grow');
  });

  it('a defined memory instead of the env import', () => {
    const text = [
      '(module',
      ' (memory $0 1 16384 shared)',
      ' (export "memory" (memory $0))',
      ' (func $f (result i32) i32.const 0)',
      ')',
    ].join('\n');
    expect(findAllocator(text)).toBe('(memory $0 1 16384 shared)');
  });

  it('a memory imported from a module other than env', () => {
    const text = ['(module', ' (import "other" "memory" (memory $0 1 16384 shared))', ')'].join('\n');
    expect(findAllocator(text)).toBe('(memory $0 1 16384 shared)');
  });

  it('an env import of a memory under another name', () => {
    const text = ['(module', ' (import "env" "heap" (memory $0 1 16384 shared))', ')'].join('\n');
    expect(findAllocator(text)).toBe('(memory $0 1 16384 shared)');
  });

  it('the stub runtime allocator, reported as the whole symbol', () => {
    const text = [...header, ' (func $f (result i32)', '  i32.const 16', '  call $~lib/rt/stub/__alloc', ' )', ')'].join('\n');
    expect(findAllocator(text)).toBe('$~lib/rt/stub/__alloc');
  });

  it('__new outside ~lib/rt', () => {
    const text = [...header, ' (func $f (result i32)', '  (call $my/__new (i32.const 16))', ' )', ')'].join('\n');
    expect(findAllocator(text)).toBe('$my/__new');
  });

  it('does not search data segments', () => {
    const text = [...header, ' (data $0 (i32.const 1024) "memory.grow __new ~lib/rt/ (memory $1 1)")', ')'].join('\n');
    expect(findAllocator(text)).toBeNull();
  });

  it('reports the first offending line', () => {
    const text = [...header, ' (global $~lib/rt/stub/offset (mut i32) (i32.const 0))', ' (func $f', '  memory.grow', ' )', ')'].join('\n');
    expect(findAllocator(text)).toBe('$~lib/rt/stub/offset');
  });
});

describe('scripts/build-checkers.mjs --check', () => {
  it('rejects test/fixtures/alloc-checker.ts with exit 1 and one line naming the allocator symbol', async () => {
    const run = await runBuildScript(['--check', 'test/fixtures/alloc-checker.ts']);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('passed');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const m = /^build-checkers: alloc-checker: no-allocator check failed: module contains (\S+)$/.exec(lines[0]!);
    expect(m).not.toBeNull();
    const symbol = m![1]!;
    // `new StaticArray` pulls in the stub runtime: the symbol is one of its own.
    expect(symbol.startsWith('$~lib/rt/stub/')).toBe(true);
    expect(ALLOCATOR_MARKERS.some((marker) => symbol.includes(marker))).toBe(true);
  });

  it('passes a real checker with exit 0 (the failure above is the allocator, not the compile)', async () => {
    const name = checkerNames.includes('tur') ? 'tur' : checkerNames[0]!;
    const run = await runBuildScript(['--check', `assembly/checkers/${name}.ts`]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(`${name}: no-allocator check passed`);
  });

  it('exits 2 on a usage error', async () => {
    const run = await runBuildScript(['--check']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: node scripts/build-checkers.mjs');
  });
});
