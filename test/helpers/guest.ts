import { expect } from 'vitest';
import type { Device } from '../../host/backends/device.js';
import { DeviceNamespace } from '../../host/shim/device-namespace.js';
import { GuestMemory } from '../../host/shim/guest-memory.js';
import { OutputLimiter, type OutputStream } from '../../host/shim/output-limit.js';
import { WasiShim } from '../../host/shim/wasi.js';
import { FakeDevice } from './fake-device.js';

/**
 * A plugin instance's side of the WASI shim, for test/shim: pointers laid out in a shared memory and
 * the shim's import functions called with them, the way a wasm plugin would.
 */

const SUCCESS = 0;

/** Every buffer the harness hands out starts filled with this, so untouched bytes are visible. */
export const POISON = 0xee;
export const ALL_RIGHTS = 0x1fffffffn;

/** `wasi_snapshot_preview1` as a plugin calls it (i32 -> number, i64 -> bigint). */
export interface Wasi {
  args_get(argv: number, argvBuf: number): number;
  args_sizes_get(argc: number, bufSize: number): number;
  environ_get(environ: number, environBuf: number): number;
  environ_sizes_get(count: number, bufSize: number): number;
  clock_time_get(id: number, precision: bigint, out: number): number;
  fd_close(fd: number): number;
  fd_fdstat_get(fd: number, out: number): number;
  fd_prestat_get(fd: number, out: number): number;
  fd_prestat_dir_name(fd: number, path: number, len: number): number;
  fd_pread(fd: number, iovs: number, count: number, offset: bigint, out: number): number;
  fd_read(fd: number, iovs: number, count: number, out: number): number;
  fd_write(fd: number, iovs: number, count: number, out: number): number;
  path_open(dirfd: number, dirflags: number, path: number, len: number, oflags: number, rightsBase: bigint, rightsInheriting: bigint, fdflags: number, out: number): number;
  proc_exit(code: number): never;
  random_get(buf: number, len: number): number;
  sched_yield(): number;
}

export interface ReadBack {
  errno: number;
  nread: number;
  /** The buffers' contents concatenated, up to nread. */
  bytes: Uint8Array;
  /** Each buffer's full contents, to see what was left untouched. */
  bufs: Uint8Array[];
}

/**
 * One plugin instance's view: a shared memory, a namespace, the shim, and a bump allocator. Pass
 * another Guest's memory, and a `top` clear of its allocations, for a second instance of the same
 * class (another worker's shim over the class memory).
 */
export class Guest {
  readonly ns = new DeviceNamespace();
  /** What reached the shim's log sink, call by call. */
  readonly logs: Array<[stream: OutputStream, text: string, dropped: number]> = [];
  readonly shim: WasiShim;
  readonly w: Wasi;

  constructor(
    readonly memory = new WebAssembly.Memory({ initial: 1, maximum: 100, shared: true }),
    /** Next free address; tests may move it (e.g. past a grown page). */
    public top = 64,
    /** The shim's stdout/stderr limiter; a test passes one on a clock it drives. */
    output = new OutputLimiter(),
  ) {
    // In the constructor, not as field initializers: they would run before `memory` is set.
    this.shim = new WasiShim(
      new GuestMemory(memory),
      this.ns,
      (stream, text, dropped) => {
        this.logs.push([stream, text, dropped]);
      },
      output,
    );
    this.w = this.shim.imports() as unknown as Wasi;
  }

  u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  private dv(): DataView {
    return new DataView(this.memory.buffer);
  }

  /** `len` poisoned bytes at the next `align`-aligned address. */
  alloc(len: number, align = 8): number {
    const ptr = Math.ceil(this.top / align) * align;
    this.top = ptr + len + 8; // a poisoned gap after every buffer
    this.u8().fill(POISON, ptr, this.top);
    return ptr;
  }

  put(bytes: ArrayLike<number>, align = 1): number {
    const ptr = this.alloc(bytes.length, align);
    this.u8().set(bytes, ptr);
    return ptr;
  }

  get(ptr: number, len: number): Uint8Array {
    return this.u8().slice(ptr, ptr + len);
  }

  u32(ptr: number): number {
    return this.dv().getUint32(ptr, true);
  }

  u64(ptr: number): bigint {
    return this.dv().getBigUint64(ptr, true);
  }

  /** An iovec array `{ buf: u32, buf_len: u32 }[]` naming the given [ptr, len] buffers. */
  iovs(bufs: Array<[ptr: number, len: number]>): number {
    const at = this.alloc(bufs.length * 8, 4);
    bufs.forEach(([ptr, len], i) => {
      this.dv().setUint32(at + i * 8, ptr >>> 0, true);
      this.dv().setUint32(at + i * 8 + 4, len >>> 0, true);
    });
    return at;
  }

  /** `data` cut at the given sizes (the rest in a last chunk), each chunk in its own buffer at an odd address. */
  scattered(data: Uint8Array, sizes: number[] = []): { iovs: number; count: number } {
    const chunks: Array<[number, number]> = [];
    let off = 0;
    for (const n of [...sizes, data.length - sizes.reduce((a, b) => a + b, 0)]) {
      const ptr = this.alloc(n + 1, 2) + 1;
      this.u8().set(data.subarray(off, off + n), ptr);
      chunks.push([ptr, n]);
      off += n;
    }
    return { iovs: this.iovs(chunks), count: chunks.length };
  }

  /** A poisoned 4-byte out slot. */
  out(): number {
    return this.alloc(4, 4);
  }

  write(fd: number, data: Uint8Array, sizes: number[] = []): { errno: number; nwritten: number } {
    const { iovs, count } = this.scattered(data, sizes);
    const out = this.out();
    const errno = this.w.fd_write(fd, iovs, count, out);
    return { errno, nwritten: this.u32(out) };
  }

  /** fd_read (or fd_pread when `offset` is given) into fresh buffers of the given sizes. */
  read(fd: number, sizes: number[], offset?: bigint): ReadBack {
    const ptrs = sizes.map((n) => this.alloc(n, 1));
    const iovs = this.iovs(ptrs.map((p, i) => [p, sizes[i]!]));
    const out = this.out();
    const errno = offset === undefined ? this.w.fd_read(fd, iovs, sizes.length, out) : this.w.fd_pread(fd, iovs, sizes.length, offset, out);
    const nread = this.u32(out);
    const bufs = ptrs.map((p, i) => this.get(p, sizes[i]!));
    const all = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const b of bufs) {
      all.set(b, at);
      at += b.length;
    }
    return { errno, nread, bytes: errno === SUCCESS ? all.slice(0, nread) : new Uint8Array(0), bufs };
  }

  open(name: string | Uint8Array, o: { oflags?: number; dirfd?: number } = {}): { errno: number; fd: number } {
    const bytes = typeof name === 'string' ? Buffer.from(name) : name;
    const path = this.put(bytes);
    const out = this.out();
    const errno = this.w.path_open(o.dirfd ?? 3, 0, path, bytes.length, o.oflags ?? 0, ALL_RIGHTS, ALL_RIGHTS, 0, out);
    return { errno, fd: this.u32(out) };
  }

  /** Publish a fake device under `name` and open it; returns the device and its fd. */
  device(name = 'sda', dev = new FakeDevice(`fake:${name}`)): { dev: FakeDevice; fd: number } {
    return this.publish(name, dev);
  }

  /** Publish any device under `name` and open it. */
  publish<D extends Device>(name: string, dev: D): { dev: D; fd: number } {
    this.ns.add(name, dev);
    const { errno, fd } = this.open(name);
    expect(errno).toBe(SUCCESS);
    return { dev, fd };
  }
}
