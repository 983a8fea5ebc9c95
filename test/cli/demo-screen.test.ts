import { describe, expect, it } from 'vitest';
import { renderScreen, type Screen, type ScreenPath } from '../../host/cli/demo-screen.js';
import { stripEscapes, truncateVisible, visibleWidth } from '../../host/cli/terminal-text.js';

/** The demo's 32 paths, one of them with a message far wider than any terminal. */
const PATHS: ScreenPath[] = ['A', 'B'].flatMap((ctrl) =>
  Array.from({ length: 16 }, (_, n) => {
    const state = ctrl === 'A' ? (n === 5 ? 'timeout' : n === 6 ? 'unchecked' : 'up') : 'ghost';
    const message = n === 9 ? `vendor sense ${'0123456789abcdef'.repeat(20)}` : `tur checker reports path is ${state}`;
    return { device: `sim:${ctrl === 'A' ? 'ok' : 'standby'}?id=ctrl${ctrl}-lun${String(n).padStart(2, '0')}`, checker: 'tur', state, message, interval: n % 4 + 1 };
  }),
);
const EVENTS = Array.from({ length: 100 }, (_, i) => `event ${i} ${'x'.repeat(i * 3)}`);
const screen = (over: Partial<Screen>): string[] =>
  renderScreen({ paths: PATHS, events: EVENTS, columns: 80, rows: 24, colour: true, t: 12, socket: '/tmp/pathcheck-demo-Xy12ab/pathcheckd.sock', ...over });

const WIDTHS = [40, 80, 160, 300];
const HEIGHTS = [10, 24, 60];
const SIZES = WIDTHS.flatMap((columns) => HEIGHTS.map((rows) => ({ columns, rows })));
const SGR = /\x1b\[[0-9;]*m/g;

/** The table's lines: the header and every path row after it (not the "... N more" line). */
function tableOf(lines: string[]): { head: string; rows: string[] } {
  const at = lines.findIndex((l) => l.startsWith('DEVICE'));
  expect(at, 'the table header').toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > at && (l === '' || l.startsWith('... ')));
  return { head: lines[at]!, rows: lines.slice(at + 1, end) };
}

describe('demo screen: fits the terminal', () => {
  it.each(SIZES)('$columns x $rows: every line within the width, no more lines than rows, colour on and off', ({ columns, rows }) => {
    for (const colour of [true, false]) {
      const lines = screen({ columns, rows, colour });
      expect(lines.length).toBeLessThanOrEqual(rows);
      for (const l of lines) expect(visibleWidth(l), JSON.stringify(l)).toBeLessThanOrEqual(columns);
    }
  });

  it('a cell too long for the terminal ends in an ellipsis, and its row keeps its columns', () => {
    const { head, rows } = tableOf(screen({ columns: 120, rows: 60 }));
    const long = rows.find((r) => r.includes('vendor sense'))!;
    expect(visibleWidth(long)).toBeLessThanOrEqual(120);
    expect(stripEscapes(long)).toMatch(/vendor sense [0-9a-f]+… +\d+s$/);
    expect(visibleWidth(long)).toBe(visibleWidth(head));
  });

  it('a narrow terminal cuts device specs at their start, so the LUN names stay readable', () => {
    const { rows } = tableOf(screen({ columns: 60, rows: 60 }));
    const devices = rows.map((r) => stripEscapes(r).split(' ')[0]!);
    expect(devices.map((d) => /ctrl[AB]-lun\d\d$/.exec(d)?.[0])).toEqual(PATHS.map((p) => p.device.slice(-11)));
    expect(devices.filter((d) => d.startsWith('…'))).toHaveLength(16);
  });

  it('control characters in a device spec or a message are shown escaped, never sent to the terminal', () => {
    const paths = [{ device: 'sim:ok?id=a\x1b[2J', checker: 'tur', state: 'up', message: 'evil\x1b]0;t\x07\nnext', interval: 1 }];
    const lines = screen({ paths, events: [], colour: false, columns: 160 });
    expect(lines.join('')).not.toMatch(/[\u0000-\u001f]/);
    expect(lines.some((l) => l.startsWith('sim:ok?id=a\\u001b[2J  ') && l.includes('evil\\u001b]0;t\\u0007\\u000anext'))).toBe(true);
  });

  it('a short terminal cuts the table with a line counting the paths left out, by state', () => {
    for (const rows of [10, 24]) {
      const lines = screen({ rows, colour: false });
      const table = tableOf(lines);
      const more = lines.find((l) => l.startsWith('... '))!;
      const left = Number(/^\.\.\. (\d+) more paths/.exec(more)![1]);
      expect(table.rows.length + left).toBe(PATHS.length);
      const hidden = PATHS.slice(table.rows.length);
      expect(more).toContain(`${hidden.filter((p) => p.state === 'ghost').length} ghost`);
    }
    expect(screen({ rows: 60 }).some((l) => l.startsWith('... '))).toBe(false);
  });
});

describe('demo screen: columns line up with colour on', () => {
  it.each(SIZES)('$columns x $rows: STATE, MESSAGE and INTERVAL sit at the header offsets on every row', ({ columns, rows }) => {
    const { head, rows: table } = tableOf(screen({ columns, rows, colour: true }));
    const state = head.indexOf('STATE');
    const message = head.indexOf('MESSAGE');
    expect(table.length).toBeGreaterThan(0);
    for (const r of table) {
      // The colour escape opens exactly where the STATE column starts.
      expect(visibleWidth(r.slice(0, r.indexOf('\x1b['))), r).toBe(state);
      const plain = stripEscapes(r);
      expect(plain.slice(state - 2, state), r).toBe('  ');
      if (message > 0 && message < columns) expect(plain.slice(message - 2, message + 1), r).toMatch(/^ {2}\S$/);
      if (head.endsWith('INTERVAL')) expect(plain.length, r).toBe(head.length);
    }
  });

  it('colour on paints every state; colour off writes no escape at all, at every size', () => {
    const lines = screen({ columns: 160, rows: 60 });
    expect(tableOf(lines).rows.every((r) => /\x1b\[[1-9]\d*m/.test(r))).toBe(true);
    for (const size of SIZES) for (const l of screen({ ...size, colour: false })) expect(l).not.toContain('\x1b');
  });

  it('a line cut inside a coloured cell keeps every escape whole and still resets the colour', () => {
    const { rows } = tableOf(screen({ columns: 18, rows: 60 }));
    for (const r of rows) {
      expect(r.replace(SGR, '')).not.toContain('\x1b');
      expect(r.match(SGR)).toEqual([expect.stringMatching(/^\x1b\[[1-9]\d*m$/), '\x1b[0m']);
    }
  });
});

describe('demo screen: the events pane', () => {
  it.each(SIZES)('$columns x $rows: fills every row below the table with the newest events, oldest first', ({ columns, rows }) => {
    const lines = screen({ columns, rows, colour: false });
    expect(lines.length).toBe(rows);
    const pane = lines.slice(lines.indexOf('events:') + 1);
    expect(pane.length).toBe(rows - lines.indexOf('events:') - 1);
    expect(pane.length).toBeGreaterThanOrEqual(2);
    expect(pane).toEqual(EVENTS.slice(-pane.length).map((e) => truncateVisible(e, columns)));
  });

  it('a tall terminal shows the whole table and gives the events the rest', () => {
    const lines = screen({ rows: 60 });
    expect(tableOf(lines).rows.length).toBe(PATHS.length);
    expect(lines.length - lines.indexOf('events:') - 1).toBe(60 - (4 + 1 + PATHS.length));
  });

  it('few events: the pane shows them all and the screen is no taller than it needs', () => {
    const lines = screen({ rows: 60, events: ['only event'] });
    expect(lines.at(-1)).toBe('only event');
    expect(lines.length).toBe(4 + 1 + PATHS.length + 1);
  });
});

describe('terminal text', () => {
  it('measures and cuts visible text only', () => {
    const red = '\x1b[31mdown\x1b[0m';
    expect(visibleWidth(red)).toBe(4);
    expect(visibleWidth('\x1b]0;title\x07plain')).toBe(5);
    expect(truncateVisible(`ab${red}cd`, 4)).toBe('ab\x1b[31md…\x1b[0m');
    expect(truncateVisible(`ab${red}cd`, 4, 'start')).toBe('…\x1b[31mn\x1b[0mcd');
    expect(truncateVisible(red, 4)).toBe(red);
    expect(truncateVisible('abc', 0)).toBe('');
  });
});
