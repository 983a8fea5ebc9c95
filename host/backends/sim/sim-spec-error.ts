/** A `sim:` device spec or scenario change that cannot be used; the message is one line naming the problem. */
export class SimSpecError extends Error {
  override readonly name = 'SimSpecError';
}

/** Quote user text for a one-line message: control characters are shown escaped, never as line breaks. */
export function quote(text: string): string {
  return `'${text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
