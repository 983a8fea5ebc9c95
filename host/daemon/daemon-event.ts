import type { PathStateName } from '../abi/path-state.js';

/** What `watch` streams, in order; `seq` numbers every event the daemon emits. */
export type DaemonEventBody =
  | { readonly type: 'state'; readonly path: string; readonly checker: string; readonly from: PathStateName; readonly to: PathStateName; readonly message: string }
  | { readonly type: 'path-added'; readonly path: string; readonly checker: string }
  | { readonly type: 'path-removed'; readonly path: string }
  | { readonly type: 'class-loaded'; readonly checker: string; readonly version: number; readonly sha256: string }
  | { readonly type: 'class-unloaded'; readonly checker: string; readonly version: number }
  /** No check of the class is dispatched any more; only a new version (reload) lifts it. */
  | { readonly type: 'class-quarantined'; readonly checker: string; readonly version: number; readonly reason: string }
  /** Every worker has dropped its instance of an unloaded class: its memory and code are gone. */
  | { readonly type: 'class-released'; readonly checker: string; readonly version: number }
  /** A plugin call made for the host (pc_free) failed; the host carried on (the slot was freed). */
  | { readonly type: 'call-failed'; readonly checker: string; readonly version: number; readonly message: string }
  | { readonly type: 'refcount-error'; readonly checker: string; readonly version: number; readonly count: number }
  | { readonly type: 'worker-replaced'; readonly worker: number; readonly reason: string }
  | { readonly type: 'stuck-cap'; readonly message: string }
  | { readonly type: 'fault'; readonly path: string; readonly scenario: string }
  | { readonly type: 'reconfigured'; readonly added: number; readonly removed: number; readonly reloaded: readonly string[] }
  | { readonly type: 'shutdown'; readonly abandoned: number };

export type DaemonEvent = DaemonEventBody & { readonly seq: number; readonly time: string };
