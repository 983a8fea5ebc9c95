import { ConfigError, quote } from './config-error.js';

/**
 * A token of multipath.conf syntax. `word` is a run of characters up to white space, a brace, a quote
 * or a comment; `string` is the text between double quotes (a doubled `""` inside stands for one `"`,
 * as in libmultipath); `{` and `}` are always tokens of their own outside strings.
 */
export interface ConfToken {
  readonly kind: 'word' | 'string' | '{' | '}';
  readonly text: string;
  /** 1-based line the token starts on. */
  readonly line: number;
}

/** How a token is named in messages: `'polling_interval'`, `"SIM ok"` (quoted in the file), `'{'`. */
export function describeToken(t: ConfToken): string {
  return t.kind === 'string' ? `quoted string ${quote(t.text)}` : quote(t.text);
}

/**
 * Split multipath.conf text into tokens. Comments run from `#` or `!` (outside a string) to the end of
 * the line, as in libmultipath's alloc_strvec. A string must end on the line it starts on.
 */
export function lexConf(text: string, file: string): ConfToken[] {
  const tokens: ConfToken[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#' || c === '!') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}') {
      tokens.push({ kind: c, text: c, line });
      i++;
    } else if (c === '"') {
      let value = '';
      let j = i + 1;
      // Once per string, not per doubled quote: a long line of `""` must not cost quadratic time.
      const eol = text.indexOf('\n', j);
      for (;;) {
        const end = text.indexOf('"', j);
        if (end < 0 || (eol >= 0 && eol < end)) {
          throw new ConfigError(file, line, 'unterminated string: a quoted value must end on the line it starts on');
        }
        value += text.slice(j, end);
        if (text[end + 1] === '"') {
          value += '"';
          j = end + 2;
        } else {
          j = end + 1;
          break;
        }
      }
      tokens.push({ kind: 'string', text: value, line });
      i = j;
    } else {
      let j = i;
      while (j < n && !/[\s{}"#!]/.test(text[j]!)) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j), line });
      i = j;
    }
  }
  return tokens;
}
