import type { JobEnd } from '../pool/worker-pool.js';
import { decodeCheckResult, RESULT_RESERVED_BITS } from '../abi/abi-version.js';
import { hostMessage } from '../abi/message.js';
import { isPathState, PathState, stateName, type PathStateName, type PathStateValue } from '../abi/path-state.js';
import type { CheckerClass } from './checker-class.js';

/** A finished check as users see it. `code` is the numeric state (libmultipath numbering). */
export interface CheckResult {
  readonly state: PathStateName;
  readonly code: PathStateValue;
  readonly message: string;
  readonly ms: number;
}

/** How a check's last plugin call ended, before any state interpretation. */
export type CheckOutcome = Extract<JobEnd, { kind: 'returned' | 'trapped' }>;

/**
 * Turn how pc_check ended into a path state and message. The host's deadline wins over the plugin's
 * answer (docs/ABI.md "A check, step by step"); a trap means the path is down, with the reason.
 */
export function interpretOutcome(cls: CheckerClass, outcome: CheckOutcome): CheckResult {
  const ms = outcome.ms;
  if (outcome.late) return result(PathState.TIMEOUT, hostMessage.timeout(cls.name), ms);
  if (outcome.kind === 'trapped') return result(PathState.DOWN, hostMessage.trap(cls.name, outcome.reason), ms);
  if ((outcome.raw & RESULT_RESERVED_BITS) !== 0) return result(PathState.WILD, hostMessage.invalidResult(cls.name, outcome.raw), ms);
  const { state, msgid } = decodeCheckResult(outcome.raw);
  if (!isPathState(state)) return result(PathState.WILD, hostMessage.invalidState(cls.name, state), ms);
  return result(state, cls.messages.format(msgid), ms);
}

export function result(code: PathStateValue, message: string, ms: number): CheckResult {
  return { state: stateName(code), code, message, ms };
}
