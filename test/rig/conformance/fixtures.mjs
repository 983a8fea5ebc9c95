/**
 * Small hand-written plugins (after test/helpers/wat.ts fakePlugin), on ABI v2:
 *  - refusals: modules broken in exactly one way, which both hosts must refuse with the same one-line
 *    reason (and one well-formed module both must load);
 *  - behaviours: modules that load, whose check does one thing a host must judge itself (a WAIT on
 *    nothing), answered alike by both hosts.
 */
import { assemble } from './assemble.mjs';
import { resultCode, utf16, utf16Bytes, waitOn } from './wat-text.mjs';

const UP = 3;
const MSGID_UP = 4;

export function fakePluginText(p = {}) {
  const name = p.name ?? 'fake';
  const message = 'says hello';
  const omit = new Set(p.omit ?? []);
  const exp = (n) => (omit.has(n) ? '' : `(export "${n}")`);
  return `(module
    ${p.memory ?? '(import "env" "memory" (memory 1 16384 shared))'}
    ${p.extra ?? ''}
    (data (i32.const 1024) "${utf16(name)}")
    (data (i32.const 1088) "${utf16(message)}")
    ${omit.has('memory') ? '' : '(export "memory" (memory 0))'}
    (func ${exp('pc_abi_version')} (result i32) (i32.const ${p.abi ?? 2}))
    (func ${exp('pc_name')} (result i32) (i32.const 1024))
    (func ${exp('pc_name_len')} (result i32) (i32.const ${utf16Bytes(name)}))
    (func ${exp('pc_ctx_size')} (result i32) (i32.const 16))
    (func ${exp('pc_scratch_size')} (result i32) (i32.const 64))
    (func ${exp('pc_msg_count')} (result i32) (i32.const 1))
    (func ${exp('pc_msg')} (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const 1088)))) (i32.const 0))
    (func ${exp('pc_msg_len')} (param $id i32) (result i32) (if (i32.eq (local.get $id) (i32.const 100)) (then (return (i32.const ${utf16Bytes(message)})))) (i32.const 0))
    (func ${exp('pc_init')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) (i32.const 0))
    (func ${exp('pc_check')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
      ${p.check ?? `(i32.const ${resultCode(UP, MSGID_UP)})`})
    ;; Never called by a host that keeps the rules: these checks never wait on a command.
    (func ${exp('pc_pending')} (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) (i32.const 0))
    (func ${exp('pc_free')} (param $ctx i32))
  )`;
}

/** id -> [what the Node host's LoadError code must be (null: loads), fakePlugin knobs]. */
const REFUSALS = {
  'bad-import': ['import', { extra: '(import "env" "abort" (func $abort (param i32 i32 i32 i32)))' }],
  'unsupported-wasi': ['import', { extra: '(import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))' }],
  'own-memory': ['own-memory', { memory: '(memory 1 16384 shared)' }],
  'unshared-memory': ['memory', { memory: '(import "env" "memory" (memory 1 16384))' }],
  'missing-export': ['missing-export', { omit: ['pc_check', 'pc_free'] }],
  'missing-pc-pending': ['missing-export', { omit: ['pc_pending'] }],
  'abi-version-1': ['abi-version', { abi: 1 }],
  'abi-version-3': ['abi-version', { abi: 3 }],
  'bad-name': ['bad-export', { name: 'Fake!' }],
  'well-formed': [null, {}],
};

/** id -> fakePlugin knobs: a check that waits on an fd with nothing outstanding (docs/ABI.md "Waiting"). */
const BEHAVIOURS = {
  'wait-on-stdin': { name: 'wait-stdin', check: waitOn('(i32.const 0)') },
  'wait-on-idle-device': { name: 'wait-idle', check: waitOn('(local.get $fd)') },
};

export async function writeRefusals(dir) {
  const out = [];
  for (const [id, [expect, knobs]] of Object.entries(REFUSALS)) out.push({ id, expect, path: await assemble(dir, id, fakePluginText(knobs)) });
  return out;
}

export async function writeBehaviours(dir) {
  const out = [];
  for (const [id, knobs] of Object.entries(BEHAVIOURS)) out.push({ id, name: knobs.name, path: await assemble(dir, id, fakePluginText(knobs)) });
  return out;
}
