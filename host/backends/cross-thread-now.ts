/**
 * Absolute time in ms, comparable across threads: each thread's performance.now() has its own origin,
 * so deadlines and due times that one thread sets and another reads are kept on this clock.
 */
export function crossThreadNow(): number {
  return performance.timeOrigin + performance.now();
}
