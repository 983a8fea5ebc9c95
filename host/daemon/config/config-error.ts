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

/** Quote user text for a one-line message: control characters are shown escaped, never as line breaks. */
export function quote(text: string, max = 80): string {
  const shown = text.length > max ? `${text.slice(0, max)}...` : text;
  return `'${shown.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
