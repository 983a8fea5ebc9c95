import { ConfigError, quote } from './config-error.js';

/**
 * A JSON reader that keeps the line of every value and object key, so a config error in a JSON file
 * names a line as well as the JSON path. Strict JSON (RFC 8259): no comments, no trailing commas.
 * Duplicate keys are kept (in order), for the caller to refuse; JSON.parse would silently keep the last.
 */
export type JsonNode =
  | { readonly kind: 'object'; readonly line: number; readonly members: readonly JsonMember[] }
  | { readonly kind: 'array'; readonly line: number; readonly items: readonly JsonNode[] }
  | { readonly kind: 'scalar'; readonly line: number; readonly value: string | number | boolean | null };

export interface JsonMember {
  readonly key: string;
  /** The line of the key. */
  readonly line: number;
  readonly value: JsonNode;
}

const MAX_DEPTH = 64;
/** What may follow a backslash in a string. */
const ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WORD = /[A-Za-z0-9_.+-]+|[^]/y;

export function readJson(text: string, file: string): JsonNode {
  let i = 0;
  let line = 1;

  const found = (): string => {
    if (i >= text.length) return 'the end of the file';
    WORD.lastIndex = i;
    return quote(WORD.exec(text)![0], 20);
  };
  const fail = (what: string): never => {
    throw new ConfigError(file, line, `invalid JSON: ${what}`);
  };
  const skipSpace = (): void => {
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') break;
    }
  };
  /**
   * A string, scanned by hand: a backtracking regular expression over it overflows the stack on a long
   * string of escapes (a RangeError from a multi-megabyte config instead of a ConfigError).
   */
  const string = (): string => {
    const start = i;
    for (let j = i + 1; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x22) {
        i = j + 1;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c < 0x20) break;
      if (c === 0x5c) {
        ESCAPE.lastIndex = j + 1;
        if (!ESCAPE.test(text)) break;
        j = ESCAPE.lastIndex - 1;
      }
    }
    return fail('bad string: unterminated, or a raw control character or a bad escape in it');
  };

  const value = (depth: number): JsonNode => {
    skipSpace();
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    const at = line;
    const c = text[i];
    if (c === '{') {
      i++;
      const members: JsonMember[] = [];
      skipSpace();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', line: at, members };
      }
      for (;;) {
        skipSpace();
        if (text[i] !== '"') fail(`expected a quoted key, found ${found()}`);
        const keyLine = line;
        const key = string();
        skipSpace();
        if (text[i] !== ':') fail(`expected ':' after the key ${quote(key)}, found ${found()}`);
        i++;
        members.push({ key, line: keyLine, value: value(depth + 1) });
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return { kind: 'object', line: at, members };
        } else fail(`expected ',' or '}' after the value of ${quote(key)}, found ${found()}`);
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      skipSpace();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', line: at, items };
      }
      for (;;) {
        items.push(value(depth + 1));
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return { kind: 'array', line: at, items };
        } else fail(`expected ',' or ']' after a list item, found ${found()}`);
      }
    }
    if (c === '"') return { kind: 'scalar', line: at, value: string() };
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { kind: 'scalar', line: at, value: v };
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m !== null) {
      i = NUMBER.lastIndex;
      return { kind: 'scalar', line: at, value: Number(m[0]) };
    }
    return fail(`expected a value, found ${found()}`);
  };

  const root = value(0);
  skipSpace();
  if (i < text.length) fail(`unexpected ${found()} after the end of the document`);
  return root;
}

/** The plain JavaScript value of a node. */
export function plainJson(node: JsonNode): unknown {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'array') return node.items.map(plainJson);
  return Object.fromEntries(node.members.map((m) => [m.key, plainJson(m.value)]));
}

/** How a JSON value is named in messages: `"abc"`, `5`, `null`, `a list`, `an object`. */
export function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
    return `the string ${shown}`;
  }
  return String(value);
}
