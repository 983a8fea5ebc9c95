/**
 * The frame probe: a hand-written plugin that makes one WASI call sequence per check (step = checks so
 * far, kept in its ctx) and answers `up` with message "value N", N the 7-bit observation. tur's answers
 * cannot show everything docs/ABI.md fixes (DRIVER_SENSE, pack_len = reply_len, truncation, most errno
 * values, the memory layout rules); the probe's can, and both hosts must give every value alike.
 *
 * It keeps the ABI v2 rules, so the same bytes run on a blocking host and a resuming one: a read of a
 * command it submitted that answers EAGAIN makes it return WAIT | fd, and pc_pending continues. To
 * continue on any thread, with another scratch region and another fd number, it keeps a journal in its
 * ctx: the errno of every WASI call the current step (or pc_init) has completed. pc_pending runs the
 * step again from the top; calls already in the journal are not made again but answer as recorded, so
 * the step reaches the call that waited with the same frames rebuilt in the new scratch, and makes it
 * for real. Only the last real call's data is read back, so nothing else needs keeping. A host whose
 * fds block never answers EAGAIN to such a read: there, every step finishes in one call.
 *
 * pc_init waits like a check: it sends one TEST UNIT READY and keeps its errno, which a step reports.
 */
import { resultCode, utf16, utf16Bytes, waitOn } from './wat-text.mjs';

const UP = 3;
const WILD = 0;
const EAGAIN = 6;
const EINVAL = 28;

/** Scratch: 0 iovec, 8 byte count, 16 request frame (64 bytes), 128 reply buffer (128), 256 out-params. */
const SCRATCH_SIZE = 512;
const S = '(global.get $s)';
const at = (off) => `(i32.add ${S} (i32.const ${off}))`;
const R = at(128);

/** ctx: 0 checks started, 4 phase (0 idle, 1 in pc_init, 2 in a check), 8 journal length, 12 pc_init's TUR errno, 16 journal. */
const CTX = { CHECKS: 0, PHASE: 4, DONE: 8, INIT_ERRNO: 12, JOURNAL: 16 };
const JOURNAL_ENTRIES = 8;
const CTX_SIZE = CTX.JOURNAL + 4 * JOURNAL_ENTRIES;
const PHASE = { IDLE: 0, INIT: 1, CHECK: 2 };
const C = '(global.get $c)';
const field = (off) => `(i32.add ${C} (i32.const ${off}))`;

/** Static data: the name at 1024, path_open names at 1100, message texts from 2048; ends at DATA_END. */
const PROBE_VALUES = 128;
const VALUE_TEXT_STRIDE = 32;
const valueText = (v) => `value ${v}`;
const DATA_END = 2048 + (PROBE_VALUES - 1) * VALUE_TEXT_STRIDE + utf16Bytes(valueText(PROBE_VALUES - 1));

const tur = (fd = '(local.get $fd)') => `(call $tur ${fd})`;
/** The value of a field of the TUR reply, or 127 when the TUR itself failed. */
const turField = (expr) => `(if (result i32) ${tur()} (then (i32.const 127)) (else ${expr}))`;
const inquiry = (evpd, readCap) => `(block (result i32)
      (call $req (i32.const 0x12) (i32.const 72) (i32.const 0) (i32.const 42))
      (i32.store8 ${at(16 + 36 + 1)} (i32.const ${evpd}))
      (i32.store8 ${at(16 + 36 + 4)} (i32.const 36))
      (if (result i32) (call $write (local.get $fd) (i32.const 42)) (then (i32.const 126))
        (else (if (result i32) (call $read (local.get $fd) (i32.const ${readCap})) (then (i32.const 125)) (else (i32.const 0))))))`;
const bit = (cond, n) => `(i32.shl ${cond} (i32.const ${n}))`;
const pread = (offset) => `(call $pread (local.get $fd) (i32.const 16) (i64.const ${offset}))`;

/**
 * [what is observed, WAT computing it (locals $k $ctx $fd $e), and, for an observation that tells the
 * kind of host apart, the value expected by kind].
 */
export const PROBE_STEPS = [
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
  ['pc_init tur errno (pc_init may wait too)', `(i32.load offset=${CTX.INIT_ERRNO} (local.get $ctx))`],
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
  ["close the path's device fd", `(call $fd_close (local.get $fd))`],
  ['path_open of an unknown name', `(call $path_open (i32.const 3) (i32.const 0) (i32.const 1100) (i32.const 4) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) ${at(256)})`],
  ['path_open of ../x', `(call $path_open (i32.const 3) (i32.const 0) (i32.const 1104) (i32.const 4) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) ${at(256)})`],
  ['preopen name length', `(if (result i32) (call $fd_prestat_get (i32.const 3) ${at(256)}) (then (i32.const 127)) (else (i32.add (i32.load ${at(260)}) (i32.load ${at(256)}))))`],
  ['device fd filetype', `(if (result i32) (call $fd_fdstat_get (local.get $fd) ${at(256)}) (then (i32.const 127)) (else (i32.load8_u ${at(256)})))`],
  [
    'device fd fs_flags (NONBLOCK on a resuming host)',
    `(if (result i32) (call $fd_fdstat_get (local.get $fd) ${at(256)}) (then (i32.const 127)) (else (i32.load16_u ${at(258)})))`,
    { blocking: '0', resuming: '4' },
  ],
  ['pread of 16 bytes at 1000', `(block (result i32)
      (local.set $e ${pread(1000)})
      (if (result i32) (local.get $e) (then (local.get $e)) (else (call $hash ${R} (i32.const 16)))))`],
  ['pread past the end of the device', pread(1048568)],
  ['clock_time_get of an unknown clock', `(call $clock_time_get (i32.const 99) (i64.const 0) ${at(256)})`],
  // Which region and slot a call gets is each host's (thread, pool timing): the rules are what must hold.
  ['memory layout: scratch and ctx 16-aligned, scratch past the data, ctx past the scratch', `(i32.or (i32.or
      ${bit(`(i32.eqz (i32.and ${S} (i32.const 15)))`, 0)}
      ${bit('(i32.eqz (i32.and (local.get $ctx) (i32.const 15)))', 1)})
    (i32.or
      ${bit(`(i32.ge_u ${S} (i32.const ${DATA_END}))`, 2)}
      ${bit(`(i32.ge_u (local.get $ctx) (i32.add ${S} (i32.const ${SCRATCH_SIZE})))`, 3)}))`],
  ['memory pages', `(memory.size)`],
];

/**
 * The journalled WASI calls: $write, $read, $pread. Each one, in order: if the call has waited
 * ($waiting), do nothing; if the journal has this call's errno, answer it without calling; else call,
 * and either wait (EAGAIN on a command of ours: the step is abandoned and resumed later) or record.
 * $outstanding: a command of ours was submitted and its reply not yet read, so an EAGAIN is a wait and
 * not the answer (it is rebuilt by the replay, so it needs no place in ctx).
 */
const JOURNAL_FUNCS = `
  (func $replaying (result i32) (i32.lt_u (global.get $op) (i32.load ${field(CTX.DONE)})))
  (func $journal (result i32) (i32.add ${field(CTX.JOURNAL)} (i32.shl (global.get $op) (i32.const 2))))
  (func $replayed (result i32) (local $e i32)
    (local.set $e (i32.load (call $journal)))
    (global.set $op (i32.add (global.get $op) (i32.const 1)))
    (local.get $e))
  (func $record (param $e i32) (result i32)
    (if (i32.ge_u (global.get $op) (i32.const ${JOURNAL_ENTRIES})) (then (unreachable)))
    (i32.store (call $journal) (local.get $e))
    (global.set $op (i32.add (global.get $op) (i32.const 1)))
    (i32.store ${field(CTX.DONE)} (global.get $op))
    (local.get $e))
  (func $wait (param $fd i32) (result i32)
    (global.set $waiting (i32.const 1))
    (global.set $waitFd (local.get $fd))
    (i32.const 127))
  (func $write (param $fd i32) (param $len i32) (result i32) (local $e i32)
    (if (global.get $waiting) (then (return (i32.const 127))))
    (i32.store ${S} ${at(16)}) (i32.store ${at(4)} (local.get $len)) (i32.store ${at(8)} (i32.const 0))
    (local.set $e (if (result i32) (call $replaying) (then (call $replayed))
      (else (call $record (call $fd_write (local.get $fd) ${S} (i32.const 1) ${at(8)})))))
    (if (i32.eqz (local.get $e)) (then (global.set $outstanding (i32.const 1))))
    (local.get $e))
  (func $read (param $fd i32) (param $cap i32) (result i32) (local $e i32)
    (if (global.get $waiting) (then (return (i32.const 127))))
    (memory.fill ${R} (i32.const 0) (i32.const 128))
    (i32.store ${S} ${R}) (i32.store ${at(4)} (local.get $cap)) (i32.store ${at(8)} (i32.const 0))
    (if (call $replaying) (then (local.set $e (call $replayed)))
      (else
        (local.set $e (call $fd_read (local.get $fd) ${S} (i32.const 1) ${at(8)}))
        (if (i32.and (i32.eq (local.get $e) (i32.const ${EAGAIN})) (global.get $outstanding)) (then (return (call $wait (local.get $fd)))))
        (drop (call $record (local.get $e)))))
    ;; Anything but EAGAIN, or EINVAL for a buffer below the header (the reply stays), consumed the reply.
    (if (i32.and (i32.ne (local.get $e) (i32.const ${EAGAIN})) (i32.ne (local.get $e) (i32.const ${EINVAL}))) (then (global.set $outstanding (i32.const 0))))
    (local.get $e))
  (func $pread (param $fd i32) (param $len i32) (param $offset i64) (result i32) (local $e i32)
    (if (global.get $waiting) (then (return (i32.const 127))))
    (i32.store ${S} ${R}) (i32.store ${at(4)} (local.get $len))
    (if (call $replaying) (then (return (call $replayed))))
    (local.set $e (call $fd_pread (local.get $fd) ${S} (i32.const 1) (local.get $offset) ${at(8)}))
    ;; A plain read submits itself: EAGAIN is always a wait.
    (if (i32.eq (local.get $e) (i32.const ${EAGAIN})) (then (return (call $wait (local.get $fd)))))
    (call $record (local.get $e)))`;

export function probeText() {
  const data = [];
  for (let v = 0; v < PROBE_VALUES; v++) data.push(`(data (i32.const ${2048 + v * VALUE_TEXT_STRIDE}) "${utf16(valueText(v))}")`);
  const steps = PROBE_STEPS.map(([, body], k) => `(if (i32.eq (local.get $k) (i32.const ${k})) (then (return ${body})))`).join('\n    ');
  const name = 'probe';
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
  ;; Per call, never carried from one call to the next: scratch and ctx of this call, the next
  ;; journal index, and whether (and on which fd) this call waits.
  (global $s (mut i32) (i32.const 0))
  (global $c (mut i32) (i32.const 0))
  (global $op (mut i32) (i32.const 0))
  (global $outstanding (mut i32) (i32.const 0))
  (global $waiting (mut i32) (i32.const 0))
  (global $waitFd (mut i32) (i32.const 0))
  (data (i32.const 1024) "${utf16(name)}")
  (data (i32.const 1100) "nope../x")
  ${data.join('\n  ')}
  (export "memory" (memory 0))
  (func (export "pc_abi_version") (result i32) (i32.const 2))
  (func (export "pc_name") (result i32) (i32.const 1024))
  (func (export "pc_name_len") (result i32) (i32.const ${utf16Bytes(name)}))
  (func (export "pc_ctx_size") (result i32) (i32.const ${CTX_SIZE}))
  (func (export "pc_scratch_size") (result i32) (i32.const ${SCRATCH_SIZE}))
  (func (export "pc_msg_count") (result i32) (i32.const ${PROBE_VALUES}))
  (func (export "pc_msg") (param $id i32) (result i32) (i32.add (i32.const 2048) (i32.mul (i32.sub (local.get $id) (i32.const 100)) (i32.const ${VALUE_TEXT_STRIDE}))))
  (func (export "pc_msg_len") (param $id i32) (result i32)
    (local $n i32) (local.set $n (i32.sub (local.get $id) (i32.const 100)))
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 10)) (then (i32.const 14))
      (else (if (result i32) (i32.lt_u (local.get $n) (i32.const 100)) (then (i32.const 16)) (else (i32.const 18))))))
  (func (export "pc_free") (param $ctx i32))
  (func $begin (param $ctx i32) (param $scratch i32)
    (global.set $c (local.get $ctx))
    (global.set $s (local.get $scratch))
    (global.set $op (i32.const 0))
    (global.set $outstanding (i32.const 0))
    (global.set $waiting (i32.const 0)))
  ;; A request frame at scratch+16: header (pack_len = len, reply_len, pack_id 85, twelve_byte), CDB opcode.
  (func $req (param $op i32) (param $replyLen i32) (param $twelve i32) (param $len i32)
    (memory.fill ${at(16)} (i32.const 0) (i32.const 64))
    (i32.store ${at(16)} (local.get $len))
    (i32.store ${at(20)} (local.get $replyLen))
    (i32.store ${at(24)} (i32.const 85))
    (i32.store ${at(32)} (local.get $twelve))
    (i32.store8 ${at(52)} (local.get $op)))
  ${JOURNAL_FUNCS}
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
  ;; pc_init's work, run again from the top by pc_pending until it stops waiting.
  (func $init (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) (local $e i32)
    (call $begin (local.get $ctx) (local.get $scratch))
    (local.set $e ${tur()})
    (if (global.get $waiting) (then (return ${waitOn('(global.get $waitFd)')})))
    (i32.store offset=${CTX.INIT_ERRNO} (local.get $ctx) (local.get $e))
    (i32.store offset=${CTX.PHASE} (local.get $ctx) (i32.const ${PHASE.IDLE}))
    (i32.const 0))
  ;; The current check's step, run again from the top by pc_pending until it stops waiting.
  (func $check (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32) (local $v i32)
    (call $begin (local.get $ctx) (local.get $scratch))
    (local.set $v (call $step
      (i32.rem_u (i32.sub (i32.load offset=${CTX.CHECKS} (local.get $ctx)) (i32.const 1)) (i32.const ${PROBE_STEPS.length}))
      (local.get $ctx) (local.get $fd)))
    (if (global.get $waiting) (then (return ${waitOn('(global.get $waitFd)')})))
    (i32.store offset=${CTX.PHASE} (local.get $ctx) (i32.const ${PHASE.IDLE}))
    (i32.or (i32.const ${UP}) (i32.shl (i32.add (i32.const 100) (i32.and (local.get $v) (i32.const 127))) (i32.const 8))))
  (func (export "pc_init") (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
    (i32.store offset=${CTX.PHASE} (local.get $ctx) (i32.const ${PHASE.INIT}))
    (i32.store offset=${CTX.DONE} (local.get $ctx) (i32.const 0))
    (call $init (local.get $ctx) (local.get $fd) (local.get $scratch)))
  (func (export "pc_check") (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
    (i32.store offset=${CTX.CHECKS} (local.get $ctx) (i32.add (i32.load offset=${CTX.CHECKS} (local.get $ctx)) (i32.const 1)))
    (i32.store offset=${CTX.PHASE} (local.get $ctx) (i32.const ${PHASE.CHECK}))
    (i32.store offset=${CTX.DONE} (local.get $ctx) (i32.const 0))
    (call $check (local.get $ctx) (local.get $fd) (local.get $scratch)))
  (func (export "pc_pending") (param $ctx i32) (param $fd i32) (param $scratch i32) (result i32)
    (if (i32.eq (i32.load offset=${CTX.PHASE} (local.get $ctx)) (i32.const ${PHASE.INIT})) (then (return (call $init (local.get $ctx) (local.get $fd) (local.get $scratch)))))
    (if (i32.eq (i32.load offset=${CTX.PHASE} (local.get $ctx)) (i32.const ${PHASE.CHECK})) (then (return (call $check (local.get $ctx) (local.get $fd) (local.get $scratch)))))
    (i32.const ${resultCode(WILD, 0)}))
)`;
}
