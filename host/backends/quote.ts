/**
 * Quote user text for a one-line message: control characters are shown escaped, never as line breaks;
 * text past `max` characters is cut and marked.
 */
export function quote(text: string, max = Infinity): string {
  const shown = text.length > max ? `${text.slice(0, max)}...` : text;
  return `'${shown.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
