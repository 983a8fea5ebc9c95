import { EreError } from './posix-ere-error.js';
import { parseEre, type CharSet, type EreNode } from './posix-ere-parse.js';

export { EreError } from './posix-ere-error.js';

/**
 * POSIX extended regular expressions matched as multipathd matches devices{} vendor and product:
 * regcomp(REG_EXTENDED | REG_NOSUB) then regexec, so a yes/no answer to "does it match anywhere in
 * the text", case-sensitive. The pattern compiles to a Thompson NFA whose state set is simulated one
 * character at a time (no backtracking): a match costs at most `size` state visits per character,
 * whatever the pattern, so no pattern can stall the daemon.
 */

/** Larger programs are refused: `((a{255}){255}){255}` is 16 million states. */
export const MAX_PROGRAM_SIZE = 4096;

const enum Op {
  Char,
  Any,
  Set,
  Split,
  Jump,
  Bol,
  Eol,
  Match,
}

/** An instruction's operation and operands: Char (code point), Set (index in sets), Split (x, y), Jump (x). */
interface Program {
  readonly op: Uint8Array;
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly sets: readonly CharSet[];
}

export interface Ere {
  readonly source: string;
  /** Instructions in the compiled program: the bound on state visits per character. */
  readonly size: number;
  /** Whether the pattern matches anywhere in `text`. */
  test(text: string): boolean;
  /** As test, also counting state visits (at most size x (characters + 1)). */
  measure(text: string): { matched: boolean; steps: number };
}

/** Compile `source`; throws EreError with a one-line reason. */
export function compileEre(source: string): Ere {
  const program = emitProgram(parseEre(source));
  return {
    source,
    size: program.op.length,
    test: (text) => simulate(program, text, null),
    measure(text) {
      const counter = { steps: 0 };
      return { matched: simulate(program, text, counter), steps: counter.steps };
    },
  };
}

function emitProgram(root: EreNode): Program {
  const op: number[] = [];
  const x: number[] = [];
  const y: number[] = [];
  const sets: CharSet[] = [];

  const push = (o: Op, a = 0, b = 0): number => {
    if (op.length === MAX_PROGRAM_SIZE) throw new EreError(`pattern too large: more than ${MAX_PROGRAM_SIZE} NFA states`);
    op.push(o);
    x.push(a);
    y.push(b);
    return op.length - 1;
  };

  const emit = (n: EreNode): void => {
    switch (n.kind) {
      case 'empty':
        return;
      case 'char':
        push(Op.Char, n.cp);
        return;
      case 'any':
        push(Op.Any);
        return;
      case 'set':
        push(Op.Set, sets.push(n.set) - 1);
        return;
      case 'bol':
        push(Op.Bol);
        return;
      case 'eol':
        push(Op.Eol);
        return;
      case 'concat':
        for (const item of n.items) emit(item);
        return;
      case 'alt': {
        const exits: number[] = [];
        for (const item of n.items.slice(0, -1)) {
          const split = push(Op.Split);
          x[split] = op.length;
          emit(item);
          exits.push(push(Op.Jump));
          y[split] = op.length;
        }
        emit(n.items[n.items.length - 1]!);
        for (const j of exits) x[j] = op.length;
        return;
      }
      case 'repeat':
        return emitRepeat(n.body, n.min, n.max);
    }
  };

  /** `min` copies, then a loop (max Infinity) or max - min optional copies that all exit to the end. */
  const emitRepeat = (body: EreNode, min: number, max: number): void => {
    if (max === Infinity && min > 0) {
      for (let k = 1; k < min; k++) emit(body);
      const top = op.length;
      emit(body);
      push(Op.Split, top, op.length + 1);
      return;
    }
    for (let k = 0; k < min; k++) emit(body);
    if (max === Infinity) {
      const split = push(Op.Split);
      x[split] = op.length;
      emit(body);
      push(Op.Jump, split);
      y[split] = op.length;
      return;
    }
    const skips: number[] = [];
    for (let k = min; k < max; k++) {
      const split = push(Op.Split);
      x[split] = op.length;
      skips.push(split);
      emit(body);
    }
    for (const s of skips) y[s] = op.length;
  };

  emit(root);
  push(Op.Match);
  return { op: Uint8Array.from(op), x: Int32Array.from(x), y: Int32Array.from(y), sets };
}

function inSet({ ranges, negated }: CharSet, cp: number): boolean {
  let hit = false;
  for (let k = 0; k < ranges.length && !hit; k += 2) hit = cp >= ranges[k]! && cp <= ranges[k + 1]!;
  return hit !== negated;
}

/**
 * Thompson's simulation: `list` holds the character-consuming states alive before the next
 * character. Each step follows every alive state over the character, then (unanchored search)
 * starts a new match there too, and takes the epsilon closure. `mark` numbers each step, so a state
 * enters a step's list at most once: that is the linear bound, and why empty loops such as `(a*)*`
 * end.
 */
function simulate({ op, x, y, sets }: Program, text: string, counter: { steps: number } | null): boolean {
  const size = op.length;
  const mark = new Uint32Array(size);
  const stack = new Int32Array(size);
  let list = new Int32Array(size);
  let next = new Int32Array(size);
  let length = 0;
  let nextLength = 0;
  let generation = 1;
  let steps = 0;

  let top = 0;
  const enter = (pc: number): void => {
    if (mark[pc] === generation) return;
    mark[pc] = generation;
    stack[top++] = pc;
  };

  /** Add the epsilon closure of `start` at the current position to `next`; true once Match is in it. */
  const close = (start: number, atStart: boolean, atEnd: boolean): boolean => {
    top = 0;
    enter(start);
    while (top > 0) {
      const pc = stack[--top]!;
      steps++;
      switch (op[pc] as Op) {
        case Op.Match:
          return true;
        case Op.Jump:
          enter(x[pc]!);
          break;
        case Op.Split:
          enter(x[pc]!);
          enter(y[pc]!);
          break;
        case Op.Bol:
          if (atStart) enter(pc + 1);
          break;
        case Op.Eol:
          if (atEnd) enter(pc + 1);
          break;
        default:
          next[nextLength++] = pc;
      }
    }
    return false;
  };

  let matched = close(0, true, text.length === 0);
  for (let pos = 0; !matched && pos < text.length; ) {
    const cp = text.codePointAt(pos)!;
    pos += cp > 0xffff ? 2 : 1;
    const consumed = list;
    list = next;
    next = consumed;
    length = nextLength;
    nextLength = 0;
    generation++;
    const atEnd = pos >= text.length;
    for (let k = 0; k < length && !matched; k++) {
      const pc = list[k]!;
      const o = op[pc] as Op;
      const takes = o === Op.Any || (o === Op.Char ? x[pc] === cp : inSet(sets[x[pc]!]!, cp));
      if (takes) matched = close(pc + 1, false, atEnd);
    }
    if (!matched) matched = close(0, false, atEnd);
  }
  if (counter !== null) counter.steps = steps;
  return matched;
}
