// The in-thread limit: compile/load time of each built checker and the cost of one check on sim:ok
// called on this thread through the shim and the simulated device (bench/in-thread-check.mjs). The
// worker pool's benchmarks are ratios against this number, measured in the same run.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKERS_DIR, PACKAGE_ROOT } from '../dist/host/cli/package-paths.js';
import { CheckHost } from '../dist/host/registry/check-host.js';
import { inThreadChecker } from './in-thread-check.mjs';

const CHECKERS = ['tur', 'none'];
const LOAD_ROUNDS = 50;
const CHECK_SECONDS = 2;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function measureInThread(checker, spec = 'sim:ok', seconds = CHECK_SECONDS) {
  const check = await inThreadChecker(join(CHECKERS_DIR, `${checker}.wasm`), spec);
  for (let i = 0; i < 10_000; i++) check();
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) check();
    n += 1000;
  }
  const elapsed = performance.now() - start;
  return { checksPerSec: Math.round((n / elapsed) * 1000), usPerCheck: (elapsed * 1000) / n };
}

async function main() {
  const rows = [];
  const host = new CheckHost({ size: 1 });
  await host.pool.ready();
  for (const name of CHECKERS) {
    const bytes = new Uint8Array(readFileSync(join(CHECKERS_DIR, `${name}.wasm`)));
    const compileMs = [];
    const loadMs = [];
    for (let i = 0; i < LOAD_ROUNDS; i++) {
      let t = performance.now();
      await WebAssembly.compile(bytes);
      compileMs.push(performance.now() - t);
      t = performance.now();
      await host.registry.load(bytes, { origin: name });
      loadMs.push(performance.now() - t);
      host.registry.unload(name);
    }
    const check = await measureInThread(name);
    rows.push({ checker: name, bytes: bytes.length, compileMs: median(compileMs), loadMs: median(loadMs), ...check });
  }
  await host.close();
  console.log('checker  bytes  compile ms  load (validate+compile+metadata on a worker) ms  checks/s in-thread  us/check');
  for (const r of rows) {
    console.log(`${r.checker.padEnd(7)}  ${String(r.bytes).padStart(5)}  ${r.compileMs.toFixed(3).padStart(10)}  ${r.loadMs.toFixed(3).padStart(38)}  ${String(r.checksPerSec).padStart(18)}  ${r.usPerCheck.toFixed(2).padStart(8)}`);
  }
  mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'in-thread.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
