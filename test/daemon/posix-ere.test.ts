import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEre, EreError, MAX_PROGRAM_SIZE, type Ere } from '../../host/daemon/config/posix-ere.js';
import { MAX_PATTERN_LENGTH } from '../../host/daemon/config/posix-ere-parse.js';

// The POSIX ERE engine behind devices{} vendor/product: glibc regcomp(REG_EXTENDED | REG_NOSUB) +
// regexec semantics (the accepted and semantics tables agree with glibc 2.36, checked with a C
// program when they were written), refusals in one line, and a match cost linear in the text.

/** The engine's own linear bound: every state enters each character's state set at most once. */
function expectLinear(ere: Ere, text: string): boolean {
  const { matched, steps } = ere.measure(text);
  expect(steps, `${ere.source} on ${text.length} characters`).toBeLessThanOrEqual(ere.size * (Array.from(text).length + 1));
  expect(ere.test(text)).toBe(matched);
  return matched;
}

function refusal(source: string): string {
  try {
    compileEre(source);
  } catch (e) {
    expect(e).toBeInstanceOf(EreError);
    return (e as Error).message;
  }
  throw new Error(`${JSON.stringify(source)} was accepted`);
}

describe('syntax', () => {
  const accepted = [
    '',
    'ACME',
    '^SIM .*$',
    'a|b|',
    '(|a)',
    '()',
    'a**',
    'a+?',
    'a{2}{3}',
    'a{,3}',
    'a{,}',
    'a{0}',
    'a{255}',
    '(){255}{255}{255}{255}',
    '[]a]',
    '[^]a]',
    '[a-]',
    '[-a]',
    '[--/]',
    '[a-c-]',
    '[[:alpha:][:digit:]_]',
    '[[.-.]a]',
    '[[=a=]]',
    '[\\d]',
    '[:alpha:]',
    '\\.\\*\\+\\?\\(\\)\\[\\{\\|\\^\\$\\\\',
    ']',
    '}',
    'a^b$c',
    '(^a|b$)*',
    'é+',
  ];
  for (const source of accepted) {
    it(`accepts ${JSON.stringify(source)}`, () => {
      const ere = compileEre(source);
      expect(ere.source).toBe(source);
      expect(ere.size).toBeGreaterThan(0);
    });
  }

  const refused: [string, string][] = [
    ['\\1', "back-reference '\\1' is not supported (it cannot be matched in linear time)"],
    ['(a)\\1', "back-reference '\\1' is not supported (it cannot be matched in linear time)"],
    ['(?=a)', "lookahead '(?=' is not POSIX ERE"],
    ['(?!a)', "negative lookahead '(?!' is not POSIX ERE"],
    ['(?<=a)b', "lookbehind '(?<=' is not POSIX ERE"],
    ['(?<!a)b', "negative lookbehind '(?<!' is not POSIX ERE"],
    ['(?:ab)+', "non-capturing group '(?:' is not POSIX ERE: write '('"],
    ['(?<vendor>ACME)', "named group '(?<' is not POSIX ERE: write '('"],
    ['(?P<vendor>ACME)', "named group '(?P<' is not POSIX ERE: write '('"],
    ['(?i)acme', "'(?' is not POSIX ERE ('?' repeats nothing)"],
    ['\\d+', "'\\d' is not POSIX ERE: use [0-9]"],
    ['\\D', "'\\D' is not POSIX ERE: use [^0-9]"],
    ['\\w', "'\\w' is not POSIX ERE: use [[:alnum:]_]"],
    ['\\W', "'\\W' is not POSIX ERE: use [^[:alnum:]_]"],
    ['\\s', "'\\s' is not POSIX ERE: use [[:space:]]"],
    ['\\S', "'\\S' is not POSIX ERE: use [^[:space:]]"],
    ['\\bACME\\b', "'\\b' is not POSIX ERE: word boundaries are not supported"],
    ['\\<ACME', "'\\<' is not POSIX ERE: word boundaries are not supported"],
    ['\\AACME', "'\\A' is not POSIX ERE: use '^'"],
    ['ACME\\z', "'\\z' is not POSIX ERE: use '$'"],
    ['a\\tb', "'\\t' is not POSIX ERE: write the character itself"],
    ['\\x41', "'\\x' is not POSIX ERE: write 'x' without the backslash"],
    ['\\0', "'\\0' is not POSIX ERE: write '0' without the backslash"],
    ['ACME\\', "trailing backslash: write '\\\\' for a literal backslash"],
    ['SIM (ok', "unmatched '('"],
    ['((a)', "unmatched '('"],
    ['a)', "unmatched ')': write '\\)' for a literal parenthesis"],
    ['[', "unmatched '['"],
    ['[]', "unmatched '['"],
    ['[^', "unmatched '['"],
    ['[a', "unmatched '['"],
    ['[[:alpha:]', "unmatched '['"],
    ['[[:alpha]', "unmatched '[:' in a bracket expression"],
    ['[[.a]', "unmatched '[.' in a bracket expression"],
    ['[[:word:]]', "unknown character class '[:word:]' (known: alpha, digit, alnum, upper, lower, space, blank, punct, print, graph, cntrl, xdigit)"],
    ['[[.ab.]]', "unknown collating element '[.ab.]': only single characters"],
    ['[z-a]', "bad range 'z-a' in a bracket expression: 'z' comes after 'a'"],
    ['[a-c-e]', "'-' in a bracket expression must come first, last or end a range"],
    ['[[:digit:]-z]', "bad range in a bracket expression: class '[:digit:]' cannot be a range end"],
    ['[a-[:digit:]]', "bad range in a bracket expression: class '[:digit:]' cannot be a range end"],
    ['*a', "'*' repeats nothing: write '\\*' for a literal '*'"],
    ['a|+b', "'+' repeats nothing: write '\\+' for a literal '+'"],
    ['(?)', "'(?' is not POSIX ERE ('?' repeats nothing)"],
    ['{2}', "'{' repeats nothing: write '\\{' for a literal '{'"],
    ['^*', "'*' repeats nothing: write '\\*' for a literal '*'"],
    ['a$+', "'+' repeats nothing: write '\\+' for a literal '+'"],
    ['a{', "bad interval '{': expected {m}, {m,} or {m,n} with counts from 0 to 255"],
    ['a{2', "bad interval '{2': expected {m}, {m,} or {m,n} with counts from 0 to 255"],
    ['a{}', "bad interval '{}': expected {m}, {m,} or {m,n} with counts from 0 to 255"],
    ['a{x}', "bad interval '{x}': expected {m}, {m,} or {m,n} with counts from 0 to 255"],
    ['a{1,2,3}', "bad interval '{1,2,3}': expected {m}, {m,} or {m,n} with counts from 0 to 255"],
    ['a{ 2}', "bad interval '{ 2}': expected {m}, {m,} or {m,n} with counts from 0 to 255"],
    ['a{3,2}', "bad interval '{3,2}': 3 is more than 2"],
    ['a{256}', "bad interval '{256}': at most 255 repeats"],
    ['a{0,256}', "bad interval '{0,256}': at most 255 repeats"],
    ['a{256,}', "bad interval '{256,}': at most 255 repeats"],
    ['((a{255}){255}){255}', `pattern too large: more than ${MAX_PROGRAM_SIZE} NFA states`],
    ['[0-9]{255}[a-z]{255}(x|y){255}(a{1,255}){255}', `pattern too large: more than ${MAX_PROGRAM_SIZE} NFA states`],
    ['a'.repeat(MAX_PATTERN_LENGTH + 1), `pattern too long: ${MAX_PATTERN_LENGTH + 1} characters (at most ${MAX_PATTERN_LENGTH})`],
  ];
  for (const [source, message] of refused) {
    it(`refuses ${JSON.stringify(source.length > 40 ? `${source.slice(0, 40)}...` : source)}`, () => {
      expect(refusal(source)).toBe(message);
      expect(message).not.toContain('\n');
    });
  }

  it('a pattern of the longest length is accepted', () => {
    expect(compileEre('a'.repeat(MAX_PATTERN_LENGTH)).test('a'.repeat(MAX_PATTERN_LENGTH))).toBe(true);
  });
});

describe('semantics: regexec without anchors, REG_NOSUB, case-sensitive', () => {
  const table: [string, string, boolean][] = [
    ['', '', true],
    ['', 'anything', true],
    ['ACME', 'xACMEy', true],
    ['ACME', 'ACM', false],
    ['acme', 'ACME', false],
    ['^ACME$', 'ACME', true],
    ['^ACME$', 'ACME ', false],
    ['^SIM .*', 'SIM ok', true],
    ['SIM', 'PATHCHK SIM ok', true],
    ['a|b', 'b', true],
    ['(a|)b', 'b', true],
    ['a(|x)b', 'ab', true],
    ['x^', 'x', false],
    ['$x', 'x', false],
    ['a$|^b', 'ba', true],
    ['a$|^b', 'ab', false],
    ['(^a|b)c', 'xbc', true],
    ['(^a|b)c', 'xac', false],
    ['^b', 'a\nb', false],
    ['a$', 'a\nb', false],
    ['^.$', '\n', true],
    ['a.c', 'abc', true],
    ['a.c', 'ac', false],
    ['a{2,3}$', 'aaaa', true],
    ['^a{2,3}$', 'aaaa', false],
    ['^a{2}$', 'aa', true],
    ['^a{2,}$', 'aaaaa', true],
    ['^a{,2}$', 'aaa', false],
    ['^a{,}$', 'aaa', true],
    ['^a{0}b$', 'b', true],
    ['^(ab){2}$', 'abab', true],
    ['^(ab){2}$', 'aba', false],
    ['^(a|b)*c$', 'ababc', true],
    ['^(a|b)+c$', 'c', false],
    ['^a?b$', 'b', true],
    ['a**', '', true],
    ['^a+?$', '', true],
    ['^(a*)*$', 'aaa', true],
    ['^(a*)+b', 'b', true],
    ['[]a]', ']', true],
    ['[^]a]', 'a', false],
    ['[^]a]', 'b', true],
    ['[^a]', '\n', true],
    ['[a-]', '-', true],
    ['[-a]', '-', true],
    ['[--/]', '.', true],
    ['[--/]', '0', false],
    ['[.]', 'x', false],
    ['[*+?]', '+', true],
    ['[\\d]', '\\', true],
    ['[\\d]', '0', false],
    ['[:alpha:]', 'l', true],
    ['[[:digit:]]', 'x7', true],
    ['^[[:alpha:]]+$', 'ab1', false],
    ['^[[:alnum:]]+$', 'aZ9', true],
    ['[[:upper:]]', 'a', false],
    ['[[:lower:]]', 'a', true],
    ['[[:space:]]', '\t', true],
    ['[[:space:]]', '\v', true],
    ['[[:blank:]]', '\n', false],
    ['[[:blank:]]', '\t', true],
    ['[[:punct:]]', '_', true],
    ['[[:punct:]]', 'a', false],
    ['[[:print:]]', ' ', true],
    ['[[:graph:]]', ' ', false],
    ['[[:cntrl:]]', '\x7f', true],
    ['[[:cntrl:]]', ' ', false],
    ['[[:xdigit:]]', 'F', true],
    ['[[:xdigit:]]', 'g', false],
    ['[^[:digit:]]', '123', false],
    ['[[.-.]]', '-', true],
    ['[[=a=]]', 'a', true],
    ['a\\.c', 'abc', false],
    ['a\\.c', 'a.c', true],
    ['\\(', '(', true],
    ['\\\\', '\\', true],
    ['a\\|b', 'a|b', true],
    ['a\\|b', 'a', false],
    ['a}', 'a}', true],
    ['(a+)+$', `${'a'.repeat(34)}!`, false],
    // Characters are code points (multipathd's vendor and product strings are ASCII).
    ['^.$', '😀', true],
    ['é', 'café', true],
    ['^[à-ü]+$', 'éü', true],
  ];
  for (const [source, text, expected] of table) {
    it(`${JSON.stringify(source)} on ${JSON.stringify(text)}: ${expected}`, () => {
      expect(expectLinear(compileEre(source), text)).toBe(expected);
    });
  }
});

/** A generated pattern in both syntaxes, on the subset where POSIX ERE and JavaScript agree. */
interface Both {
  readonly ere: string;
  readonly js: string;
}

/** JavaScript equivalents of the POSIX classes (C locale). */
const JS_CLASS: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: '0-9A-Za-z',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\t\\n\\v\\f\\r ',
  blank: '\\t ',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
  xdigit: '0-9A-Fa-f',
};

/** A character in a JavaScript character class: punctuation escaped. */
const jsChar = (c: string): string => (/[0-9A-Za-z]/.test(c) ? c : `\\${c}`);

/** Text characters: letters, digits, and characters special in one syntax or the other. */
const TEXT_CHARS = ['a', 'b', 'A', 'Z', '1', '.', '-', ' ', ']', '_', '\t', '!', '^', '*'];

const literal: fc.Arbitrary<Both> = fc.oneof(
  fc.constantFrom('a', 'b', 'A', 'Z', '1', ' ', '_', '!', ']').map((c) => ({ ere: c, js: c === ']' ? '\\]' : c })),
  fc.constantFrom('.', '*', '^', '-', '$', '(').map((c) => ({ ere: `\\${c}`, js: `\\${c}` })),
);

const setMember: fc.Arbitrary<Both> = fc.oneof(
  fc.constantFrom('a', 'b', 'Z', '1', '.', '*', ' ', '_', '!').map((c) => ({ ere: c, js: jsChar(c) })),
  fc.constantFrom(['a', 'z'], ['A', 'Z'], ['0', '9'], [' ', '.'], ['!', '/']).map(([lo, hi]) => ({ ere: `${lo}-${hi}`, js: `${jsChar(lo!)}-${jsChar(hi!)}` })),
  fc.constantFrom(...Object.keys(JS_CLASS)).map((name) => ({ ere: `[:${name}:]`, js: JS_CLASS[name]! })),
);

/** A bracket expression; `]` can come first and `-` last, as POSIX allows. */
const bracket: fc.Arbitrary<Both> = fc
  .record({ negated: fc.boolean(), bracketFirst: fc.boolean(), members: fc.array(setMember, { minLength: 1, maxLength: 3 }), hyphenLast: fc.boolean() })
  .map(({ negated, bracketFirst, members, hyphenLast }) => ({
    ere: `[${negated ? '^' : ''}${bracketFirst ? ']' : ''}${members.map((m) => m.ere).join('')}${hyphenLast ? '-' : ''}]`,
    js: `[${negated ? '^' : ''}${bracketFirst ? '\\]' : ''}${members.map((m) => m.js).join('')}${hyphenLast ? '\\-' : ''}]`,
  }));

const atom: fc.Arbitrary<Both> = fc.oneof(
  { weight: 4, arbitrary: literal },
  { weight: 1, arbitrary: fc.constant({ ere: '.', js: '.' }) },
  { weight: 2, arbitrary: bracket },
  { weight: 1, arbitrary: fc.constantFrom({ ere: '^', js: '^' }, { ere: '$', js: '$' }) },
);

const quantifier = fc.oneof(
  fc.constantFrom('*', '+', '?'),
  fc.tuple(fc.nat(3), fc.nat(2), fc.boolean()).map(([m, extra, bounded]) => (bounded ? `{${m},${m + extra}}` : extra === 0 ? `{${m}}` : `{${m},}`)),
);

const { pattern } = fc.letrec<{ pattern: Both; concat: Both; alternation: Both; repeat: Both }>((tie) => ({
  pattern: fc.oneof({ depthSize: 'small', maxDepth: 4 }, atom, tie('concat'), tie('alternation'), tie('repeat')),
  concat: fc.array(tie('pattern'), { minLength: 2, maxLength: 4 }).map((ps) => ({ ere: ps.map((p) => p.ere).join(''), js: ps.map((p) => p.js).join('') })),
  alternation: fc
    .array(tie('pattern'), { minLength: 2, maxLength: 3 })
    .map((ps) => ({ ere: `(${ps.map((p) => p.ere).join('|')})`, js: `(?:${ps.map((p) => p.js).join('|')})` })),
  // Always a group: stacked repeats (`a*?`) mean different things in the two syntaxes.
  repeat: fc.tuple(tie('pattern'), quantifier).map(([p, q]) => ({ ere: `(${p.ere})${q}`, js: `(?:${p.js})${q}` })),
}));

const text = fc.array(fc.constantFrom(...TEXT_CHARS), { maxLength: 12 }).map((cs) => cs.join(''));

describe('differential: the same answers as JavaScript RegExp where the two syntaxes agree', () => {
  it('2,000 generated patterns x 8 texts', () => {
    const outcomes = { matched: 0, unmatched: 0 };
    fc.assert(
      fc.property(pattern, fc.array(text, { minLength: 8, maxLength: 8 }), (p, texts) => {
        const ere = compileEre(p.ere);
        const js = new RegExp(p.js);
        for (const t of texts) {
          const matched = expectLinear(ere, t);
          expect(matched, `${JSON.stringify(p.ere)} (JavaScript ${JSON.stringify(p.js)}) on ${JSON.stringify(t)}`).toBe(js.test(t));
          outcomes[matched ? 'matched' : 'unmatched']++;
        }
      }),
      { numRuns: 2000, seed: 0x5eed },
    );
    // Neither answer is rare, so agreement means something.
    expect(outcomes.matched).toBeGreaterThan(2000);
    expect(outcomes.unmatched).toBeGreaterThan(2000);
  });
});

describe('hostile patterns: 10,000-character texts, at most size x (length + 1) state visits', () => {
  const N = 10_000;
  const a = 'a'.repeat(N);
  const cases: [string, string, boolean][] = [
    ['(a+)+$', `${a}!`, false],
    ['(a|a)*b', a, false],
    ['^(a*)*$', `${a}!`, false],
    ['(a*)*$', `${a}!`, true],
    ['(.*a){20}', `${'a'.repeat(19)}${'b'.repeat(N - 19)}`, false],
    ['(.*a){20}', `${'b'.repeat(N - 20)}${'a'.repeat(20)}`, true],
    ['(a|aa)+$', `${a}!`, false],
    ['(x+x+)+y', 'x'.repeat(N), false],
    ['([[:alpha:]]+)*[[:digit:]]', 'ab'.repeat(N / 2), false],
    ['^(a?){100}a{100}$', a, false],
    ['(.*){10}!', a, false],
    ['(((a*)*)*)*b', a, false],
  ];
  for (const [source, text, expected] of cases) {
    it(`${source}: ${expected}`, () => {
      const ere = compileEre(source);
      expect(expectLinear(ere, text)).toBe(expected);
    });
  }
});
