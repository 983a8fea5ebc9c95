import { cell } from './commands/render-result.js';
import { formatTable } from './table.js';
import { truncateVisible } from './terminal-text.js';

export interface ScreenPath {
  readonly device: string;
  readonly checker: string;
  readonly state: string;
  readonly message: string;
  readonly interval: number;
}

export interface Screen {
  readonly paths: readonly ScreenPath[];
  /** Event lines, oldest first: the pane shows the newest that fit. */
  readonly events: readonly string[];
  readonly columns: number;
  readonly rows: number;
  readonly colour: boolean;
  /** Seconds since the demo started. */
  readonly t: number;
  readonly socket: string;
}

const HEAD = ['DEVICE', 'CHECKER', 'STATE', 'MESSAGE', 'INTERVAL'];
const COLOURS: Record<string, string> = { up: '32', ghost: '36', down: '31', timeout: '33', pending: '33', unchecked: '90' };
/** Lines around the table: the title, a blank, a blank, `events:`. */
const CHROME = 4;

/**
 * The demo's live screen, one string per terminal line: never wider than `columns` (visible width)
 * nor taller than `rows`. The table takes the lines it needs; on a short terminal it is cut (the
 * events keep a quarter of the screen, at least 2 lines and at most 8) and a last line counts the
 * paths left out. The events pane takes every line left.
 */
export function renderScreen(s: Screen): string[] {
  const columns = Math.max(1, s.columns);
  const rows = Math.max(1, s.rows);
  const eventsKept = Math.min(8, Math.max(2, Math.floor(rows / 4)));
  const tableLines = Math.min(1 + s.paths.length, Math.max(2, rows - CHROME - eventsKept));
  const shown = tableLines > s.paths.length ? s.paths : s.paths.slice(0, tableLines - 2);
  const paint = (state: string) => (s.colour ? `\x1b[${COLOURS[state] ?? '35'}m${state}\x1b[0m` : state);
  const table = formatTable(HEAD, shown.map((p) => [cell(p.device), cell(p.checker), paint(cell(p.state)), cell(p.message), `${p.interval}s`]), ['INTERVAL'], {
    width: columns,
    shrink: ['MESSAGE', 'DEVICE'],
    keepEnd: ['DEVICE'],
  });
  const hidden = s.paths.slice(shown.length);
  if (hidden.length > 0) table.push(`... ${hidden.length} more paths (${countStates(hidden)})`);
  const top = [`pathcheck demo appliance  t=${s.t.toFixed(0)}s  ${s.paths.length} paths  (Ctrl-C to stop; socket ${s.socket})`, '', ...table, '', 'events:'];
  const room = Math.max(0, rows - top.length);
  const events = room === 0 ? [] : s.events.slice(-room);
  return [...top, ...events].slice(0, rows).map((l) => truncateVisible(l, columns));
}

/** `16 ghost, 4 up`: states in order of first appearance. */
function countStates(paths: readonly ScreenPath[]): string {
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
}
