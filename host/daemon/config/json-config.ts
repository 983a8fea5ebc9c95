import { ConfigError } from './config-error.js';
import { describeJson, plainJson, readJson, type JsonNode } from './json-reader.js';
import { emptyRawConfig, ENTRY_NAMES, isListSection, topSection, type RawConfig, type RawEntry } from './raw-config.js';

/**
 * The JSON form of the config, with multipath.conf's section and keyword names:
 * `{"defaults": {"polling_interval": 5, ...}, "devices": [{"vendor": ..., "product": ..., "path_checker": ...}],
 *   "checkers": [{"name": ..., "path": ...}], "paths": [{"device": ..., "checker": ...}]}`.
 * This reads the structure only; what the keywords mean is checked for both syntaxes in daemon-config.ts.
 * Messages name the JSON path (`$.devices[0]`) and the line of the key or object.
 */
export function parseJsonText(text: string, file: string): RawConfig {
  const root = readJson(text, file);
  if (root.kind !== 'object') {
    throw new ConfigError(file, root.line, `$: expected an object of sections, found ${describeJson(plainJson(root))}`);
  }
  const raw = emptyRawConfig();
  const seen = new Map<string, number>();

  const entry = (where: string, node: JsonNode, what: string): RawEntry => {
    if (node.kind !== 'object') {
      throw new ConfigError(file, node.line, `${where}: expected ${what}, found ${describeJson(plainJson(node))}`);
    }
    const settings = node.members.map((m) => ({ keyword: m.key, line: m.line, value: { syntax: 'json' as const, value: plainJson(m.value) } }));
    return { where, line: node.line, settings };
  };

  for (const member of root.members) {
    const section = topSection(member.key, member.line, seen, file);
    const where = `$.${section}`;
    if (!isListSection(section)) {
      raw.defaults = entry(where, member.value, 'an object of keywords');
      continue;
    }
    const list = member.value;
    const entryName = ENTRY_NAMES[section];
    if (list.kind !== 'array') {
      throw new ConfigError(file, list.line, `${where}: expected a list of ${entryName} objects, found ${describeJson(plainJson(list))}`);
    }
    list.items.forEach((item, k) => raw[section].push(entry(`${where}[${k}]`, item, `a ${entryName} object`)));
  }
  return raw;
}
