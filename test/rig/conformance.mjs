#!/usr/bin/env node
/**
 * Conformance: the same .wasm bytes under two independent hosts of docs/ABI.md must give the same
 * answers. The Node host (Registry + checkInThread from dist/, as `pathcheck scenarios` does) and the
 * wasmtime rig (test/rig, Python embedding of the real wasmtime engine, one process for everything):
 *
 *  1. every built checker (build/checkers/*.wasm) x every sim scenario in
 *     host/backends/sim/scenarios.json but hang-hard (it blocks threads by design), scenarios with
 *     sense data in both sense formats: a fresh path on a fresh device, state + code + message equal;
 *  2. a frame probe (a hand-written plugin, one WASI / sg v2 observation per check) on every device
 *     of the matrix that answers: header fields, status word, DRIVER_SENSE, pack_len = reply_len,
 *     truncation, errno values, memory layout, all equal;
 *  3. modules broken in one way each: refused by both hosts with the same one-line reason.
 *
 * usage: node test/rig/conformance.mjs [--json] [--runs N] [--timeout MS] [--python PATH]
 *   --json      one JSON document on stdout instead of tables
 *   --runs      checks per path, for timing, where the scenario does not wait (default 201); times
 *               are medians in microseconds of the time spent in pc_check, device waits included
 *   --timeout   checker_timeout of every check in ms (default 200: what `hang` reports as timeout)
 *   --python    the rig's interpreter (default .venv/bin/python, made by `npm run rig:setup`)
 * Exit status: 0 all equal, 1 any difference, 2 the comparison could not run (no build, no wasmtime...).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIO_FILE = join(ROOT, 'host', 'backends', 'sim', 'scenarios.json');
const CHECKERS_DIR = join(ROOT, 'build', 'checkers');
const DIST = join(ROOT, 'dist', 'host');
const RIG = join(ROOT, 'test', 'rig');
/** Blocks the checking thread, ignoring deadlines, by design: only a host that can kill a thread runs it. */
const SKIPPED = new Set(['hang-hard']);
/** Parameters that keep the matrix fast: a slow device that still answers well inside the timeout. */
const SCENARIO_PARAMS = { slow: 'latency=20' };
const SENSE_FORMATS = ['fixed', 'descriptor'];

class SetupError extends Error {}

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '201' },
      timeout: { type: 'string', default: '200' },
      python: { type: 'string', default: join(ROOT, '.venv', 'bin', 'python') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new SetupError(`--${name} must be an integer >= ${min}, got '${values[name]}'`);
    return n;
  };
  return { json: values.json, runs: int('runs', 1), timeoutMs: int('timeout', 1), python: values.python, help: values.help };
}

// ---------------------------------------------------------------------------------------------
// The matrix: built checkers x scenarios from the JSON (no scenario is named here but the skipped one)

/** Whether any response of a scenario's program carries sense data, waits (latency, hang), hangs. */
function programFacts(program) {
  const responses = program.repeat !== undefined ? [program.repeat] : (program.sequence ?? program.alternate);
  return {
    sense: responses.some((r) => r.sense !== undefined),
    waits: responses.some((r) => r.hang !== undefined || (r.latency !== undefined && r.latency !== 0)),
    hangs: responses.some((r) => r.hang !== undefined),
  };
}

function builtCheckers() {
  if (!existsSync(CHECKERS_DIR)) throw new SetupError(`no ${relative(ROOT, CHECKERS_DIR)}: run \`npm run build\` first`);
  const files = readdirSync(CHECKERS_DIR).filter((f) => f.endsWith('.wasm')).sort();
  if (files.length === 0) throw new SetupError(`no checkers in ${relative(ROOT, CHECKERS_DIR)}: run \`npm run build\` first`);
  return files.map((f) => join(CHECKERS_DIR, f));
}

function matrix(checkers, opts) {
  const doc = JSON.parse(readFileSync(SCENARIO_FILE, 'utf8'));
  const cases = [];
  const scenarios = [];
  /** Devices the frame probe runs on: every one in the matrix that answers (a hang would stall each step). */
  const probeDevices = [];
  for (const [name, scenario] of Object.entries(doc.scenarios)) {
    if (SKIPPED.has(name)) continue;
    scenarios.push(name);
    const facts = programFacts(scenario.program);
    for (const sense of facts.sense ? SENSE_FORMATS : [null]) {
      const params = [SCENARIO_PARAMS[name], sense === null ? undefined : `sense=${sense}`].filter((p) => p !== undefined);
      const device = `sim:${name}${params.length > 0 ? `?${params.join('&')}` : ''}`;
      for (const file of checkers) {
        cases.push({ file, scenario: name, sense, device, timeoutMs: opts.timeoutMs, runs: facts.waits ? 1 : opts.runs });
      }
      if (!facts.hangs) probeDevices.push({ scenario: name, sense, device });
    }
  }
  return { cases, probeDevices, scenarios, skipped: Object.keys(doc.scenarios).filter((n) => SKIPPED.has(n)) };
}

// ---------------------------------------------------------------------------------------------
// Modules broken in exactly one way (after test/helpers/wat.ts fakePlugin), and one that is fine

function utf16(s) {
  return [...Buffer.from(s, 'utf16le')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

function fakePluginText(p = {}) {
  const name = p.name ?? 'fake';
  const message = 'says hello';
  const omit = new Set(p.omit ?? []);
  const exp = (n) => (omit.has(n) ? '' : `(export "${n}")`);
  const bytes = (s) => Buffer.byteLength(s, 'utf16le');
  return `(module
    ${p.memory ?? '(import "env" "memory" (memory 1 16384 shared))'}
    ${p.extra ?? ''}
    (data (i32.const 1024) "${utf16(name)}")
    (data (i32.const 1088) "${utf16(message)}")
    ${omit.has('memory') ? '' : '(export "memory" (memory 0))'}
    (func ${exp('pc_abi_version')} (result i32) (i32.const ${p.abi ?? 1}))
    (func ${exp('pc_name')} (result i32) (i32.const 1024))
    (func ${exp('pc_name_len')} (result i32) (i32.const ${bytes(name)}))
    (func ${exp('pc_ctx_size')} (result i32) (i32.const 16))
    (func ${exp('pc_scratch_size')} (result i32) (i32.const 64))
    (func ${exp('pc_msg_count')} (result i32) (i32.const 1))
    (func ${exp('pc_msg')} (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const 1088)))) (i32.const 0))
    (func ${exp('pc_msg_len')} (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const ${bytes(message)})))) (i32.const 0))
    (func ${exp('pc_init')} (param $ctx i32) (result i32) (i32.const 0))
    (func ${exp('pc_check')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
      (i32.or (i32.const 3) (i32.shl (i32.const 4) (i32.const 8))))
    (func ${exp('pc_free')} (param $ctx i32))
  )`;
}

/** id -> [what the Node host's LoadError code must be (null: loads), fakePlugin knobs]. */
const FIXTURES = {
  'bad-import': ['import', { extra: '(import "env" "abort" (func $abort (param i32 i32 i32 i32)))' }],
  'unsupported-wasi': ['import', { extra: '(import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))' }],
  'own-memory': ['own-memory', { memory: '(memory 1 16384 shared)' }],
  'unshared-memory': ['memory', { memory: '(import "env" "memory" (memory 1 16384))' }],
  'missing-export': ['missing-export', { omit: ['pc_check', 'pc_free'] }],
  'abi-version': ['abi-version', { abi: 2 }],
  'bad-name': ['bad-export', { name: 'Fake!' }],
  'well-formed': [null, {}],
};

/** Assemble WebAssembly text into `dir/<id>.wasm` with binaryen (all features: shared memory imports). */
async function assemble(dir, id, text) {
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

async function writeFixtures(dir) {
  const fixtures = [];
  for (const [id, [expect, knobs]] of Object.entries(FIXTURES)) fixtures.push({ id, expect, path: await assemble(dir, id, fakePluginText(knobs)) });
  return fixtures;
}

// ---------------------------------------------------------------------------------------------
// The frame probe: a hand-written plugin that makes one WASI call sequence per check (step = checks
// so far, kept in its ctx) and answers `up` with message "value N", N the 7-bit observation. tur's
// answers cannot show everything docs/ABI.md fixes (DRIVER_SENSE, pack_len = reply_len, truncation,
// most errno values, the memory layout); the probe's can, and both hosts must give every value alike.

/** Scratch: 0 iovec, 8 byte count, 16 request frame (64 bytes), 128 reply buffer (128), 256 out-params. */
const S = '(global.get $s)';
const at = (off) => `(i32.add ${S} (i32.const ${off}))`;
const R = at(128);
const tur = (fd = '(local.get $fd)') => `(call $tur ${fd})`;
/** The value of a field of the TUR reply, or 127 when the TUR itself failed. */
const turField = (expr) => `(if (result i32) ${tur()} (then (i32.const 127)) (else ${expr}))`;
const inquiry = (evpd, readCap) => `(block (result i32)
      (call $req (i32.const 0x12) (i32.const 72) (i32.const 0) (i32.const 42))
      (i32.store8 ${at(16 + 36 + 1)} (i32.const ${evpd}))
      (i32.store8 ${at(16 + 36 + 4)} (i32.const 36))
      (if (result i32) (call $write (local.get $fd) (i32.const 42)) (then (i32.const 126))
        (else (if (result i32) (call $read (local.get $fd) (i32.const ${readCap})) (then (i32.const 125)) (else (i32.const 0))))))`;
const PROBE_STEPS = [
  ['tur errno', `(block (result i32) ${tur()})`],
  ['tur pack_len - reply_len + 64', turField(`(i32.add (i32.sub (i32.load ${R}) (i32.load ${at(132)})) (i32.const 64))`)],
  ['tur pack_id echoed (sent 85)', turField(`(i32.load ${at(136)})`)],
  ['tur result', turField(`(i32.load ${at(140)})`)],
  ['tur target_status', turField(`(i32.and (i32.shr_u (i32.load ${at(144)}) (i32.const 1)) (i32.const 31))`)],
  ['tur host_status', turField(`(i32.and (i32.shr_u (i32.load ${at(144)}) (i32.const 6)) (i32.const 255))`)],
  ['tur driver_status', turField(`(i32.and (i32.shr_u (i32.load ${at(144)}) (i32.const 14)) (i32.const 255))`)],
  ['tur status word bits 0 and 22..31', turField(`(i32.or (i32.shr_u (i32.load ${at(144)}) (i32.const 22)) (i32.shl (i32.and (i32.load ${at(144)}) (i32.const 1)) (i32.const 6)))`)],
  ['tur sense_buffer hash', turField(`(call $hash ${at(148)} (i32.const 16))`)],
  ['tur bytes read', turField(`(i32.load ${at(8)})`)],
  ['inquiry bytes read (reply_len 72)', `(if (result i32) ${inquiry(0, 72)} (then (i32.const 127)) (else (i32.load ${at(8)})))`],
  ['inquiry reply hash', `(if (result i32) ${inquiry(0, 72)} (then (i32.const 127)) (else (call $hash ${R} (i32.const 72))))`],
  ['inquiry truncated to a 50-byte buffer', `(if (result i32) ${inquiry(0, 50)} (then (i32.const 127)) (else (i32.add (i32.load ${at(8)}) (call $hash ${R} (i32.const 50)))))`],
  ['inquiry EVPD: reply hash', `(if (result i32) ${inquiry(1, 72)} (then (i32.const 127)) (else (call $hash ${R} (i32.const 72))))`],
  ['write while a reply is unread', `(block (result i32)
      (call $req (i32.const 0) (i32.const 36) (i32.const 0) (i32.const 42))
      (drop (call $write (local.get $fd) (i32.const 42)))
      (local.set $e (call $write (local.get $fd) (i32.const 42)))
      (drop (call $read (local.get $fd) (i32.const 36)))
      (local.get $e))`],
  ['read with no command outstanding', `(call $read (local.get $fd) (i32.const 36))`],
  ['write shorter than header + CDB', `(block (result i32) (call $req (i32.const 0) (i32.const 36) (i32.const 0) (i32.const 38)) (call $write (local.get $fd) (i32.const 38)))`],
  ['reply_len below 36', `(block (result i32) (call $req (i32.const 0) (i32.const 20) (i32.const 0) (i32.const 42)) (call $write (local.get $fd) (i32.const 42)))`],
  ['read buffer below 36, then a full read', `(block (result i32)
      (call $req (i32.const 0) (i32.const 36) (i32.const 0) (i32.const 42))
      (drop (call $write (local.get $fd) (i32.const 42)))
      (local.set $e (call $read (local.get $fd) (i32.const 20)))
      (i32.or (local.get $e) (i32.shl (i32.ne (call $read (local.get $fd) (i32.const 36)) (i32.const 0)) (i32.const 6))))`],
  ['vendor opcode 0xc0, twelve_byte, 10-byte CDB', `(block (result i32) (call $req (i32.const 0xc0) (i32.const 36) (i32.const 1) (i32.const 46)) (call $write (local.get $fd) (i32.const 46)))`],
  ['vendor opcode 0xc0, twelve_byte, 12-byte CDB', `(block (result i32)
      (call $req (i32.const 0xc0) (i32.const 36) (i32.const 1) (i32.const 48))
      (local.set $e (call $write (local.get $fd) (i32.const 48)))
      (i32.or (local.get $e) (i32.shl (i32.ne (call $read (local.get $fd) (i32.const 36)) (i32.const 0)) (i32.const 6))))`],
  ['write to a bad fd', `(block (result i32) (call $req (i32.const 0) (i32.const 36) (i32.const 0) (i32.const 42)) (call $write (i32.const 99) (i32.const 42)))`],
  ['read iovec outside memory', `(block (result i32)
      (i32.store ${S} (i32.const 0xfffffff0)) (i32.store ${at(4)} (i32.const 36))
      (call $fd_read (local.get $fd) ${S} (i32.const 1) ${at(8)}))`],
  ['close the preopen', `(call $fd_close (i32.const 3))`],
  ['path_open of an unknown name', `(call $path_open (i32.const 3) (i32.const 0) (i32.const 1100) (i32.const 4) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) ${at(256)})`],
  ['path_open of ../x', `(call $path_open (i32.const 3) (i32.const 0) (i32.const 1104) (i32.const 4) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) ${at(256)})`],
  ['preopen name length', `(if (result i32) (call $fd_prestat_get (i32.const 3) ${at(256)}) (then (i32.const 127)) (else (i32.add (i32.load ${at(260)}) (i32.load ${at(256)}))))`],
  ['device fd filetype', `(if (result i32) (call $fd_fdstat_get (local.get $fd) ${at(256)}) (then (i32.const 127)) (else (i32.load8_u ${at(256)})))`],
  ['pread of 16 bytes at 1000', `(block (result i32)
      (i32.store ${S} ${R}) (i32.store ${at(4)} (i32.const 16))
      (local.set $e (call $fd_pread (local.get $fd) ${S} (i32.const 1) (i64.const 1000) ${at(8)}))
      (if (result i32) (local.get $e) (then (local.get $e)) (else (call $hash ${R} (i32.const 16)))))`],
  ['pread past the end of the device', `(block (result i32)
      (i32.store ${S} ${R}) (i32.store ${at(4)} (i32.const 16))
      (call $fd_pread (local.get $fd) ${S} (i32.const 1) (i64.const 1048568) ${at(8)}))`],
  ['clock_time_get of an unknown clock', `(call $clock_time_get (i32.const 99) (i64.const 0) ${at(256)})`],
  ['memory layout: scratch and ctx', `(block (result i32) (i32.store ${at(256)} ${S}) (i32.store ${at(260)} (local.get $ctx)) (call $hash ${at(256)} (i32.const 8)))`],
  ['memory pages', `(memory.size)`],
];
const PROBE_VALUES = 128;

function probeText() {
  const data = [];
  for (let v = 0; v < PROBE_VALUES; v++) data.push(`(data (i32.const ${2048 + v * 32}) "${utf16(`value ${v}`)}")`);
  const steps = PROBE_STEPS.map(([, body], k) => `(if (i32.eq (local.get $k) (i32.const ${k})) (then (return ${body})))`).join('\n    ');
  return `(module
  (import "env" "memory" (memory 1 16384 shared))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $fd_pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (global $s (mut i32) (i32.const 0))
  (data (i32.const 1024) "${utf16('probe')}")
  (data (i32.const 1100) "nope../x")
  ${data.join('\n  ')}
  (export "memory" (memory 0))
  (func (export "pc_abi_version") (result i32) (i32.const 1))
  (func (export "pc_name") (result i32) (i32.const 1024))
  (func (export "pc_name_len") (result i32) (i32.const 10))
  (func (export "pc_ctx_size") (result i32) (i32.const 16))
  (func (export "pc_scratch_size") (result i32) (i32.const 512))
  (func (export "pc_msg_count") (result i32) (i32.const ${PROBE_VALUES}))
  (func (export "pc_msg") (param $id i32) (result i32) (i32.add (i32.const 2048) (i32.shl (i32.sub (local.get $id) (i32.const 100)) (i32.const 5))))
  (func (export "pc_msg_len") (param $id i32) (result i32)
    (local $n i32) (local.set $n (i32.sub (local.get $id) (i32.const 100)))
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 10)) (then (i32.const 14))
      (else (if (result i32) (i32.lt_u (local.get $n) (i32.const 100)) (then (i32.const 16)) (else (i32.const 18))))))
  (func (export "pc_init") (param $ctx i32) (result i32) (i32.store (local.get $ctx) (i32.const 0)) (i32.const 0))
  (func (export "pc_free") (param $ctx i32))
  ;; A request frame at scratch+16: header (pack_len = len, reply_len, pack_id 85, twelve_byte), CDB opcode.
  (func $req (param $op i32) (param $replyLen i32) (param $twelve i32) (param $len i32)
    (memory.fill ${at(16)} (i32.const 0) (i32.const 64))
    (i32.store ${at(16)} (local.get $len))
    (i32.store ${at(20)} (local.get $replyLen))
    (i32.store ${at(24)} (i32.const 85))
    (i32.store ${at(32)} (local.get $twelve))
    (i32.store8 ${at(52)} (local.get $op)))
  (func $write (param $fd i32) (param $len i32) (result i32)
    (i32.store ${S} ${at(16)}) (i32.store ${at(4)} (local.get $len)) (i32.store ${at(8)} (i32.const 0))
    (call $fd_write (local.get $fd) ${S} (i32.const 1) ${at(8)}))
  (func $read (param $fd i32) (param $cap i32) (result i32)
    (memory.fill ${R} (i32.const 0) (i32.const 128))
    (i32.store ${S} ${R}) (i32.store ${at(4)} (local.get $cap)) (i32.store ${at(8)} (i32.const 0))
    (call $fd_read (local.get $fd) ${S} (i32.const 1) ${at(8)}))
  ;; TEST UNIT READY into a 36-byte reply buffer: 0, or the errno of the write or the read.
  (func $tur (param $fd i32) (result i32) (local $e i32)
    (call $req (i32.const 0) (i32.const 36) (i32.const 0) (i32.const 42))
    (local.set $e (call $write (local.get $fd) (i32.const 42)))
    (if (result i32) (local.get $e) (then (local.get $e)) (else (call $read (local.get $fd) (i32.const 36)))))
  ;; FNV-1a of n bytes, folded to 7 bits.
  (func $hash (param $p i32) (param $n i32) (result i32) (local $h i32) (local $i i32)
    (local.set $h (i32.const 0x811c9dc5))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (i32.add (local.get $p) (local.get $i)))) (i32.const 0x01000193)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.and (i32.xor (i32.xor (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 7))) (i32.xor (i32.shr_u (local.get $h) (i32.const 14)) (i32.shr_u (local.get $h) (i32.const 21)))) (i32.shr_u (local.get $h) (i32.const 28))) (i32.const 127)))
  (func $step (param $k i32) (param $ctx i32) (param $fd i32) (result i32) (local $e i32)
    ${steps}
    (i32.const 127))
  (func (export "pc_check") (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) (local $k i32)
    (global.set $s (local.get $scratch))
    (local.set $k (i32.rem_u (i32.load (local.get $ctx)) (i32.const ${PROBE_STEPS.length})))
    (i32.store (local.get $ctx) (i32.add (i32.load (local.get $ctx)) (i32.const 1)))
    (i32.or (i32.const 3) (i32.shl (i32.add (i32.const 100) (i32.and (call $step (local.get $k) (local.get $ctx) (local.get $fd)) (i32.const 127))) (i32.const 8))))
)`;
}

// ---------------------------------------------------------------------------------------------
// The Node host: built dist/, in-thread, as host/cli/commands/scenarios.ts

async function nodeHost() {
  const need = ['registry/registry.js', 'registry/check-in-thread.js', 'backends/device-spec.js'];
  for (const f of need) if (!existsSync(join(DIST, f))) throw new SetupError(`no dist/host/${f}: run \`npm run build\` first`);
  const load = (f) => import(pathToFileURL(join(DIST, f)).href);
  const [{ Registry }, { checkInThread }, { openDevice }] = await Promise.all(need.map(load));
  const registry = new Registry({ scratchRegions: 1 });
  const names = new Map();
  return {
    async check(c) {
      if (!names.has(c.file)) names.set(c.file, (await registry.load(c.file)).name);
      const bound = registry.bind(names.get(c.file), openDevice(c.device));
      const times = [];
      const answers = [];
      let first;
      try {
        for (let i = 0; i < c.runs; i++) {
          const r = checkInThread(registry, bound, c.timeoutMs);
          first ??= r;
          times.push(r.ms * 1000);
          if (c.answers) answers.push(`${r.state}: ${r.message}`);
        }
      } finally {
        registry.unbind(bound);
      }
      return {
        name: names.get(c.file),
        state: first.state,
        code: first.code,
        message: first.message,
        us: round(median(times)),
        ...(c.answers && { answers }),
      };
    },
    async load(path) {
      try {
        const cls = await new Registry({ scratchRegions: 1 }).load(path);
        return { ok: true, name: cls.name };
      } catch (e) {
        if (e?.name !== 'LoadError') throw e;
        return { ok: false, code: e.code, reason: e.message };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The wasmtime rig: one Python process for the whole matrix

function runRig(python, requests) {
  if (!existsSync(python)) throw new SetupError(`wasmtime rig: no ${python}; run \`npm run rig:setup\` (a venv with the wasmtime package)`);
  const r = spawnSync(python, [RIG, '--json'], { cwd: ROOT, input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new SetupError(`wasmtime rig: cannot run ${python}: ${r.error.message}`);
  if (r.status !== 0) throw new SetupError(`wasmtime rig exited with status ${r.status}: ${r.stderr.trim() || '(no output)'}`);
  if (r.stderr.trim() !== '') process.stderr.write(r.stderr);
  const out = JSON.parse(r.stdout);
  if (!Array.isArray(out.results) || out.results.length !== requests.length) {
    throw new SetupError(`wasmtime rig answered ${out.results?.length} results for ${requests.length} cases`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x) {
  return Math.round(x * 100) / 100;
}

function sameAnswer(a, b) {
  return a.error === undefined && b.error === undefined && a.state === b.state && a.code === b.code && a.message === b.message;
}

function sameRefusal(a, b, expect) {
  if (a.error !== undefined || b.error !== undefined) return false;
  if (expect === null) return a.ok && b.ok && a.name === b.name;
  return !a.ok && !b.ok && a.code === expect && b.code === expect && a.reason === b.reason;
}

function table(headers, rows, right = []) {
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (right.includes(headers[i]) ? String(c).padStart(width[i]) : String(c).padEnd(width[i]))).join('  ').trimEnd();
  return [line(headers), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

async function main() {
  const opts = options();
  if (opts.help) {
    const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const header = text.slice(text.indexOf('/**') + 3, text.indexOf('*/'));
    console.log(header.split('\n').map((l) => l.replace(/^ \* ?/, '')).join('\n').trim());
    return 0;
  }
  const checkers = builtCheckers();
  const { cases, probeDevices, scenarios, skipped } = matrix(checkers, opts);
  const dir = mkdtempSync(join(tmpdir(), 'pathcheck-rig-'));
  try {
    const fixtures = await writeFixtures(dir);
    const probePath = await assemble(dir, 'probe', probeText());
    const probes = probeDevices.map((d) => ({ ...d, file: probePath, timeoutMs: opts.timeoutMs, runs: PROBE_STEPS.length, answers: true }));
    const node = await nodeHost();

    const requests = [
      ...cases.map((c) => ({ op: 'check', checker: c.file, device: c.device, timeoutMs: c.timeoutMs, runs: c.runs })),
      ...probes.map((c) => ({ op: 'check', checker: c.file, device: c.device, timeoutMs: c.timeoutMs, runs: c.runs, answers: true })),
      ...fixtures.map((f) => ({ op: 'load', path: f.path })),
    ];
    const rig = runRig(opts.python, requests);
    const wasm = rig.results;
    const nodeCheck = async (c) => {
      try {
        return await node.check(c);
      } catch (e) {
        return { error: e.message };
      }
    };

    const caseRows = [];
    for (const [i, c] of cases.entries()) {
      const n = await nodeCheck(c);
      const w = wasm[i];
      const strip = (r) => (r.error !== undefined ? { error: r.error } : { state: r.state, code: r.code, message: r.message, us: r.us });
      caseRows.push({
        checker: n.name ?? w.name ?? relative(CHECKERS_DIR, c.file),
        file: relative(ROOT, c.file),
        scenario: c.scenario,
        sense: c.sense,
        device: c.device,
        timeoutMs: c.timeoutMs,
        runs: c.runs,
        node: strip(n),
        wasmtime: strip(w),
        match: sameAnswer(n, w),
      });
    }
    const probeRows = [];
    for (const [i, c] of probes.entries()) {
      const n = await nodeCheck(c);
      const w = wasm[cases.length + i];
      const values = (r) => (r.answers ?? []).map((a) => (/ value (\d+)$/.exec(a)?.[1] ?? a));
      const steps = PROBE_STEPS.map(([what], k) => ({ step: what, node: values(n)[k] ?? null, wasmtime: values(w)[k] ?? null }));
      const differ = steps.filter((st) => st.node !== st.wasmtime);
      probeRows.push({
        device: c.device,
        scenario: c.scenario,
        sense: c.sense,
        ...(n.error !== undefined && { nodeError: n.error }),
        ...(w.error !== undefined && { wasmtimeError: w.error }),
        steps,
        match: n.error === undefined && w.error === undefined && differ.length === 0 && steps.every((st) => st.node !== null),
      });
    }
    const rejectRows = [];
    for (const [i, f] of fixtures.entries()) {
      const n = await node.load(f.path);
      const { op: _op, path: _path, ...w } = wasm[cases.length + probes.length + i];
      rejectRows.push({ fixture: f.id, expect: f.expect, path: f.path, node: n, wasmtime: w, match: sameRefusal(n, w, f.expect) });
    }

    const timing = {};
    for (const name of [...new Set(caseRows.map((r) => r.checker))]) {
      const instant = caseRows.filter((r) => r.checker === name && r.runs > 1 && r.match);
      if (instant.length === 0) continue;
      timing[name] = { node: round(median(instant.map((r) => r.node.us))), wasmtime: round(median(instant.map((r) => r.wasmtime.us))), scenarios: instant.length };
    }
    const mismatched = [caseRows, probeRows, rejectRows].reduce((n, rows) => n + rows.filter((r) => !r.match).length, 0);
    const summary = {
      checkers: [...new Set(caseRows.map((r) => r.checker))].length,
      scenarios: scenarios.length,
      cases: caseRows.length,
      matched: caseRows.filter((r) => r.match).length,
      probes: probeRows.length,
      probeSteps: PROBE_STEPS.length,
      probesMatched: probeRows.filter((r) => r.match).length,
      rejects: rejectRows.length,
      rejectsMatched: rejectRows.filter((r) => r.match).length,
      medianUs: timing,
    };
    const report = {
      ok: mismatched === 0,
      engines: { node: process.version, wasmtime: rig.engine },
      timeoutMs: opts.timeoutMs,
      runs: opts.runs,
      checkers: checkers.map((f) => relative(ROOT, f)),
      scenarios,
      skipped,
      cases: caseRows,
      probes: probeRows,
      rejects: rejectRows,
      summary,
    };

    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const out = (l = '') => process.stdout.write(`${l}\n`);
      const show = (r) => (r.error !== undefined ? ['error', r.error] : [r.state, r.message]);
      out(`pathcheck conformance: Node ${process.version} vs wasmtime ${rig.engine.version} (Python ${rig.engine.python}), checker_timeout ${opts.timeoutMs} ms`);
      out();
      const rows = caseRows.map((r) => [r.checker, r.device, ...show(r.node), ...show(r.wasmtime), r.match ? 'yes' : 'NO', r.node.us ?? '-', r.wasmtime.us ?? '-', r.runs]);
      for (const l of table(['CHECKER', 'DEVICE', 'NODE STATE', 'NODE MESSAGE', 'WASMTIME STATE', 'WASMTIME MESSAGE', 'MATCH', 'NODE us', 'WASMTIME us', 'RUNS'], rows, ['NODE us', 'WASMTIME us', 'RUNS'])) out(l);
      out();
      out(`Frame probe: ${PROBE_STEPS.length} WASI / sg v2 observations per device, one per check; each value must be the same under both hosts.`);
      out(PROBE_STEPS.map(([what], k) => `${String(k).padStart(2)} ${what}`).join('\n'));
      out();
      const probeTable = probeRows.map((r) => [
        r.device,
        r.match ? 'yes' : 'NO',
        r.steps.map((st) => (st.node === st.wasmtime ? st.node : `${st.node}/${st.wasmtime}`)).join(' '),
      ]);
      for (const l of table(['DEVICE', 'MATCH', 'VALUES BY STEP (node/wasmtime where they differ)'], probeTable)) out(l);
      for (const r of probeRows.filter((row) => !row.match)) {
        if (r.nodeError) out(`  ${r.device}: node error: ${r.nodeError}`);
        if (r.wasmtimeError) out(`  ${r.device}: wasmtime error: ${r.wasmtimeError}`);
        for (const st of r.steps.filter((x) => x.node !== x.wasmtime)) out(`  ${r.device}: ${st.step}: node ${st.node}, wasmtime ${st.wasmtime}`);
      }
      out();
      out('Modules broken in one way: both hosts must refuse them with the same reason (the last one must load).');
      out();
      for (const r of rejectRows) {
        const say = (h) => (h.error !== undefined ? `error: ${h.error}` : h.ok ? `loads (checker '${h.name}')` : `[${h.code}] ${h.reason}`);
        out(`${r.match ? 'same' : 'DIFFERENT'}  ${r.fixture}`);
        out(`    node:     ${say(r.node)}`);
        out(`    wasmtime: ${say(r.wasmtime)}`);
      }
      out();
      out(`${summary.cases} checks (${summary.checkers} checkers x ${summary.scenarios} scenarios, sense scenarios in both formats; skipped: ${skipped.join(', ')}): ${summary.matched} match, ${summary.cases - summary.matched} differ`);
      out(`${summary.probes} devices probed (${summary.probeSteps} steps each): ${summary.probesMatched} alike in every step`);
      out(`${summary.rejects} modules: ${summary.rejectsMatched} answered the same by both hosts`);
      for (const [name, t] of Object.entries(timing)) {
        out(`per-check time, ${name}: node ${t.node} us, wasmtime ${t.wasmtime} us (median over ${t.scenarios} non-waiting scenarios, ${opts.runs} checks each)`);
      }
      out(report.ok ? 'CONFORMANT: every answer, probe value and refusal is the same under both hosts' : 'NOT CONFORMANT: see the rows marked NO / DIFFERENT');
    }
    return report.ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`conformance: ${e instanceof SetupError ? e.message : (e?.stack ?? e)}\n`);
    process.exitCode = 2;
  },
);
