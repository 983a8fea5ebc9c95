import type { GuestMemory } from './guest-memory.js';

const IOVEC_SIZE = 8;
/** Most iovecs one call takes (Linux's IOV_MAX, UIO_MAXIOV): more is EINVAL. */
export const IOV_MAX = 1024;

/**
 * The iovec array (`{ buf: u32, buf_len: u32 }[]`) of one fd_read/fd_write/fd_pread, copied out of guest
 * memory once and validated, as Linux's readv/writev copy the iovecs in before any I/O. The copy, not
 * guest memory, steers gather and scatter: a read whose data lands on its own iovec array (or another
 * thread rewriting it) cannot redirect the rest of the copy past the validated buffers. One list per
 * shim, reused: a call allocates nothing.
 */
export class IovecList {
  private readonly pairs = new Uint32Array(2 * IOV_MAX);
  private count = 0;
  /** Total length of the buffers last loaded. */
  total = 0;

  /**
   * Copy and validate `count` iovecs at `iovs` (count <= IOV_MAX). False when the array or any buffer
   * lies outside memory (the caller answers EFAULT).
   */
  load(mem: GuestMemory, iovs: number, count: number): boolean {
    this.count = 0;
    this.total = 0;
    if (count < 0 || count > IOV_MAX || !mem.inBounds(iovs, count * IOVEC_SIZE)) return false;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const at = iovs + i * IOVEC_SIZE;
      const buf = mem.u32(at);
      const len = mem.u32(at + 4);
      if (!mem.inBounds(buf, len)) return false;
      this.pairs[2 * i] = buf;
      this.pairs[2 * i + 1] = len;
      total += len;
    }
    this.count = count;
    this.total = total;
    return true;
  }

  /** Copy the first bytes the loaded buffers name into `into`, in order, until it is full. */
  gather(mem: GuestMemory, into: Uint8Array): void {
    let off = 0;
    for (let i = 0; i < this.count && off < into.length; i++) {
      const n = Math.min(this.pairs[2 * i + 1]!, into.length - off);
      into.set(mem.bytes(this.pairs[2 * i]!, n), off);
      off += n;
    }
  }

  /** Spread `from` over the loaded buffers, in order, as far as it fits; returns bytes copied. */
  scatter(mem: GuestMemory, from: Uint8Array): number {
    let off = 0;
    for (let i = 0; i < this.count && off < from.length; i++) {
      const n = Math.min(this.pairs[2 * i + 1]!, from.length - off);
      mem.bytes(this.pairs[2 * i]!, n).set(from.subarray(off, off + n));
      off += n;
    }
    return off;
  }
}
