// Issue 10, "unloaded means gone": process RSS over many class lifetimes, against the built dist/.
//   hot:   10,000 hot reloads of a busy class: tur with P paths on sim:ok bound and checked; per cycle a
//          new version of the same bytes is loaded, every path bound to it, the old bindings unbound
//          (the old version unloads) and every path checked once;
//   fresh: 10,000 load / bind / check / unbind / unload cycles of one class;
//   grow:  hot reloads of a plugin whose first check grows its memory to the 256 MiB cap and writes it;
//   ctx:   hot reloads of a plugin that never grows itself, 200 paths with 64 KiB contexts each.
// RSS (whole process: workers included) and the main thread's heapUsed are sampled at the start (after
// one cycle), every tenth of the run, at the end and after an idle second (then a second after a gc
// too, if exposed).
// A benchmark, not a test: it never fails on a number.
// Run: node --expose-gc bench/reload-rss.mjs [--parts hot,fresh,grow,ctx] [--cycles N] [--paths N]
// (--cycles applies to hot and fresh; grow and ctx run 24 cycles). bench/pool.mjs runs `hot` through
// measureReloadRss().
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDevice } from '../dist/host/backends/device-spec.js';
import { CHECKERS_DIR, PACKAGE_ROOT } from '../dist/host/cli/package-paths.js';
import { CheckHost } from '../dist/host/registry/check-host.js';

const WORKERS = 2;
const TIMEOUT_MS = 30_000;
const MiB = 1024 * 1024;
/** A 64 KiB-page count: the registry's default class memory cap (256 MiB). */
const CAP_PAGES = 4096;
/** Cycles of the grow and ctx parts: each costs tens of MiB while it lives. */
const SMALL_CYCLES = 24;

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Mappings of 4 GiB or more: on 64-bit Linux each live WebAssembly.Memory reserves one (its
 * maximum plus guard regions), so this counts memories some isolate still holds. Null off Linux.
 */
function wasmReservations() {
  let maps;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  let n = 0;
  for (const m of maps.matchAll(/^([0-9a-f]+)-([0-9a-f]+)/gm)) if (parseInt(m[2], 16) - parseInt(m[1], 16) >= 4 * 1024 * MiB) n++;
  return n;
}

function sample(cycle, label = String(cycle)) {
  const m = process.memoryUsage();
  return { cycle, label, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, wasmMemories: wasmReservations() };
}

/** Assemble WebAssembly text (all features on: shared memory, bulk memory). */
async function wat(text) {
  // Only the grow and ctx parts need it: bench/pool.mjs's run of `hot` does not load it.
  const { default: binaryen } = await import('binaryen');
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(binaryen.Features.All);
    if (!mod.validate()) throw new Error('bench plugin does not validate');
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

function utf16(s) {
  return [...Buffer.from(s, 'utf16le')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

/** `up` with the generic "reports path is up" message. */
const UP = '(i32.or (i32.const 3) (i32.shl (i32.const 4) (i32.const 8)))';

/**
 * A minimal plugin after docs/ABI.md (as test/helpers/wat.ts writes them): name at 1024, one message,
 * `ctxSize`-byte contexts; `growTo` pages: its check grows the memory to that many pages and writes
 * every new page, so the memory is really committed.
 */
function plugin(name, { ctxSize = 16, growTo = 0 } = {}) {
  const msg = 'bench plugin';
  const grow =
    growTo === 0
      ? ''
      : `(local.set $have (memory.size))
         (if (i32.lt_u (local.get $have) (i32.const ${growTo}))
           (then
             (drop (memory.grow (i32.sub (i32.const ${growTo}) (local.get $have))))
             (memory.fill (i32.shl (local.get $have) (i32.const 16)) (i32.const 1)
               (i32.shl (i32.sub (memory.size) (local.get $have)) (i32.const 16)))))`;
  return wat(`(module
    (import "env" "memory" (memory 1 ${CAP_PAGES} shared))
    (data (i32.const 1024) "${utf16(name)}")
    (data (i32.const 1088) "${utf16(msg)}")
    (export "memory" (memory 0))
    (func (export "pc_abi_version") (result i32) (i32.const 2))
    (func (export "pc_name") (result i32) (i32.const 1024))
    (func (export "pc_name_len") (result i32) (i32.const ${Buffer.byteLength(name, 'utf16le')}))
    (func (export "pc_ctx_size") (result i32) (i32.const ${ctxSize}))
    (func (export "pc_scratch_size") (result i32) (i32.const 64))
    (func (export "pc_msg_count") (result i32) (i32.const 1))
    (func (export "pc_msg") (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const 1088)))) (i32.const 0))
    (func (export "pc_msg_len") (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const ${Buffer.byteLength(msg, 'utf16le')})))) (i32.const 0))
    (func (export "pc_init") (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) (i32.const 0))
    (func (export "pc_check") (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) (local $have i32)
      ${grow}
      ${UP})
    (func (export "pc_pending") (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) ${UP})
    (func (export "pc_free") (param $ctx i32))
  )`);
}

/** What each part runs: module bytes, the name they load under, paths, and whether it hot-reloads. */
async function partSpec(part, opts) {
  switch (part) {
    case 'hot':
      return { bytes: new Uint8Array(readFileSync(join(CHECKERS_DIR, 'tur.wasm'))), name: 'tur', paths: opts.paths ?? 50, cycles: opts.cycles ?? 10_000, hot: true };
    case 'fresh':
      return { bytes: new Uint8Array(readFileSync(join(CHECKERS_DIR, 'tur.wasm'))), name: 'tur', paths: 1, cycles: opts.cycles ?? 10_000, hot: false };
    case 'grow':
      return { bytes: await plugin('grow', { growTo: CAP_PAGES }), name: 'grow', paths: 4, cycles: SMALL_CYCLES, hot: true };
    case 'ctx':
      return { bytes: await plugin('ctx64', { ctxSize: 65536 }), name: 'ctx64', paths: 200, cycles: SMALL_CYCLES, hot: true };
    default:
      throw new Error(`unknown part '${part}' (parts: hot, fresh, grow, ctx)`);
  }
}

async function checkAll(host, checkers, counts) {
  const results = await Promise.all(checkers.map((c) => host.runner.check(c, TIMEOUT_MS)));
  for (const r of results) {
    if (r.state === 'up') continue;
    counts.notUp++;
    counts.lastNotUp = `${r.state}: ${r.message}`;
  }
}

/** One part on its own CheckHost: samples, elapsed time and where a cycle's time goes. */
async function runPart(part, opts) {
  const spec = await partSpec(part, opts);
  const sampleEvery = Math.max(1, Math.round(spec.cycles / 10));
  const host = new CheckHost({ size: WORKERS });
  const reg = host.registry;
  const devices = Array.from({ length: spec.paths }, (_, i) => openDevice(`sim:ok?id=${part}${i}`));
  const counts = { notUp: 0, lastNotUp: null };
  const phaseMs = { load: 0, bind: 0, unbind: 0, check: 0, unload: 0 };
  const timed = async (phase, fn) => {
    const t = performance.now();
    const r = await fn();
    phaseMs[phase] += performance.now() - t;
    return r;
  };
  const bindAll = () => Promise.all(devices.map((d) => reg.bind(spec.name, d)));
  const samples = [];
  let checkers = [];
  try {
    await host.pool.ready();
    const cycle = async () => {
      await timed('load', () => reg.load(spec.bytes));
      const next = await timed('bind', bindAll);
      await timed('unbind', () => {
        for (const c of checkers) reg.unbind(c);
      });
      checkers = next;
      await timed('check', () => checkAll(host, checkers, counts));
      if (!spec.hot) {
        await timed('unload', () => {
          for (const c of checkers) reg.unbind(c);
          checkers = [];
          reg.unload(spec.name);
        });
      }
    };
    // The start is after one cycle: workers have made an instance, paths are bound and checked.
    await cycle();
    for (const k of Object.keys(phaseMs)) phaseMs[k] = 0;
    samples.push(sample(0, 'start'));
    const t0 = performance.now();
    for (let n = 1; n <= spec.cycles; n++) {
      await cycle();
      if (n % sampleEvery === 0 && n !== spec.cycles) samples.push(sample(n));
    }
    const elapsedMs = performance.now() - t0;
    samples.push(sample(spec.cycles, 'end'));
    await sleep(1000);
    samples.push(sample(spec.cycles, 'idle 1 s'));
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      // Dead buffers' memory goes back when the sweep after the collection has run, not inside gc().
      await sleep(1000);
      samples.push(sample(spec.cycles, 'idle + gc'));
    }
    const usPerCycle = Object.fromEntries(Object.entries(phaseMs).map(([k, v]) => [k, (v * 1000) / spec.cycles]));
    return { part, checker: spec.name, paths: spec.paths, cycles: spec.cycles, elapsedMs, usPerCycle, notUp: counts.notUp, ...(counts.lastNotUp !== null && { lastNotUp: counts.lastNotUp }), liveClasses: reg.classes().length, samples };
  } finally {
    for (const c of checkers) if (c.bound) reg.unbind(c);
    await host.close();
  }
}

/** Run the parts one after another, each on a fresh CheckHost; `log` gets a line as each part ends. */
export async function measureReloadRss({ parts = ['hot', 'fresh', 'grow', 'ctx'], log = () => {}, ...opts } = {}) {
  const out = [];
  for (const part of parts) {
    const r = await runPart(part, opts);
    out.push(r);
    log(summaryLine(r));
  }
  return out;
}

function mib(bytes) {
  return `${(bytes / MiB).toFixed(0)} MiB`;
}

/**
 * "hot (tur, 50 paths): 10,000 cycles in 41.2 s, RSS 125 MiB -> 200 MiB (at cycle 1,000: 188 MiB; idle
 * 1 s: 199 MiB), heapUsed ...": the first periodic sample tells V8's heaps settling from growth.
 */
export function summaryLine(r) {
  const at = (label) => r.samples.find((s) => s.label === label);
  const first = r.samples[1].label === 'end' ? '' : `at cycle ${r.samples[1].cycle.toLocaleString('en-US')}: ${mib(r.samples[1].rss)}; `;
  return `${r.part} (${r.checker}, ${r.paths} paths): ${r.cycles.toLocaleString('en-US')} cycles in ${(r.elapsedMs / 1000).toFixed(1)} s, RSS ${mib(at('start').rss)} -> ${mib(at('end').rss)} (${first}idle 1 s: ${mib(at('idle 1 s').rss)}), heapUsed ${mib(at('start').heapUsed)} -> ${mib(at('end').heapUsed)}${r.notUp ? `, ${r.notUp} checks not up (last: ${r.lastNotUp})` : ''}`;
}

function table(r) {
  const lines = [`${r.part}: ${r.checker}, ${r.paths} paths, ${r.cycles.toLocaleString('en-US')} cycles, ${(r.elapsedMs / 1000).toFixed(1)} s (${((r.elapsedMs * 1000) / r.cycles).toFixed(0)} us/cycle: ${Object.entries(r.usPerCycle).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')})`];
  lines.push('  at            rss MiB  heapUsed MiB  external MiB  arrayBuffers MiB  wasm memories');
  for (const s of r.samples) {
    lines.push(`  ${s.label.padEnd(12)} ${(s.rss / MiB).toFixed(1).padStart(8)} ${(s.heapUsed / MiB).toFixed(1).padStart(13)} ${(s.external / MiB).toFixed(1).padStart(13)} ${(s.arrayBuffers / MiB).toFixed(1).padStart(17)} ${String(s.wasmMemories ?? 'n/a').padStart(14)}`);
  }
  if (r.notUp) lines.push(`  ${r.notUp} checks not up (last: ${r.lastNotUp})`);
  return lines.join('\n');
}

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main() {
  const parts = argValue('--parts')?.split(',');
  const cycles = argValue('--cycles');
  const paths = argValue('--paths');
  const opts = { ...(parts && { parts }), ...(cycles && { cycles: Number(cycles) }), ...(paths && { paths: Number(paths) }) };
  console.log(`pathcheck reload RSS benchmark: ${WORKERS} workers, node ${process.version}${typeof globalThis.gc === 'function' ? '' : ' (no --expose-gc: no gc sample)'}`);
  const results = await measureReloadRss(opts);
  for (const r of results) console.log(`\n${table(r)}`);
  const out = { date: new Date().toISOString(), node: process.version, workers: WORKERS, results };
  mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
  const file = join(PACKAGE_ROOT, 'bench', 'results', 'reload-rss.json');
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
