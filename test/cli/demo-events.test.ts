import { describe, expect, it } from 'vitest';
import { FoldedEvents } from '../../host/cli/demo-events.js';
import type { DaemonEvent, DaemonEventBody } from '../../host/daemon/daemon-event.js';

let seq = 0;
const event = (body: DaemonEventBody): DaemonEvent => ({ ...body, seq: ++seq, time: `2026-01-02T03:04:${String(seq % 60).padStart(2, '0')}.123Z` }) as DaemonEvent;
const lun = (ctrl: string, n: number, scenario: string) => `sim:${scenario}?id=ctrl${ctrl}-lun${String(n).padStart(2, '0')}`;
const sixteen = (ctrl: string, scenario: string) => Array.from({ length: 16 }, (_, n) => lun(ctrl, n, scenario));

/** The demo's failover step: its narration, then 32 `fault` events, A to standby and B to ok. */
function failover(events: FoldedEvents): DaemonEvent[] {
  events.note('>>> controller A goes to standby, B takes over');
  const faults = [
    ...sixteen('A', 'ok').map((path) => event({ type: 'fault', path, scenario: 'standby' })),
    ...sixteen('B', 'standby').map((path) => event({ type: 'fault', path, scenario: 'ok' })),
  ];
  faults.forEach((e) => events.add(e));
  return faults;
}

describe('demo events: folding', () => {
  it("a step's 32 fault events are one line naming the count, the LUN runs and the scenarios", () => {
    const events = new FoldedEvents();
    const faults = failover(events);
    expect(events.lines()).toEqual([
      '>>> controller A goes to standby, B takes over',
      `${faults[0]!.time.slice(11, 23)} #${faults[0]!.seq}..#${faults.at(-1)!.seq} fault x32 ctrlA-lun00..ctrlA-lun15 -> standby, ctrlB-lun00..ctrlB-lun15 -> ok`,
    ]);
  });

  it('the state changes that follow stay visible: one folded line, in any order of arrival, gaps shown', () => {
    const events = new FoldedEvents();
    failover(events);
    for (const n of [3, 0, 2, 1, 7, 15]) events.add(event({ type: 'state', path: lun('A', n, 'ok'), checker: 'tur', from: 'up', to: 'ghost', message: 'ghost' }));
    events.add(event({ type: 'state', path: lun('B', 4, 'standby'), checker: 'tur', from: 'ghost', to: 'up', message: 'up' }));
    const lines = events.lines();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/ state x7 ctrlA-lun00\.\.ctrlA-lun03,ctrlA-lun07,ctrlA-lun15 up -> ghost, ctrlB-lun04 ghost -> up$/);
  });

  it('a narration or another event type ends a fold; a lone event keeps the watch line with every field', () => {
    const events = new FoldedEvents();
    const one = event({ type: 'state', path: lun('A', 5, 'ok'), checker: 'tur', from: 'ghost', to: 'timeout', message: 'tur checker timed out' });
    events.add(one);
    events.add(event({ type: 'class-loaded', checker: 'tur', version: 2, sha256: 'ab' }));
    events.add(event({ type: 'state', path: lun('A', 6, 'ok'), checker: 'tur', from: 'up', to: 'ghost', message: 'm' }));
    events.note('>>> next step');
    events.add(event({ type: 'state', path: lun('A', 7, 'ok'), checker: 'tur', from: 'up', to: 'ghost', message: 'm' }));
    const lines = events.lines();
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(`${one.time.slice(11, 23)} #${one.seq} state path=sim:ok?id=ctrlA-lun05 checker=tur from=ghost to=timeout message=tur checker timed out`);
    expect(lines[1]).toMatch(/ class-loaded checker=tur version=2 sha256=ab$/);
  });

  it('control characters in folded path names and fields are shown escaped', () => {
    const events = new FoldedEvents();
    for (const id of ['a\x1b[2J', 'b\n']) events.add(event({ type: 'fault', path: `sim:ok?id=${id}`, scenario: 'hang\r' }));
    expect(events.lines()).toEqual([expect.stringMatching(/ fault x2 a\\u001b\[2J,b\\u000a -> hang\\u000d$/)]);
  });

  it('keeps its newest lines only, and take() hands each line out once', () => {
    const events = new FoldedEvents(3);
    for (let i = 0; i < 10; i++) events.note(`line ${i}`);
    expect(events.lines()).toEqual(['line 7', 'line 8', 'line 9']);
    expect(events.lines(2)).toEqual(['line 8', 'line 9']);
    expect(events.take()).toEqual(['line 7', 'line 8', 'line 9']);
    expect(events.take()).toEqual([]);
  });
});
