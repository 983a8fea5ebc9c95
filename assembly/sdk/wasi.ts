// WASI preview1 imports used by the SDK (docs/ABI.md, "WASI subset").
//
// Only functions that a checker actually calls end up as imports of its module, so declaring one
// here costs nothing. Every function returns a WASI errno (0 = success) in an i32; the wasm-level
// signatures are exactly those of wasi_snapshot_preview1.

/** WASI errno values the SDK and checkers look at (preview1 numbering). */
export const ERRNO_SUCCESS: i32 = 0;
export const ERRNO_AGAIN: i32 = 6;
export const ERRNO_BADF: i32 = 8;
export const ERRNO_BUSY: i32 = 10;
export const ERRNO_FAULT: i32 = 21;
export const ERRNO_INVAL: i32 = 28;
export const ERRNO_IO: i32 = 29;
export const ERRNO_NOMEM: i32 = 48;
export const ERRNO_NOTTY: i32 = 59;
export const ERRNO_TIMEDOUT: i32 = 73;

/** clock ids for clock_time_get. */
export const CLOCK_REALTIME: i32 = 0;
export const CLOCK_MONOTONIC: i32 = 1;

/** Size of one ciovec/iovec (buf: ptr, buf_len: u32). */
export const IOVEC_SIZE: i32 = 8;

/** fd_write(fd, iovs, iovs_len, nwritten_out) -> errno */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
export declare function fd_write(fd: i32, iovs: usize, iovs_len: i32, nwritten: usize): i32;

/** fd_read(fd, iovs, iovs_len, nread_out) -> errno */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_read")
export declare function fd_read(fd: i32, iovs: usize, iovs_len: i32, nread: usize): i32;

/** fd_pread(fd, iovs, iovs_len, offset, nread_out) -> errno */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_pread")
export declare function fd_pread(fd: i32, iovs: usize, iovs_len: i32, offset: u64, nread: usize): i32;

/**
 * path_open(dirfd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags,
 * fd_out) -> errno. `path` is UTF-8 (not UTF-16): callers must keep the bytes in ctx/scratch.
 */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "path_open")
export declare function path_open(
  fd: i32,
  dirflags: i32,
  path: usize,
  path_len: i32,
  oflags: i32,
  rights_base: u64,
  rights_inheriting: u64,
  fdflags: i32,
  fd_out: usize,
): i32;

/** clock_time_get(id, precision, time_out: *u64 nanoseconds) -> errno */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
export declare function clock_time_get(id: i32, precision: u64, time: usize): i32;
