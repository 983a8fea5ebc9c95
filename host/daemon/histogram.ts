/** A Prometheus-style cumulative histogram with fixed bucket bounds: one counter per bucket, no allocation per sample. */
export class Histogram {
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.total++;
    this.sum += value;
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** Prometheus text lines for `name` (cumulative buckets, +Inf, _sum, _count). */
  render(name: string): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    this.bounds.forEach((b, i) => {
      cumulative += this.counts[i]!;
      lines.push(`${name}_bucket{le="${b}"} ${cumulative}`);
    });
    lines.push(`${name}_bucket{le="+Inf"} ${this.total}`, `${name}_sum ${this.sum}`, `${name}_count ${this.total}`);
    return lines;
  }
}
