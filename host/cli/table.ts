/** Left-aligned columns separated by two spaces; columns named in `right` are right-aligned. */
export function formatTable(head: readonly string[], rows: readonly (readonly string[])[], right: readonly string[] = []): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right.includes(head[i]!) ? c.padStart(widths[i]!) : i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ');
  return [line(head), ...rows.map(line)];
}
