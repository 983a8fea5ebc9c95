/**
 * Writes a generated document token by token, choosing the white space, line breaks and comments between
 * tokens from a seeded PRNG, and knows the 1-based line each token lands on: what a config fuzz test
 * needs to expect an error (or a keyword) at an exact line.
 */
export interface Layout {
  /** Blanks placed between tokens on one line. */
  readonly blanks: readonly string[];
  /** A comment to put before a line break (without the break), or null for a syntax without comments. */
  readonly comment: ((rnd: () => number) => string) | null;
}

export class TextEmitter {
  private readonly lines: string[] = [''];

  constructor(
    private readonly rnd: () => number,
    private readonly layout: Layout,
  ) {}

  /** The line the next token goes on. */
  get line(): number {
    return this.lines.length;
  }

  /** A token, after a gap when the line already has text. `breakable`: the gap may be a line break. */
  token(text: string, breakable = true): number {
    const current = this.lines[this.lines.length - 1]!;
    if (current.trim() !== '' && breakable && this.rnd() < 0.35) this.newLine();
    const last = this.lines.length - 1;
    if (this.lines[last]!.trim() !== '') this.lines[last] += this.pick(this.layout.blanks);
    this.lines[last] += text;
    return this.line;
  }

  /** End the line here (with a comment, sometimes), and maybe leave a blank line or indent the next. */
  newLine(): void {
    const comment = this.layout.comment;
    if (comment !== null && this.rnd() < 0.2) this.lines[this.lines.length - 1] += ` ${comment(this.rnd)}`;
    if (this.rnd() < 0.1) this.lines.push('');
    this.lines.push(this.rnd() < 0.5 ? this.pick(this.layout.blanks).repeat(1 + Math.floor(this.rnd() * 4)) : '');
  }

  text(): string {
    return `${this.lines.join('\n')}${this.rnd() < 0.5 ? '\n' : ''}`;
  }

  private pick(list: readonly string[]): string {
    return list[Math.floor(this.rnd() * list.length)]!;
  }
}
