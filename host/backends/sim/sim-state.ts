import { MAX_PROGRAMS, MAX_SCENARIO_PARAMS } from './scenario-file.js';

/*
 * The mutable state of one simulated device, in a SharedArrayBuffer so that every thread holding a
 * SimDevice for it sees one device. Cells (Int32Array indices):
 */
/** Seqlock: odd while a scenario change is being written. Readers retry; they never hold anything, so a
 *  worker terminated mid-command cannot wedge the device. */
const SEQ_INDEX = 0;
/** Commands received since the device was made (wraps at 2^32). */
export const COUNTER_INDEX = 1;
/** Release generation: add 1 and Atomics.notify this cell to wake every hung command. */
export const RELEASE_INDEX = 2;
const SCENARIO_INDEX = 3;
/** Index into SENSE_FORMATS. */
const SENSE_INDEX = 4;
const PARAMS_INDEX = 5;
/** Commands each program of the scenario has answered (wraps), program i at PROGRAM_COUNT_INDEX + i. */
const PROGRAM_COUNT_INDEX = PARAMS_INDEX + MAX_SCENARIO_PARAMS;
/** A program's count when the current scenario was set: its command k is the one that counted BASE + k. */
const PROGRAM_BASE_INDEX = PROGRAM_COUNT_INDEX + MAX_PROGRAMS;
const CELLS = PROGRAM_BASE_INDEX + MAX_PROGRAMS;
const SIM_STATE_BYTES = CELLS * Int32Array.BYTES_PER_ELEMENT;

/** What a scenario change writes. `sense` undefined keeps the current format. */
export interface Setting {
  readonly scenario: number;
  readonly sense: number | undefined;
  readonly params: readonly number[];
}

/** A consistent view of the current setting; `params` is filled into a buffer owned by the caller. */
export interface Snapshot {
  scenario: number;
  sense: number;
  /** The seqlock value the setting was read under (see unchanged). */
  seq: number;
}

export class SimState {
  readonly cells: Int32Array;

  constructor(readonly shared: SharedArrayBuffer) {
    if (shared.byteLength !== SIM_STATE_BYTES) {
      throw new Error(`sim device state must be ${SIM_STATE_BYTES} bytes, got ${shared.byteLength}`);
    }
    this.cells = new Int32Array(shared);
  }

  static create(setting: Setting): SimState {
    const state = new SimState(new SharedArrayBuffer(SIM_STATE_BYTES));
    state.write(setting);
    return state;
  }

  /**
   * Count one command answered by the scenario's program `program` (of the setting read last); returns
   * the program's count before it. If the setting is unchanged since (see unchanged), the command's
   * number in the program is `numberIn(program, count)`; else the caller uncounts it and reads again.
   */
  count(program: number): number {
    Atomics.add(this.cells, COUNTER_INDEX, 1);
    return Atomics.add(this.cells, PROGRAM_COUNT_INDEX + program, 1);
  }

  /** The number since the scenario was set of the command count() counted as `count`. */
  numberIn(program: number, count: number): number {
    return (count - Atomics.load(this.cells, PROGRAM_BASE_INDEX + program)) | 0;
  }

  /** Take back a count() made under a setting that changed meanwhile (and out of the new base, if the change's base included it). */
  uncount(program: number, count: number): void {
    const c = this.cells;
    Atomics.sub(c, COUNTER_INDEX, 1);
    Atomics.sub(c, PROGRAM_COUNT_INDEX + program, 1);
    // The change's few stores end soon; its base is final once the sequence is even again.
    while ((Atomics.load(c, SEQ_INDEX) & 1) !== 0);
    if (((count - Atomics.load(c, PROGRAM_BASE_INDEX + program)) | 0) < 0) Atomics.sub(c, PROGRAM_BASE_INDEX + program, 1);
  }

  /** Whether no scenario change began since the setting was read under `seq`. */
  unchanged(seq: number): boolean {
    return Atomics.load(this.cells, SEQ_INDEX) === seq;
  }

  get commandCount(): number {
    return Atomics.load(this.cells, COUNTER_INDEX) >>> 0;
  }

  get releaseGeneration(): number {
    return Atomics.load(this.cells, RELEASE_INDEX);
  }

  release(): void {
    Atomics.add(this.cells, RELEASE_INDEX, 1);
    Atomics.notify(this.cells, RELEASE_INDEX);
  }

  /** Block this thread until a release after generation `seen`; false when `ms` passed first. */
  waitRelease(seen: number, ms: number): boolean {
    return Atomics.wait(this.cells, RELEASE_INDEX, seen, ms) !== 'timed-out';
  }

  /** Without blocking: a promise of the next release after `seen`, or null if one came already. */
  releaseWait(seen: number): Promise<unknown> | null {
    const w = Atomics.waitAsync(this.cells, RELEASE_INDEX, seen);
    return w.async ? w.value : null;
  }

  /** Change the setting. Writers exclude each other; the section is a few stores, so spinning is fine. */
  write(setting: Setting): void {
    const c = this.cells;
    let seq: number;
    do seq = Atomics.load(c, SEQ_INDEX);
    while ((seq & 1) !== 0 || Atomics.compareExchange(c, SEQ_INDEX, seq, seq + 1) !== seq);
    Atomics.store(c, SCENARIO_INDEX, setting.scenario);
    if (setting.sense !== undefined) Atomics.store(c, SENSE_INDEX, setting.sense);
    for (let i = 0; i < MAX_SCENARIO_PARAMS; i++) Atomics.store(c, PARAMS_INDEX + i, setting.params[i] ?? 0);
    for (let i = 0; i < MAX_PROGRAMS; i++) Atomics.store(c, PROGRAM_BASE_INDEX + i, Atomics.load(c, PROGRAM_COUNT_INDEX + i));
    Atomics.store(c, SEQ_INDEX, seq + 2);
  }

  /** Read the setting without tearing: retry while a change is in progress or happened meanwhile. */
  read(into: Snapshot, params: Int32Array): void {
    const c = this.cells;
    for (;;) {
      const seq = Atomics.load(c, SEQ_INDEX);
      if ((seq & 1) !== 0) continue;
      into.seq = seq;
      into.scenario = Atomics.load(c, SCENARIO_INDEX);
      into.sense = Atomics.load(c, SENSE_INDEX);
      for (let i = 0; i < MAX_SCENARIO_PARAMS; i++) params[i] = Atomics.load(c, PARAMS_INDEX + i);
      if (Atomics.load(c, SEQ_INDEX) === seq) return;
    }
  }
}
