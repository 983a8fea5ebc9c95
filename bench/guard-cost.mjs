// What the corruption check costs per plugin call (docs/ABI.md "Memory layout"): a worker verifies the
// context's checksum before the call, the four guards around its context and scratch after it, and
// takes the checksum again. Measured here on the very MemoryGuard the workers use, for a tur-sized
// context and two larger ones, as ns per call; bench/pool.mjs sets it against its per-check cost.
import { GUARD_BYTES, MemoryGuard } from '../dist/host/pool/memory-guard.js';

const CALLS = 200_000;
const SIZES = [32, 1024, 65536];

export function measureGuardCost() {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
  const guard = new MemoryGuard(memory, 0x5eed);
  const scratch = 64;
  const rows = [];
  for (const bytes of SIZES) {
    const ctx = 2 * 65536;
    const stride = bytes + GUARD_BYTES;
    for (const at of [scratch - GUARD_BYTES, scratch + 256, ctx - GUARD_BYTES, ctx + stride - GUARD_BYTES]) guard.seal(at);
    if (!guard.aroundIntact(ctx, stride, scratch, 256 + GUARD_BYTES)) throw new Error('guard-cost: the sealed guards do not read back intact');
    let sum = guard.sum(ctx, bytes);
    let broken = 0;
    const calls = Math.max(2000, Math.round(CALLS / Math.max(1, bytes / 256)));
    const t = performance.now();
    for (let i = 0; i < calls; i++) {
      if (guard.sum(ctx, bytes) !== sum) broken++;
      if (!guard.aroundIntact(ctx, stride, scratch, 256 + GUARD_BYTES)) broken++;
      sum = guard.sum(ctx, bytes);
    }
    const ns = ((performance.now() - t) * 1e6) / calls;
    rows.push({ ctxBytes: bytes, calls, nsPerCall: Math.round(ns), broken });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(measureGuardCost());
