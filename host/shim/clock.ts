import { Errno } from './errno.js';

const NS_PER_MS = 1_000_000n;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME = 2;
const CLOCK_THREAD_CPUTIME = 3;

/** Current time of a WASI clock in nanoseconds, or an errno for an unknown clock id. */
export function clockNow(id: number): bigint | number {
  switch (id) {
    case CLOCK_REALTIME:
      return BigInt(Date.now()) * NS_PER_MS;
    case CLOCK_MONOTONIC:
      return process.hrtime.bigint();
    case CLOCK_PROCESS_CPUTIME:
    case CLOCK_THREAD_CPUTIME: {
      // Node has no per-thread CPU clock; the process's is the closest honest answer.
      const { user, system } = process.cpuUsage();
      return BigInt(user + system) * 1000n;
    }
    default:
      return Errno.INVAL;
  }
}
