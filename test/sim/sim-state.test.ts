import { describe, expect, it } from 'vitest';
import { SimState, type Snapshot } from '../../host/backends/sim/sim-state.js';

// The shared state of a sim device: a command is numbered in its program since the scenario was set,
// also when a scenario change (on another thread) lands between its read of the setting and its count.

const P = 2;

/** What sim-device's submitted() does: read, count, and count again under the new setting if it changed. */
function numberOf(state: SimState, between: () => void = () => {}): number {
  const snap: Snapshot = { scenario: 0, sense: 0, seq: 0 };
  const params = new Int32Array(4);
  for (let round = 0; ; round++) {
    state.read(snap, params);
    if (round === 0) between();
    const count = state.count(P);
    if (state.unchanged(snap.seq)) return state.numberIn(P, count);
    state.uncount(P, count);
  }
}

describe('SimState numbering', () => {
  it('numbers a program\'s commands from 0, again from 0 after a change', () => {
    const s = SimState.create({ scenario: 1, sense: 0, params: [] });
    expect([numberOf(s), numberOf(s), numberOf(s)]).toEqual([0, 1, 2]);
    s.write({ scenario: 3, sense: undefined, params: [] });
    expect([numberOf(s), numberOf(s)]).toEqual([0, 1]);
    expect(s.commandCount).toBe(5);
  });

  it('a change between the read and the count: the command is the new scenario\'s command 0, counted once', () => {
    const s = SimState.create({ scenario: 1, sense: 0, params: [] });
    numberOf(s);
    numberOf(s);
    expect(numberOf(s, () => s.write({ scenario: 3, sense: undefined, params: [] }))).toBe(0);
    expect(numberOf(s)).toBe(1);
    expect(s.commandCount).toBe(4);
  });

  it('a change that took its base after the count (the count is in the new base): still command 0, then 1', () => {
    const s = SimState.create({ scenario: 1, sense: 0, params: [] });
    numberOf(s);
    const snap: Snapshot = { scenario: 0, sense: 0, seq: 0 };
    s.read(snap, new Int32Array(4));
    const count = s.count(P);
    s.write({ scenario: 3, sense: undefined, params: [] });
    expect(s.unchanged(snap.seq)).toBe(false);
    s.uncount(P, count);
    expect([numberOf(s), numberOf(s)]).toEqual([0, 1]);
    expect(s.commandCount).toBe(3);
  });
});
