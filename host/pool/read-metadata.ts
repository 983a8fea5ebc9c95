import { ABI_VERSION } from '../abi/abi-version.js';
import { FIRST_MSGID } from '../abi/message.js';
import type { PluginInstance } from './plugin-instance.js';
import type { ClassMetadata } from './worker-cells.js';

const METADATA_EXPORTS = ['pc_name', 'pc_name_len', 'pc_ctx_size', 'pc_scratch_size', 'pc_msg_count', 'pc_msg', 'pc_msg_len'] as const;

/** Checker-specific ids must fit the 8 message bits of a check result. */
export const MAX_MESSAGES = 256 - FIRST_MSGID;

/**
 * Call a class's metadata exports (docs/ABI.md "Exports") on a worker. Values are passed on as the
 * plugin returned them: the main thread decides what is acceptable and says why not.
 */
export function readMetadata(instance: PluginInstance): ClassMetadata {
  const x = instance.exports;
  const abiVersion: unknown = x.pc_abi_version();
  // Another version's exports mean something else, and missing ones are refused by name on the main
  // thread: only the version is read then.
  if (abiVersion !== ABI_VERSION || METADATA_EXPORTS.some((n) => typeof x[n] !== 'function')) {
    return { abiVersion, name: null, ctxSize: null, scratchSize: null, msgCount: null, messages: [], mpctxOffset: -1 };
  }
  const msgCount: unknown = x.pc_msg_count();
  const messages: (string | null)[] = [];
  if (typeof msgCount === 'number' && Number.isInteger(msgCount) && msgCount >= 0 && msgCount <= MAX_MESSAGES) {
    for (let i = 0; i < msgCount; i++) messages.push(instance.readString(x.pc_msg(FIRST_MSGID + i), x.pc_msg_len(FIRST_MSGID + i)));
  }
  return {
    abiVersion,
    name: instance.readString(x.pc_name(), x.pc_name_len()),
    ctxSize: x.pc_ctx_size(),
    scratchSize: x.pc_scratch_size(),
    msgCount,
    messages,
    mpctxOffset: x.pc_mpctx_offset === undefined ? -1 : x.pc_mpctx_offset(),
  };
}
