/** Medians and rounding for the timing summaries. */

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function round(x) {
  return Math.round(x * 100) / 100;
}
