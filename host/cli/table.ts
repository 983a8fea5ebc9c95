import { padVisible, truncateVisible, visibleWidth } from './terminal-text.js';

/**
 * A table that must fit `width` columns: the `shrink` columns give way, in that order, down to their
 * header's width; cells of the `keepEnd` columns lose their start rather than their end.
 */
export interface TableFit {
  readonly width: number;
  readonly shrink?: readonly string[];
  readonly keepEnd?: readonly string[];
}

/**
 * Left-aligned columns separated by two spaces; columns named in `right` are right-aligned. Widths
 * are visible widths (a coloured cell lines up with a plain one). With `fit`, cells of shrunk
 * columns end in an ellipsis and every line is cut to `fit.width`, so the rows stay aligned.
 */
export function formatTable(head: readonly string[], rows: readonly (readonly string[])[], right: readonly string[] = [], fit?: TableFit): string[] {
  const widths = head.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  if (fit !== undefined) shrink(widths, head, fit);
  const fitCell = (c: string, i: number, last: boolean) => {
    const w = widths[i] ?? visibleWidth(c);
    const text = truncateVisible(c, w, fit?.keepEnd?.includes(head[i] ?? '') ? 'start' : 'end');
    return right.includes(head[i] ?? '') ? padVisible(text, w, 'right') : last ? text : padVisible(text, w);
  };
  const line = (r: readonly string[]) => r.map((c, i) => fitCell(c, i, i === r.length - 1)).join('  ');
  const lines = [line(head), ...rows.map(line)];
  return fit === undefined ? lines : lines.map((l) => truncateVisible(l, fit.width));
}

function shrink(widths: number[], head: readonly string[], fit: TableFit): void {
  let over = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) - fit.width;
  for (const name of fit.shrink ?? []) {
    const i = head.indexOf(name);
    if (over <= 0 || i < 0) continue;
    const give = Math.max(0, Math.min(over, widths[i]! - visibleWidth(name)));
    widths[i]! -= give;
    over -= give;
  }
}
