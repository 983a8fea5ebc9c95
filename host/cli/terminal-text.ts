/**
 * Text as a terminal shows it. Escape sequences take no columns: CSI (`ESC [ params final`, colours
 * and cursor moves), OSC (`ESC ] ... BEL` or `ESC ] ... ESC \`) and two-byte `ESC x`. Every other
 * code point counts as one column (the CLI prints ASCII and '…'; wide CJK glyphs are not measured).
 */
const ESCAPE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

const ELLIPSIS = '…';

export function stripEscapes(text: string): string {
  return text.replace(ESCAPE, '');
}

export function visibleWidth(text: string): number {
  return [...stripEscapes(text)].length;
}

/** `text` padded with spaces to `width` visible columns, on the right (align left) or on the left. */
export function padVisible(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - visibleWidth(text)));
  return align === 'left' ? text + fill : fill + text;
}

/**
 * `text` cut to at most `width` visible columns, an ellipsis standing for what was cut: at the end,
 * or at the start for text whose end tells it apart (`…id=ctrlB-lun15`). Escape sequences are never
 * split and all of them are kept (they take no room), so a colour opened before a cut is still reset.
 */
export function truncateVisible(text: string, width: number, cut: 'end' | 'start' = 'end'): string {
  const total = visibleWidth(text);
  if (total <= width) return text;
  const room = Math.max(0, width - 1);
  const kept = (i: number) => (cut === 'end' ? i < room : i >= total - room);
  let out = cut === 'start' && width > 0 ? ELLIPSIS : '';
  let i = 0;
  const visible = (plain: string) => {
    for (const ch of plain) {
      if (kept(i)) out += ch;
      else if (cut === 'end' && i === room && width > 0) out += ELLIPSIS;
      i++;
    }
  };
  let at = 0;
  for (const m of text.matchAll(ESCAPE)) {
    visible(text.slice(at, m.index));
    out += m[0];
    at = m.index + m[0].length;
  }
  visible(text.slice(at));
  return out;
}

/** https://no-color.org: NO_COLOR set and non-empty turns colour off; so does output that is not a terminal. */
export function colourWanted(isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return isTTY === true && !env.NO_COLOR;
}
