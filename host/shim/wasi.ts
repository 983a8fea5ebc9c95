import { randomFillSync } from 'node:crypto';
import { IoKind, IoState, IO_DATA_MAX } from '../backends/io-slot.js';
import { clockNow } from './clock.js';
import type { DeviceNamespace } from './device-namespace.js';
import { nameProblem, NAMESPACE_DIR } from './device-namespace.js';
import { Errno } from './errno.js';
import { FdTable, PREOPEN_FD, type FdEntry } from './fd-table.js';
import type { GuestMemory } from './guest-memory.js';
import { IOV_MAX, IovecList } from './iovec.js';
import { OutputLimiter, OUTPUT_BURST, type OutputStream } from './output-limit.js';
import { ProcExit } from './proc-exit.js';
import { SG_MAX_FRAME } from './sg-channel.js';

const FILETYPE_CHARACTER_DEVICE = 2;
const FILETYPE_DIRECTORY = 3;
const PREOPENTYPE_DIR = 0;
const OFLAGS_CREAT = 1;
const OFLAGS_DIRECTORY = 2;
const OFLAGS_EXCL = 4;
const OFLAGS_TRUNC = 8;
const ALL_RIGHTS = 0x1fffffffn;
/** fdflags.nonblock: device fds behave as Linux /dev/sgN opened with O_NONBLOCK. */
const FDFLAGS_NONBLOCK = 0x4;

/**
 * Where plugin writes to stdout/stderr go: text as OutputLimiter passes it, and the bytes of that
 * stream dropped since the last report, this write's included. Called at most once per write, and by
 * flushOutput() (text '').
 */
export type LogSink = (stream: OutputStream, text: string, dropped: number) => void;

/** The functions of `wasi_snapshot_preview1` a plugin may import (docs/ABI.md "WASI subset"). */
export const SUPPORTED_WASI = [
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_time_get',
  'fd_close',
  'fd_fdstat_get',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pread',
  'fd_read',
  'fd_write',
  'path_open',
  'proc_exit',
  'random_get',
  'sched_yield',
] as const;

/**
 * The WASI device shim for one plugin instance on one host thread. Every call validates guest
 * pointers (EFAULT) and fds (EBADF) and answers with WASI's errno values; none throws except
 * proc_exit, which traps by design.
 */
export class WasiShim {
  readonly fds = new FdTable(NAMESPACE_DIR);
  /** The pool job the current plugin call runs for: recorded as the owner of a command it submits. */
  owner = 0;
  private readonly dirName = Buffer.from(NAMESPACE_DIR);
  /** The iovecs ioEntry() last validated, copied out of guest memory (a field, so the check allocates nothing). */
  private readonly iovecs = new IovecList();
  /** Where a stdio write's admitted prefix is copied: never more than the limiter's burst. */
  private readonly outputBuffer = new Uint8Array(OUTPUT_BURST);

  constructor(
    private readonly mem: GuestMemory,
    private readonly namespace: DeviceNamespace,
    private readonly log: LogSink = () => {},
    private readonly output = new OutputLimiter(),
  ) {}

  /** The import object's `wasi_snapshot_preview1` member. */
  imports(): Record<(typeof SUPPORTED_WASI)[number], (...args: never[]) => number> {
    return {
      args_get: () => Errno.SUCCESS,
      args_sizes_get: (argc: number, bufSize: number) => this.putZeros(argc, bufSize),
      environ_get: () => Errno.SUCCESS,
      environ_sizes_get: (count: number, bufSize: number) => this.putZeros(count, bufSize),
      clock_time_get: (id: number, _precision: bigint, out: number) => this.clockTimeGet(id, out),
      fd_close: (fd: number) => this.fdClose(fd),
      fd_fdstat_get: (fd: number, out: number) => this.fdFdstatGet(fd, out),
      fd_prestat_get: (fd: number, out: number) => this.fdPrestatGet(fd, out),
      fd_prestat_dir_name: (fd: number, path: number, len: number) => this.fdPrestatDirName(fd, path, len),
      fd_pread: (fd: number, iovs: number, count: number, offset: bigint, out: number) => this.fdPread(fd, iovs, count, offset, out),
      fd_read: (fd: number, iovs: number, count: number, out: number) => this.fdRead(fd, iovs, count, out),
      fd_write: (fd: number, iovs: number, count: number, out: number) => this.fdWrite(fd, iovs, count, out),
      path_open: (dirfd: number, _dirflags: number, path: number, len: number, oflags: number, _rb: bigint, _ri: bigint, _fdflags: number, out: number) =>
        this.pathOpen(dirfd, path, len, oflags, out),
      proc_exit: (code: number) => {
        throw new ProcExit(code);
      },
      random_get: (buf: number, len: number) => this.randomGet(buf, len),
      sched_yield: () => Errno.SUCCESS,
    };
  }

  private putZeros(a: number, b: number): number {
    if (!this.mem.inBounds(a, 4) || !this.mem.inBounds(b, 4)) return Errno.FAULT;
    this.mem.setU32(a, 0);
    this.mem.setU32(b, 0);
    return Errno.SUCCESS;
  }

  private clockTimeGet(id: number, out: number): number {
    const now = clockNow(id);
    if (typeof now === 'number') return now;
    if (!this.mem.inBounds(out, 8)) return Errno.FAULT;
    this.mem.setU64(out, now);
    return Errno.SUCCESS;
  }

  private fdClose(fd: number): number {
    const entry = this.fds.get(fd);
    if (entry === undefined) return Errno.BADF;
    if (entry.kind === 'device' && entry.hostOwned) return Errno.NOTSUP;
    // Linux drops a closed sg fd's unread reply; one still outstanding is the device's to finish.
    if (entry.kind === 'device' && entry.device.io.state === IoState.COMPLETE && entry.device.io.owner === this.owner) entry.device.io.release();
    return this.fds.close(fd) ? Errno.SUCCESS : Errno.NOTSUP;
  }

  private fdFdstatGet(fd: number, out: number): number {
    const entry = this.fds.get(fd);
    if (entry === undefined) return Errno.BADF;
    if (!this.mem.inBounds(out, 24)) return Errno.FAULT;
    this.mem.bytes(out, 24).fill(0);
    this.mem.setU8(out, entry.kind === 'dir' ? FILETYPE_DIRECTORY : FILETYPE_CHARACTER_DEVICE);
    if (entry.kind === 'device') this.mem.setU16(out + 2, FDFLAGS_NONBLOCK);
    this.mem.setU64(out + 8, ALL_RIGHTS);
    this.mem.setU64(out + 16, entry.kind === 'dir' ? ALL_RIGHTS : 0n);
    return Errno.SUCCESS;
  }

  private fdPrestatGet(fd: number, out: number): number {
    const entry = this.fds.get(fd);
    if (entry === undefined) return Errno.BADF;
    if (entry.kind !== 'dir') return Errno.BADF;
    if (!this.mem.inBounds(out, 8)) return Errno.FAULT;
    this.mem.setU32(out, PREOPENTYPE_DIR);
    this.mem.setU32(out + 4, this.dirName.length);
    return Errno.SUCCESS;
  }

  private fdPrestatDirName(fd: number, path: number, len: number): number {
    const entry = this.fds.get(fd);
    if (entry === undefined || entry.kind !== 'dir') return Errno.BADF;
    if (len < this.dirName.length) return Errno.NAMETOOLONG;
    if (!this.mem.inBounds(path, this.dirName.length)) return Errno.FAULT;
    this.mem.bytes(path, this.dirName.length).set(this.dirName);
    return Errno.SUCCESS;
  }

  /**
   * What fd_read, fd_write and fd_pread check first: the fd, the iovecs and the out pointer, and that
   * the fd is not the directory. Returns an errno, or the entry (the iovecs, copied, are in `iovecs`).
   * More than IOV_MAX iovecs is EINVAL, as Linux's readv/writev: it bounds the walk over them.
   */
  private ioEntry(fd: number, iovs: number, count: number, out: number): Exclude<FdEntry, { kind: 'dir' }> | number {
    const entry = this.fds.get(fd);
    if (entry === undefined) return Errno.BADF;
    if (count >>> 0 > IOV_MAX) return Errno.INVAL;
    if (!this.iovecs.load(this.mem, iovs, count) || !this.mem.inBounds(out, 4)) return Errno.FAULT;
    if (entry.kind === 'dir') return Errno.ISDIR;
    return entry;
  }

  private fdRead(fd: number, iovs: number, count: number, out: number): number {
    const entry = this.ioEntry(fd, iovs, count, out);
    if (typeof entry === 'number') return entry;
    const capacity = this.iovecs.total;
    if (entry.kind === 'stdio') {
      if (entry.fd !== 0) return Errno.BADF;
      this.mem.setU32(out, 0);
      return Errno.SUCCESS;
    }
    const result = entry.channel.read(capacity, this.owner);
    if (result.errno !== Errno.SUCCESS) return result.errno;
    this.mem.setU32(out, this.iovecs.scatter(this.mem, entry.channel.replyBytes(result.length)));
    return Errno.SUCCESS;
  }

  private fdWrite(fd: number, iovs: number, count: number, out: number): number {
    const entry = this.ioEntry(fd, iovs, count, out);
    if (typeof entry === 'number') return entry;
    const length = this.iovecs.total;
    if (entry.kind === 'stdio') return this.writeStdio(entry, length, out);
    // A busy device refuses before the frame is judged or copied, as Linux's sg_write does.
    if (entry.channel.busy) return Errno.BUSY;
    if (length > SG_MAX_FRAME) return Errno.INVAL;
    this.iovecs.gather(this.mem, entry.channel.requestBuffer(length));
    const errno = entry.channel.submit(length, this.owner);
    if (errno !== Errno.SUCCESS) return errno;
    this.mem.setU32(out, length);
    return Errno.SUCCESS;
  }

  /**
   * Copies only what the output limiter admits, so a flood costs O(iovecs + admitted bytes) per call,
   * and reports the whole length written: output past the caps is dropped, not refused, so a plugin
   * has no reason to retry it.
   */
  private writeStdio(entry: Extract<FdEntry, { kind: 'stdio' }>, length: number, out: number): number {
    if (entry.fd === 0) return Errno.BADF;
    const stream = entry.fd === 1 ? 'stdout' : 'stderr';
    const prefix = this.outputBuffer.subarray(0, this.output.allowance(length));
    this.iovecs.gather(this.mem, prefix);
    const passed = this.output.pass(stream, prefix, length);
    if (passed !== null) this.log(stream, passed.text, passed.dropped);
    this.mem.setU32(out, length);
    return Errno.SUCCESS;
  }

  /** Report output dropped since the last text; the host calls it as jobs end (at most once a second), so a flood that goes quiet is still counted. */
  /** Dropped output not reported yet: a flush would log something. */
  get outputDropping(): boolean {
    return this.output.dropping;
  }

  flushOutput(): void {
    this.flushStream('stdout');
    this.flushStream('stderr');
  }

  private flushStream(stream: OutputStream): void {
    const dropped = this.output.flush(stream);
    if (dropped > 0) this.log(stream, '', dropped);
  }

  /**
   * A plain read on a non-blocking device fd (docs/ABI.md "Plain reads"): the first call submits it,
   * the same call again collects it once the device has answered; EAGAIN in between.
   */
  private fdPread(fd: number, iovs: number, count: number, offset: bigint, out: number): number {
    const entry = this.ioEntry(fd, iovs, count, out);
    if (typeof entry === 'number') return entry;
    const length = this.iovecs.total;
    if (entry.kind === 'stdio') return Errno.SPIPE;
    if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) return Errno.INVAL;
    const at = Number(offset);
    const { device } = entry;
    const io = device.io;
    if (io.state === IoState.IDLE) {
      // Not wholly inside the device: refused before it reaches the target (by the backend, while the
      // shim does not know the capacity yet).
      const known = device.blockCount > 0;
      if (length > IO_DATA_MAX || (known && at + length > device.blockCount * device.blockSize)) return Errno.INVAL;
      if (!io.submitRead(at, length, this.owner)) return Errno.BUSY;
      device.submitted();
    } else if (io.state === IoState.FILLING || io.owner !== this.owner || io.kind !== IoKind.READ || io.readOffset !== at || io.readLength !== length) {
      // Another command, another read, or another job's (a binding of the same device).
      return Errno.BUSY;
    }
    if (io.state !== IoState.COMPLETE) return Errno.AGAIN;
    const errno = io.errno;
    if (errno === Errno.SUCCESS) this.mem.setU32(out, this.iovecs.scatter(this.mem, io.data));
    io.release();
    return errno;
  }

  private pathOpen(dirfd: number, path: number, len: number, oflags: number, out: number): number {
    const dir = this.fds.get(dirfd);
    if (dir === undefined) return Errno.BADF;
    if (dir.kind !== 'dir') return Errno.NOTDIR;
    if (!this.mem.inBounds(path, len) || !this.mem.inBounds(out, 4)) return Errno.FAULT;
    if (oflags & (OFLAGS_CREAT | OFLAGS_EXCL | OFLAGS_TRUNC)) return Errno.ROFS;
    const name = Buffer.from(this.mem.bytes(path, len)).toString('utf8');
    if (name === '..' || name.startsWith('../') || name.startsWith('/')) return Errno.NOTCAPABLE;
    if (nameProblem(name) !== null) return len > 255 ? Errno.NAMETOOLONG : Errno.NOENT;
    const device = this.namespace.lookup(name);
    if (device === undefined) return Errno.NOENT;
    if (oflags & OFLAGS_DIRECTORY) return Errno.NOTDIR;
    this.mem.setU32(out, this.fds.openDevice(device, false));
    return Errno.SUCCESS;
  }

  private randomGet(buf: number, len: number): number {
    if (!this.mem.inBounds(buf, len)) return Errno.FAULT;
    randomFillSync(this.mem.bytes(buf, len));
    return Errno.SUCCESS;
  }
}

