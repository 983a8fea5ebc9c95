/** Why a path could not be bound to a checker class (no such class, quarantined, no slot, pc_init failed): one line. */
export class BindError extends Error {
  override readonly name = 'BindError';
}
