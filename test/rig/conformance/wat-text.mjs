/** Pieces of WebAssembly text the conformance fixtures share. */

/** A string as UTF-16LE bytes in a WAT data string (docs/ABI.md "Strings"). */
export function utf16(s) {
  return [...Buffer.from(s, 'utf16le')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

/** Its length in bytes, as pc_name_len / pc_msg_len answer it. */
export function utf16Bytes(s) {
  return Buffer.byteLength(s, 'utf16le');
}

/** `WAIT | fd` (docs/ABI.md "Waiting"), `fd` a WAT i32 expression. */
export function waitOn(fd) {
  return `(i32.or (i32.const ${0x80000000 | 0}) (i32.and ${fd} (i32.const 0xffff)))`;
}

/** pc_check's result encoding: state | msgid << 8. */
export function resultCode(state, msgid) {
  return state | (msgid << 8);
}
