import { quote } from './config-error.js';
import { EreError } from './posix-ere-error.js';

/**
 * The parser of POSIX extended regular expressions (IEEE 1003.1 XBD 9.4) as glibc's
 * regcomp(REG_EXTENDED) reads them, in the C locale: characters are code points, ranges compare
 * code points, classes are ASCII. What POSIX ERE lacks, or what cannot be matched in linear time,
 * is refused with one line naming it.
 *
 * Deliberate differences from glibc, each refusing what glibc would read some other way:
 * - `\1`..`\9` (glibc: back-references) are refused: they cannot be matched in linear time.
 * - `\` before a letter or digit is refused (glibc: `\w` `\s` `\b` `\<` are GNU operators, `\d` is a
 *   plain `d`): a Perl habit would otherwise match something else, silently.
 * - An unmatched `)` is refused (glibc: a literal `)`): it is a typo far more often than a wish.
 * - Repeat counts stop at 255, POSIX's minimum RE_DUP_MAX (glibc: 32767).
 * Followed where harmless: the empty pattern and empty alternatives match the empty string; stacked
 * repeats (`a**`, `a+?`) repeat the repeat, so `*?` is not lazy (for a yes/no answer it need not be);
 * `{,n}` is `{0,n}`; a `]` first in a bracket expression and a `}` outside one are literals.
 */

/** Inclusive code point ranges as [lo, hi] pairs, sorted and disjoint; `negated` flips membership. */
export interface CharSet {
  readonly ranges: readonly number[];
  readonly negated: boolean;
}

export type EreNode =
  | { readonly kind: 'empty' }
  | { readonly kind: 'char'; readonly cp: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'set'; readonly set: CharSet }
  | { readonly kind: 'bol' }
  | { readonly kind: 'eol' }
  | { readonly kind: 'concat'; readonly items: readonly EreNode[] }
  | { readonly kind: 'alt'; readonly items: readonly EreNode[] }
  /** `max` is Infinity for `*`, `+`, `{m,}`. */
  | { readonly kind: 'repeat'; readonly body: EreNode; readonly min: number; readonly max: number };

/** Longer patterns are refused: vendor and product strings are 8 and 16 characters. */
export const MAX_PATTERN_LENGTH = 1024;
/** POSIX's minimum RE_DUP_MAX: the largest count an interval may name. */
export const RE_DUP_MAX = 255;

const EMPTY: EreNode = { kind: 'empty' };

/** The C locale's classes, as inclusive ranges. */
const CLASSES: Readonly<Record<string, readonly number[]>> = {
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  digit: [0x30, 0x39],
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  upper: [0x41, 0x5a],
  lower: [0x61, 0x7a],
  space: [0x09, 0x0d, 0x20, 0x20],
  blank: [0x09, 0x09, 0x20, 0x20],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  print: [0x20, 0x7e],
  graph: [0x21, 0x7e],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

/** What to write instead of a Perl or GNU backslash sequence. */
const ESCAPE_HINTS: Readonly<Record<string, string>> = {
  d: 'use [0-9]',
  D: 'use [^0-9]',
  w: 'use [[:alnum:]_]',
  W: 'use [^[:alnum:]_]',
  s: 'use [[:space:]]',
  S: 'use [^[:space:]]',
  n: 'write the character itself',
  t: 'write the character itself',
  r: 'write the character itself',
  f: 'write the character itself',
  v: 'write the character itself',
  b: 'word boundaries are not supported',
  B: 'word boundaries are not supported',
  '<': 'word boundaries are not supported',
  '>': 'word boundaries are not supported',
  A: "use '^'",
  '`': "use '^'",
  z: "use '$'",
  Z: "use '$'",
  "'": "use '$'",
};

/** Parse `source`; throws EreError. */
export function parseEre(source: string): EreNode {
  if (source.length > MAX_PATTERN_LENGTH) throw new EreError(`pattern too long: ${source.length} characters (at most ${MAX_PATTERN_LENGTH})`);
  return new Parser(Array.from(source, (c) => c.codePointAt(0)!)).parse();
}

function concat(items: EreNode[]): EreNode {
  const kept = items.filter((n) => n.kind !== 'empty');
  return kept.length === 0 ? EMPTY : kept.length === 1 ? kept[0]! : { kind: 'concat', items: kept };
}

/**
 * Repeats of what matches only the empty string are that empty string, so every node but `empty`
 * compiles to at least one instruction and the compiler's size cap bounds its work.
 */
function repeat(body: EreNode, min: number, max: number): EreNode {
  return body.kind === 'empty' || max === 0 ? EMPTY : { kind: 'repeat', body, min, max };
}

function isAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

/** A bracket expression's element: one character, or a class (which cannot end a range). */
type Element = { readonly kind: 'char'; readonly cp: number } | { readonly kind: 'class'; readonly ranges: readonly number[]; readonly name: string };

function classAsRangeEnd(name: string): EreError {
  return new EreError(`bad range in a bracket expression: class ${quote(`[:${name}:]`)} cannot be a range end`);
}

class Parser {
  private i = 0;

  constructor(private readonly cps: readonly number[]) {}

  parse(): EreNode {
    const node = this.alternation();
    if (this.i < this.cps.length) throw new EreError(`unmatched ')': write '\\)' for a literal parenthesis`);
    return node;
  }

  private at(k = 0): string | undefined {
    const cp = this.cps[this.i + k];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private text(from: number, to: number): string {
    return String.fromCodePoint(...this.cps.slice(from, to));
  }

  /** Branches separated by `|`, up to a `)` or the end. */
  private alternation(): EreNode {
    const items = [this.branch()];
    while (this.at() === '|') {
      this.i++;
      items.push(this.branch());
    }
    return items.length === 1 ? items[0]! : { kind: 'alt', items };
  }

  private branch(): EreNode {
    const items: EreNode[] = [];
    for (let c = this.at(); c !== undefined && c !== '|' && c !== ')'; c = this.at()) items.push(this.piece());
    return concat(items);
  }

  /** An atom and its repeats. An anchor takes none: the repeat that follows it repeats nothing. */
  private piece(): EreNode {
    const anchor = this.at() === '^' || this.at() === '$';
    let node = this.atom();
    if (anchor) return node;
    for (;;) {
      const c = this.at();
      if (c === '*' || c === '+' || c === '?') {
        this.i++;
        node = repeat(node, c === '+' ? 1 : 0, c === '?' ? 1 : Infinity);
      } else if (c === '{') {
        const [min, max] = this.interval();
        node = repeat(node, min, max);
      } else {
        return node;
      }
    }
  }

  private atom(): EreNode {
    const c = this.at()!;
    switch (c) {
      case '(':
        return this.group();
      case '*':
      case '+':
      case '?':
      case '{':
        throw new EreError(`'${c}' repeats nothing: write '\\${c}' for a literal '${c}'`);
      case '^':
        this.i++;
        return { kind: 'bol' };
      case '$':
        this.i++;
        return { kind: 'eol' };
      case '.':
        this.i++;
        return { kind: 'any' };
      case '[':
        return this.bracket();
      case '\\':
        return this.escape();
      default:
        this.i++;
        return { kind: 'char', cp: this.cps[this.i - 1]! };
    }
  }

  private group(): EreNode {
    if (this.at(1) === '?') throw new EreError(this.perlGroup());
    this.i++;
    const body = this.alternation();
    if (this.at() !== ')') throw new EreError(`unmatched '('`);
    this.i++;
    return body;
  }

  /** Why a `(?` group is refused, naming the construct. */
  private perlGroup(): string {
    const after = this.text(this.i + 2, this.i + 4);
    if (after.startsWith('=')) return `lookahead '(?=' is not POSIX ERE`;
    if (after.startsWith('!')) return `negative lookahead '(?!' is not POSIX ERE`;
    if (after === '<=') return `lookbehind '(?<=' is not POSIX ERE`;
    if (after === '<!') return `negative lookbehind '(?<!' is not POSIX ERE`;
    if (after.startsWith('<')) return `named group '(?<' is not POSIX ERE: write '('`;
    if (after === 'P<') return `named group '(?P<' is not POSIX ERE: write '('`;
    if (after.startsWith(':')) return `non-capturing group '(?:' is not POSIX ERE: write '('`;
    return `'(?' is not POSIX ERE ('?' repeats nothing)`;
  }

  private escape(): EreNode {
    const c = this.at(1);
    if (c === undefined) throw new EreError(`trailing backslash: write '\\\\' for a literal backslash`);
    const cp = this.cps[this.i + 1]!;
    const shown = quote(`\\${c}`);
    if (c >= '1' && c <= '9') throw new EreError(`back-reference ${shown} is not supported (it cannot be matched in linear time)`);
    const hint = Object.hasOwn(ESCAPE_HINTS, c) ? ESCAPE_HINTS[c] : isAlnum(cp) ? `write ${quote(c)} without the backslash` : undefined;
    if (hint !== undefined) throw new EreError(`${shown} is not POSIX ERE: ${hint}`);
    this.i += 2;
    return { kind: 'char', cp };
  }

  /** `{m}`, `{m,}`, `{m,n}` or glibc's `{,n}`, at the `{`. */
  private interval(): [number, number] {
    const start = this.i;
    const close = this.cps.indexOf(0x7d, start);
    const body = close < 0 ? undefined : this.text(start + 1, close);
    const shown = quote(close < 0 ? this.text(start, this.cps.length) : this.text(start, close + 1));
    const m = body === undefined ? null : /^([0-9]*)(,([0-9]*))?$/.exec(body);
    if (m === null || (m[1] === '' && m[2] === undefined)) {
      throw new EreError(`bad interval ${shown}: expected {m}, {m,} or {m,n} with counts from 0 to ${RE_DUP_MAX}`);
    }
    const min = m[1] === '' ? 0 : Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (Math.max(min, max === Infinity ? 0 : max) > RE_DUP_MAX) throw new EreError(`bad interval ${shown}: at most ${RE_DUP_MAX} repeats`);
    if (min > max) throw new EreError(`bad interval ${shown}: ${min} is more than ${max}`);
    this.i = close + 1;
    return [min, max];
  }

  /** `[...]` or `[^...]`, at the `[`: a `]` first is a literal, a `-` first or last too. */
  private bracket(): EreNode {
    this.i++;
    const negated = this.at() === '^';
    if (negated) this.i++;
    const pairs: number[] = [];
    for (let first = true; ; first = false) {
      const c = this.at();
      if (c === undefined) throw new EreError(`unmatched '['`);
      if (c === ']' && !first) break;
      const lo = this.element(first);
      if (this.at() === '-' && this.at(1) !== ']' && this.at(1) !== undefined) {
        this.i++;
        const hi = this.element(true);
        if (lo.kind === 'class') throw classAsRangeEnd(lo.name);
        if (hi.kind === 'class') throw classAsRangeEnd(hi.name);
        if (lo.cp > hi.cp) {
          const [a, b] = [String.fromCodePoint(lo.cp), String.fromCodePoint(hi.cp)];
          throw new EreError(`bad range ${quote(`${a}-${b}`)} in a bracket expression: ${quote(a)} comes after ${quote(b)}`);
        }
        pairs.push(lo.cp, hi.cp);
      } else if (lo.kind === 'char') {
        pairs.push(lo.cp, lo.cp);
      } else {
        pairs.push(...lo.ranges);
      }
    }
    this.i++;
    return { kind: 'set', set: { ranges: merge(pairs), negated } };
  }

  /** One element of a bracket expression; a `-` that is not first, last or a range end is refused. */
  private element(hyphenOk: boolean): Element {
    const c = this.at()!;
    const d = this.at(1);
    if (c === '[' && (d === ':' || d === '.' || d === '=')) {
      const from = this.i + 2;
      let to = from;
      while (to + 1 < this.cps.length && !(this.cps[to] === d.codePointAt(0) && this.cps[to + 1] === 0x5d)) to++;
      if (to + 1 >= this.cps.length) throw new EreError(`unmatched ${quote(`[${d}`)} in a bracket expression`);
      const name = this.text(from, to);
      this.i = to + 2;
      if (d === ':') {
        if (!Object.hasOwn(CLASSES, name)) throw new EreError(`unknown character class ${quote(`[:${name}:]`)} (known: ${Object.keys(CLASSES).join(', ')})`);
        return { kind: 'class', ranges: CLASSES[name]!, name };
      }
      const cps = Array.from(name);
      if (cps.length !== 1) throw new EreError(`unknown collating element ${quote(`[${d}${name}${d}]`)}: only single characters`);
      return { kind: 'char', cp: cps[0]!.codePointAt(0)! };
    }
    if (c === '-' && !hyphenOk && d !== ']') {
      throw new EreError(`'-' in a bracket expression must come first, last or end a range`);
    }
    this.i++;
    return { kind: 'char', cp: this.cps[this.i - 1]! };
  }
}

/** Sort and merge [lo, hi] pairs into disjoint ranges. */
function merge(pairs: readonly number[]): number[] {
  const ranges: [number, number][] = [];
  for (let k = 0; k < pairs.length; k += 2) ranges.push([pairs[k]!, pairs[k + 1]!]);
  ranges.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of ranges) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
    else out.push(lo, hi);
  }
  return out;
}
