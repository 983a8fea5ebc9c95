/**
 * Per-context fields in a class's shared context table: the registry writes them, host worker
 * threads read GEN (to refuse a stale handle) and DEVICE (which device the context checks). SUM is
 * the checksum of the context as its last call left it (MemoryGuard), verified before the next.
 */
export const ContextField = { GEN: 0, HOLDERS: 1, DEVICE: 2, SUM: 3 } as const;
export const CONTEXT_FIELDS = 4;
