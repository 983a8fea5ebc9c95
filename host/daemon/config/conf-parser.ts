import { ConfigError, quote } from './config-error.js';
import { describeToken, lexConf, type ConfToken } from './conf-lexer.js';
import {
  emptyRawConfig,
  ENTRY_NAMES,
  isListSection,
  topSection,
  type ListSection,
  type RawConfig,
  type RawEntry,
  type RawSetting,
} from './raw-config.js';

/**
 * multipath.conf syntax: `name {` opens a section (the brace on the name's line, as libmultipath
 * requires), `}` closes it, and inside one a line holds `keyword value` pairs: `device { vendor "X"
 * product "Y" path_checker tur }` means the same as one pair per line. A keyword takes one value: a
 * value with spaces is quoted. Sections and keywords are case-sensitive. This reads the structure
 * only; what the keywords mean is checked for both syntaxes in daemon-config.ts.
 */
export function parseConfText(text: string, file: string): RawConfig {
  const tokens = lexConf(text, file);
  const raw = emptyRawConfig();
  const seen = new Map<string, number>();
  let i = 0;

  const unclosed = (where: string, start: ConfToken) =>
    new ConfigError(file, start.line, `section '${where}' is not closed: missing '}'`);

  /** The `{` after a section name, on the name's line. */
  const open = (name: ConfToken): void => {
    const t = tokens[i];
    if (t?.kind === '{' && t.line === name.line) {
      i++;
      return;
    }
    const found = t !== undefined && t.line === name.line ? `, found ${describeToken(t)}` : '';
    throw new ConfigError(file, name.line, `expected '{' after ${quote(name.text)} on the same line${found}`);
  };

  /** The keyword/value pairs of one section, up to and including its `}`. */
  const entry = (where: string, start: ConfToken): RawEntry => {
    const settings: RawSetting[] = [];
    for (;;) {
      const t = tokens[i++];
      if (t === undefined) throw unclosed(where, start);
      if (t.kind === '}') return { where, line: start.line, settings };
      if (t.kind !== 'word') throw new ConfigError(file, t.line, `expected a keyword in ${where}, found ${describeToken(t)}`);
      const value = tokens[i];
      if (value === undefined || value.line !== t.line || value.kind === '}') {
        settings.push({ keyword: t.text, value: { syntax: 'missing' }, line: t.line });
        continue;
      }
      if (value.kind === '{') {
        throw new ConfigError(
          file,
          t.line,
          `unexpected section ${quote(t.text)} in ${where}: sections do not nest here (is the '}' of '${where}' at line ${start.line} missing?)`,
        );
      }
      i++;
      settings.push({ keyword: t.text, value: { syntax: 'conf', text: value.text }, line: t.line });
      // Another keyword and its value may follow on the line; anything else there is more of this value.
      const extra = tokens[i];
      if (extra === undefined || extra.line !== t.line || extra.kind === '}') continue;
      const after = tokens[i + 1];
      if (extra.kind !== 'word' || after === undefined || after.line !== t.line || after.kind === '}') {
        throw new ConfigError(
          file,
          extra.line,
          `unexpected ${describeToken(extra)} after the value of ${quote(t.text)} (one value per keyword; quote a value that has spaces)`,
        );
      }
    }
  };

  /** The entries of a list section (`devices { device { ... } ... }`), up to and including its `}`. */
  const list = (section: ListSection, start: ConfToken): void => {
    const entryName = ENTRY_NAMES[section];
    for (;;) {
      const t = tokens[i++];
      if (t === undefined) throw unclosed(section, start);
      if (t.kind === '}') return;
      if (t.kind === 'word' && t.text === entryName) {
        open(t);
        raw[section].push(entry(`${section}/${entryName}`, t));
      } else if (t.kind === 'word') {
        const opens = tokens[i]?.kind === '{' && tokens[i]?.line === t.line;
        throw new ConfigError(
          file,
          t.line,
          `unknown ${opens ? 'section' : 'keyword'} ${quote(t.text)} in ${section} (known: ${entryName}); ` +
            `'${section}' holds '${entryName} { ... }' entries`,
        );
      } else {
        throw new ConfigError(file, t.line, `expected '${entryName} {' in ${section}, found ${describeToken(t)}`);
      }
    }
  };

  while (i < tokens.length) {
    const t = tokens[i++]!;
    if (t.kind === '}') throw new ConfigError(file, t.line, "unbalanced '}': no section is open");
    if (t.kind !== 'word') throw new ConfigError(file, t.line, `expected a section name, found ${describeToken(t)}`);
    const section = topSection(t.text, t.line, seen, file);
    open(t);
    if (isListSection(section)) list(section, t);
    else raw.defaults = entry(section, t);
  }
  return raw;
}
