import { quote as quoteText } from '../../backends/quote.js';

/**
 * A config file that cannot be used. `file` is the name as given (what the user typed), `line` is
 * 1-based, 0 when no line applies (an unreadable file, a JSON value whose line is unknown). The message
 * is one line, compiler style: `FILE:LINE: what is wrong`, or `FILE: what is wrong` when the line is 0.
 * `detail` is the part after the location.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${line > 0 ? `${file}:${line}` : file}: ${detail}`);
  }
}

/** Quote config text for a one-line message (backends' quote, cut at 80 characters by default). */
export function quote(text: string, max = 80): string {
  return quoteText(text, max);
}
