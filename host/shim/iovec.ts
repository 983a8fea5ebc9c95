import type { GuestMemory } from './guest-memory.js';

const IOVEC_SIZE = 8;
/** Most iovecs one call takes (Linux's IOV_MAX, UIO_MAXIOV): more is EINVAL. */
export const IOV_MAX = 1024;

/**
 * Validate an iovec array (`{ buf: u32, buf_len: u32 }[]`) and return its total length, or -1 when the
 * array or any buffer lies outside memory (the caller answers EFAULT).
 */
export function iovecTotal(mem: GuestMemory, iovs: number, count: number): number {
  if (count < 0 || !mem.inBounds(iovs, count * IOVEC_SIZE)) return -1;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const at = iovs + i * IOVEC_SIZE;
    const buf = mem.u32(at);
    const len = mem.u32(at + 4);
    if (!mem.inBounds(buf, len)) return -1;
    total += len;
  }
  return total;
}

/** Copy the first bytes named by a validated iovec array into `into`, in order, until it is full. */
export function gather(mem: GuestMemory, iovs: number, count: number, into: Uint8Array): void {
  let off = 0;
  for (let i = 0; i < count && off < into.length; i++) {
    const at = iovs + i * IOVEC_SIZE;
    const n = Math.min(mem.u32(at + 4), into.length - off);
    into.set(mem.bytes(mem.u32(at), n), off);
    off += n;
  }
}

/** Spread `from` over a validated iovec array, in order, as far as it fits; returns bytes copied. */
export function scatter(mem: GuestMemory, iovs: number, count: number, from: Uint8Array): number {
  let off = 0;
  for (let i = 0; i < count && off < from.length; i++) {
    const at = iovs + i * IOVEC_SIZE;
    const n = Math.min(mem.u32(at + 4), from.length - off);
    mem.bytes(mem.u32(at), n).set(from.subarray(off, off + n));
    off += n;
  }
  return off;
}
