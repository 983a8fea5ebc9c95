/**
 * Strikes against a class (traps, overruns, bad waits) within a sliding window. A class that keeps
 * failing is quarantined at the limit; an occasional failure ages out, so a class that trapped once a
 * day is never quarantined for it.
 */
export class StrikeWindow {
  private readonly times: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Record a strike at `now` (ms); true when this one reaches the limit. */
  add(now: number): boolean {
    this.expire(now);
    this.times.push(now);
    return this.times.length >= this.limit;
  }

  count(now = performance.now()): number {
    this.expire(now);
    return this.times.length;
  }

  private expire(now: number): void {
    let n = 0;
    while (n < this.times.length && now - this.times[n]! > this.windowMs) n++;
    if (n > 0) this.times.splice(0, n);
  }
}
