import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../host/daemon/config/config-error.js';
import { loadConfig, parseConfig } from '../../host/daemon/config/daemon-config.js';
import { BUILT_CHECKERS, runPathcheckd, tempDir } from '../helpers/daemon-process.js';

/** The ConfigError parsing `text` as `file` throws. */
function failure(text: string, file: string): ConfigError {
  try {
    parseConfig(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** Lines joined: the cases below read like the files they stand for. */
const lines = (...l: string[]) => l.join('\n');

const DEFAULTS_KNOWN = 'polling_interval, max_polling_interval, checker_timeout, path_checker, verbosity, checker_dir, workers, scenario_file';
const SECTIONS_KNOWN = 'defaults, devices, checkers, paths, targets';

describe('ConfigError', () => {
  it('carries file, line and detail, and formats FILE:LINE: detail (FILE: detail when the line is unknown)', () => {
    const e = new ConfigError('demo.conf', 12, "unknown keyword 'x'");
    expect([e.name, e.file, e.line, e.detail, e.message]).toEqual(['ConfigError', 'demo.conf', 12, "unknown keyword 'x'", "demo.conf:12: unknown keyword 'x'"]);
    expect(new ConfigError('demo.conf', 0, 'cannot read').message).toBe('demo.conf: cannot read');
    expect(e).toBeInstanceOf(Error);
  });
});

describe('multipath.conf errors', () => {
  const cases: [string, string, string][] = [
    [
      'unknown keyword in defaults',
      lines('# demo', 'defaults {', '    poling_interval 5', '}'),
      `demo.conf:3: unknown keyword 'poling_interval' in defaults (known: ${DEFAULTS_KNOWN})`,
    ],
    [
      'keywords are case-sensitive',
      lines('defaults {', '    Polling_Interval 5', '}'),
      `demo.conf:2: unknown keyword 'Polling_Interval' in defaults (known: ${DEFAULTS_KNOWN})`,
    ],
    [
      'unknown keyword in a device',
      lines('devices {', '  device {', '    vendor X', '    product Y', '    path_selector "round-robin 0"', '  }', '}'),
      "demo.conf:5: unknown keyword 'path_selector' in devices/device (known: vendor, product, path_checker)",
    ],
    [
      'unknown keyword in a checker pin',
      lines('checkers {', '  checker {', '    name tur', '    file tur.wasm', '  }', '}'),
      "demo.conf:4: unknown keyword 'file' in checkers/checker (known: name, path, sha256)",
    ],
    [
      'unknown keyword in a path',
      lines('paths {', '  path {', '    device sim:ok', '    path_checker tur', '  }', '}'),
      "demo.conf:4: unknown keyword 'path_checker' in paths/path (known: device, checker, vendor, product, wwid)",
    ],
    ['unknown section', lines('', 'default {', '}'), `demo.conf:2: unknown section 'default' (known: ${SECTIONS_KNOWN})`],
    ['sections are case-sensitive', 'Defaults {\n}', `demo.conf:1: unknown section 'Defaults' (known: ${SECTIONS_KNOWN})`],
    [
      'an entry outside its list section',
      'device {\n}',
      `demo.conf:1: unknown section 'device' (known: ${SECTIONS_KNOWN}); 'device' entries go inside 'devices { }'`,
    ],
    ['a keyword at the top level', 'polling_interval 5', `demo.conf:1: unknown section 'polling_interval' (known: ${SECTIONS_KNOWN})`],
    ['multipaths', lines('defaults {', '}', 'multipaths {', '}'), "demo.conf:3: section 'multipaths' is not supported by pathcheck"],
    ['blacklist', 'blacklist {\n devnode "^sda"\n}', "demo.conf:1: section 'blacklist' is not supported by pathcheck"],
    ['blacklist_exceptions', 'blacklist_exceptions {\n}', "demo.conf:1: section 'blacklist_exceptions' is not supported by pathcheck"],
    ['overrides', 'overrides {\n}', "demo.conf:1: section 'overrides' is not supported by pathcheck"],
    [
      'an unknown section inside devices',
      lines('devices {', '  multipath {', '  }', '}'),
      "demo.conf:2: unknown section 'multipath' in devices (known: device); 'devices' holds 'device { ... }' entries",
    ],
    [
      'a keyword directly inside devices',
      lines('devices {', '  vendor "ACME"', '}'),
      "demo.conf:2: unknown keyword 'vendor' in devices (known: device); 'devices' holds 'device { ... }' entries",
    ],
    [
      'a section inside defaults (a forgotten })',
      lines('defaults {', '  polling_interval 5', 'devices {', '}'),
      "demo.conf:3: unexpected section 'devices' in defaults: sections do not nest here (is the '}' of 'defaults' at line 1 missing?)",
    ],
    [
      'a missing value',
      lines('defaults {', '  polling_interval', '  checker_timeout 5', '}'),
      "demo.conf:2: keyword 'polling_interval' in defaults: missing value (expected an integer from 1 to 3600)",
    ],
    [
      'a missing value before }',
      'defaults {\n  path_checker }',
      `demo.conf:2: keyword 'path_checker' in defaults: missing value (expected a checker name (matching ^[a-z0-9][a-z0-9_-]{0,31}$))`,
    ],
    [
      'a value that is not a number',
      'defaults {\n  polling_interval five\n}',
      "demo.conf:2: keyword 'polling_interval' in defaults: expected an integer from 1 to 3600, found 'five'",
    ],
    [
      'a fraction',
      'defaults {\n  checker_timeout 1.5\n}',
      "demo.conf:2: keyword 'checker_timeout' in defaults: expected an integer from 1 to 3600, found '1.5'",
    ],
    [
      'polling_interval 0',
      'defaults {\n  polling_interval 0\n}',
      "demo.conf:2: keyword 'polling_interval' in defaults: expected an integer from 1 to 3600, found '0'",
    ],
    [
      'checker_timeout too large',
      'defaults {\n  checker_timeout 3601\n}',
      "demo.conf:2: keyword 'checker_timeout' in defaults: expected an integer from 1 to 3600, found '3601'",
    ],
    ['verbosity 7', 'defaults {\n  verbosity 7\n}', "demo.conf:2: keyword 'verbosity' in defaults: expected an integer from 0 to 6, found '7'"],
    ['workers 0', 'defaults {\n  workers 0\n}', "demo.conf:2: keyword 'workers' in defaults: expected an integer from 1 to 64, found '0'"],
    ['workers 65', 'defaults {\n  workers 65\n}', "demo.conf:2: keyword 'workers' in defaults: expected an integer from 1 to 64, found '65'"],
    [
      'max_polling_interval below polling_interval',
      lines('defaults {', '  max_polling_interval 4', '  polling_interval 5', '}'),
      "demo.conf:2: keyword 'max_polling_interval' in defaults: 4 is less than polling_interval (5)",
    ],
    [
      'an empty checker_dir',
      'defaults {\n  checker_dir ""\n}',
      `demo.conf:2: keyword 'checker_dir' in defaults: expected a non-empty string, found ''`,
    ],
    [
      'a checker name with capitals',
      'defaults {\n  path_checker TUR\n}',
      "demo.conf:2: keyword 'path_checker' in defaults: expected a checker name (matching ^[a-z0-9][a-z0-9_-]{0,31}$), found 'TUR'",
    ],
    [
      'a checker name that is a path',
      'paths {\n path {\n  device sim:ok\n  checker ./tur.wasm\n }\n}',
      "demo.conf:4: keyword 'checker' in paths/path: expected a checker name (matching ^[a-z0-9][a-z0-9_-]{0,31}$), found './tur.wasm'",
    ],
    [
      'a checker name of 33 characters',
      `checkers {\n checker {\n  name ${'a'.repeat(33)}\n  path x.wasm\n }\n}`,
      `demo.conf:3: keyword 'name' in checkers/checker: expected a checker name (matching ^[a-z0-9][a-z0-9_-]{0,31}$), found '${'a'.repeat(33)}'`,
    ],
    [
      'a regular expression that does not compile',
      lines('devices {', '  device {', '    vendor "ACME"', '    product "SIM (ok"', '    path_checker tur', '  }', '}'),
      "demo.conf:4: keyword 'product' in devices/device: expected a regular expression, found 'SIM (ok' (unmatched '(')",
    ],
    [
      'a bad sha256',
      lines('checkers {', '  checker {', '    name tur', '    path tur.wasm', '    sha256 "abc"', '  }', '}'),
      "demo.conf:5: keyword 'sha256' in checkers/checker: expected a sha256 digest (64 hex digits), found 'abc'",
    ],
    [
      'a duplicate keyword',
      lines('defaults {', '  polling_interval 5', '  verbosity 3', '  polling_interval 6', '}'),
      "demo.conf:4: duplicate keyword 'polling_interval' in defaults (first at line 2)",
    ],
    [
      'a duplicate keyword in a path',
      lines('paths {', '  path {', '    device sim:ok', '    device sim:down', '  }', '}'),
      "demo.conf:4: duplicate keyword 'device' in paths/path (first at line 3)",
    ],
    ['a duplicate section', lines('defaults {', '}', 'defaults {', '}'), "demo.conf:3: duplicate section 'defaults' (first at line 1)"],
    ['an unbalanced }', lines('defaults {', '  verbosity 3', '}', '}'), "demo.conf:4: unbalanced '}': no section is open"],
    ['a section never closed', lines('# x', 'defaults {', '  verbosity 3', ''), "demo.conf:2: section 'defaults' is not closed: missing '}'"],
    [
      'a list section never closed',
      lines('paths {', '  path {', '    device sim:ok', '  }', ''),
      "demo.conf:1: section 'paths' is not closed: missing '}'",
    ],
    [
      'an entry never closed at the end of the file',
      lines('paths {', '  path {', '    device sim:ok'),
      "demo.conf:2: section 'paths/path' is not closed: missing '}'",
    ],
    [
      'an unterminated string',
      lines('paths {', '  path {', '    device "sim:ok', '  }', '}'),
      'demo.conf:3: unterminated string: a quoted value must end on the line it starts on',
    ],
    ['an unterminated string at the end of the file', 'defaults {\n  checker_dir "x', 'demo.conf:2: unterminated string: a quoted value must end on the line it starts on'],
    ["'{' on the next line", lines('defaults', '{', '}'), "demo.conf:1: expected '{' after 'defaults' on the same line"],
    ['no { at all', 'paths sim:ok', "demo.conf:1: expected '{' after 'paths' on the same line, found 'sim:ok'"],
    [
      'an entry without {',
      lines('paths {', '  path', '}'),
      "demo.conf:2: expected '{' after 'path' on the same line",
    ],
    [
      'two values on a line',
      'defaults {\n  polling_interval 5 10\n}',
      "demo.conf:2: unexpected '10' after the value of 'polling_interval' (one value per keyword; quote a value that has spaces)",
    ],
    [
      'an unquoted value with a space',
      lines('paths {', '  path {', '    device sim:ok', '    product SIM ok', '  }', '}'),
      "demo.conf:4: unexpected 'ok' after the value of 'product' (one value per keyword; quote a value that has spaces)",
    ],
    ['a quoted keyword', 'defaults {\n  "verbosity" 3\n}', "demo.conf:2: expected a keyword in defaults, found quoted string 'verbosity'"],
    ['a stray {', 'defaults {\n  {\n}', "demo.conf:2: expected a keyword in defaults, found '{'"],
    ['a stray string at the top', '"defaults" {\n}', "demo.conf:1: expected a section name, found quoted string 'defaults'"],
    [
      'a path without device',
      lines('paths {', '  path {', '    checker tur', '  }', '}'),
      "demo.conf:2: missing keyword 'device' in paths/path (required: device)",
    ],
    [
      'a device entry without path_checker',
      lines('devices {', '  device {', '    vendor "ACME"', '    product ".*"', '  }', '}'),
      "demo.conf:2: missing keyword 'path_checker' in devices/device (required: vendor, product, path_checker)",
    ],
    [
      'a checker pin without path',
      lines('checkers {', '  checker {', '    name tur', '  }', '}'),
      "demo.conf:2: missing keyword 'path' in checkers/checker (required: name, path)",
    ],
    [
      'a duplicate path device spec',
      lines('paths {', '  path {', '    device "sim:ok?id=a"', '  }', '  path {', '    checker none', '    device "sim:ok?id=a"', '  }', '}'),
      "demo.conf:7: duplicate path device 'sim:ok?id=a' in paths/path (first at line 3)",
    ],
    [
      'a duplicate checker pin',
      lines('checkers {', '  checker {', '    name tur', '    path a.wasm', '  }', '  checker {', '    name tur', '    path b.wasm', '  }', '}'),
      "demo.conf:7: duplicate checker 'tur' in checkers/checker (first at line 3)",
    ],
    [
      'control characters in a name are shown escaped',
      'defaults {\n  poll\x01ing 5\n}',
      `demo.conf:2: unknown keyword 'poll\\x01ing' in defaults (known: ${DEFAULTS_KNOWN})`,
    ],
  ];

  it.each(cases)('%s', (_, text, message) => {
    const e = failure(text, 'demo.conf');
    expect(e.message).toBe(message);
    expect(e.file).toBe('demo.conf');
    expect(e.line).toBe(Number(/^demo\.conf:(\d+):/.exec(message)![1]));
    expect(e.message).not.toContain('\n');
  });

  it('the file is named as given', () => {
    expect(failure('foo {\n}', 'config/pathcheck.conf').message).toBe(`config/pathcheck.conf:1: unknown section 'foo' (known: ${SECTIONS_KNOWN})`);
  });
});

describe('JSON errors', () => {
  const cases: [string, string, string][] = [
    ['a trailing comma', '{"defaults": {"verbosity": 3,}}', "example.json:1: invalid JSON: expected a quoted key, found '}'"],
    ['a missing comma', lines('{', '  "defaults": {', '    "verbosity": 3', '    "workers": 2', '  }', '}'), "example.json:4: invalid JSON: expected ',' or '}' after the value of 'verbosity', found '\"'"],
    ['a missing colon', '{"defaults" {}}', "example.json:1: invalid JSON: expected ':' after the key 'defaults', found '{'"],
    ['a bare word', '{"defaults": {"path_checker": tur}}', "example.json:1: invalid JSON: expected a value, found 'tur'"],
    ['an unterminated string', lines('{', '  "paths": [', '    {"device": "sim:ok}', '  ]', '}'), 'example.json:3: invalid JSON: bad string: unterminated, or a raw control character or a bad escape in it'],
    ['a list not closed', lines('{', '  "paths": [', '    {"device": "sim:ok"}', '}'), "example.json:4: invalid JSON: expected ',' or ']' after a list item, found '}'"],
    ['the end of the file', '{"defaults": {', "example.json:1: invalid JSON: expected a quoted key, found the end of the file"],
    ['text after the document', '{}\n{}', "example.json:2: invalid JSON: unexpected '{' after the end of the document"],
    ['a comment', '{\n  // no comments in JSON\n}', "example.json:2: invalid JSON: expected a quoted key, found '/'"],
    [
      'an unknown keyword',
      lines('{', '  "defaults": {', '    "poling_interval": 5', '  }', '}'),
      `example.json:3: unknown keyword 'poling_interval' in $.defaults (known: ${DEFAULTS_KNOWN})`,
    ],
    ['an unknown section', '{\n  "default": {}\n}', `example.json:2: unknown section 'default' (known: ${SECTIONS_KNOWN})`],
    ['an unsupported section', '{"multipaths": []}', "example.json:1: section 'multipaths' is not supported by pathcheck"],
    [
      'a number as a string',
      lines('{', '  "defaults": {', '    "polling_interval": "5"', '  }', '}'),
      `example.json:3: keyword 'polling_interval' in $.defaults: expected an integer from 1 to 3600, found the string "5"`,
    ],
    ['a fraction', '{"defaults": {"checker_timeout": 2.5}}', "example.json:1: keyword 'checker_timeout' in $.defaults: expected an integer from 1 to 3600, found 2.5"],
    ['null', '{"defaults": {"workers": null}}', "example.json:1: keyword 'workers' in $.defaults: expected an integer from 1 to 64, found null"],
    ['a string as a number', '{"paths": [{"device": 5}]}', "example.json:1: keyword 'device' in $.paths[0]: expected a non-empty string, found 5"],
    ['a list as a string', '{"paths": [{"device": ["sim:ok"]}]}', "example.json:1: keyword 'device' in $.paths[0]: expected a non-empty string, found a list"],
    [
      'a regular expression that does not compile',
      '{"devices": [{"vendor": "[", "product": ".*", "path_checker": "none"}]}',
      `example.json:1: keyword 'vendor' in $.devices[0]: expected a regular expression, found the string "[" (unmatched '[')`,
    ],
    [
      "a path's vendor longer than any INQUIRY vendor could be (it is matched against every devices pattern)",
      `{"paths": [{"device": "sim:ok", "vendor": "${'a'.repeat(257)}"}]}`,
      `example.json:1: keyword 'vendor' in $.paths[0]: expected a string of at most 256 characters, found the string "${'a'.repeat(60)}..."`,
    ],
    ['defaults as a list', '{"defaults": []}', 'example.json:1: $.defaults: expected an object of keywords, found a list'],
    ['devices as an object', '{\n  "devices": {"device": {}}\n}', 'example.json:2: $.devices: expected a list of device objects, found an object'],
    ['a path that is not an object', '{"paths": [{"device": "a"},\n "sim:ok"]}', 'example.json:2: $.paths[1]: expected a path object, found the string "sim:ok"'],
    [
      'a path without device',
      lines('{"paths": [', '  {"device": "a"},', '  {"checker": "tur"}', ']}'),
      "example.json:3: missing keyword 'device' in $.paths[1] (required: device)",
    ],
    [
      'a duplicate path device spec',
      lines('{"paths": [', '  {"device": "sim:ok"},', '  {"checker": "none",', '   "device": "sim:ok"}', ']}'),
      "example.json:4: duplicate path device 'sim:ok' in $.paths[1] (first at line 2)",
    ],
    [
      'a duplicate key',
      lines('{', '  "defaults": {', '    "verbosity": 3,', '    "verbosity": 4', '  }', '}'),
      "example.json:4: duplicate keyword 'verbosity' in $.defaults (first at line 3)",
    ],
    ['a duplicate section key', lines('{', '  "paths": [],', '  "paths": []', '}'), "example.json:3: duplicate section 'paths' (first at line 2)"],
    [
      'max_polling_interval below polling_interval',
      '{"defaults": {"polling_interval": 10,\n "max_polling_interval": 9}}',
      "example.json:2: keyword 'max_polling_interval' in $.defaults: 9 is less than polling_interval (10)",
    ],
    ['a bad checker name', '{"defaults": {"path_checker": "Tur"}}', 'example.json:1: keyword \'path_checker\' in $.defaults: expected a checker name (matching ^[a-z0-9][a-z0-9_-]{0,31}$), found the string "Tur"'],
  ];

  it.each(cases)('%s', (_, text, message) => {
    const e = failure(text, 'example.json');
    expect(e.message).toBe(message);
    expect(e.file).toBe('example.json');
    expect(e.line).toBe(Number(/^example\.json:(\d+):/.exec(message)![1]));
    expect(e.message).not.toContain('\n');
  });

  it('nesting is bounded', () => {
    const e = failure(`{"defaults": {"x": ${'['.repeat(100)}${']'.repeat(100)}}}`, 'example.json');
    expect(e.message).toBe('example.json:1: invalid JSON: nested deeper than 64 levels');
  });
});

describe('targets{}: CHAP credentials per iSCSI target (issue 12)', () => {
  const IQN = 'iqn.2026-12.io.example:array1';
  it('parses in both syntaxes; the name is compared lower-cased', () => {
    const conf = parseConfig(`targets {\n    target { name "${IQN.toUpperCase()}" chap_user "u" chap_secret "s3cret" }\n}\n`, 'x.conf');
    const json = parseConfig(JSON.stringify({ targets: [{ name: IQN, chap_user: 'u', chap_secret: 's3cret' }] }), 'x.json');
    for (const c of [conf, json]) expect(c.targets.map(({ name, chap }) => ({ name, chap }))).toEqual([{ name: IQN, chap: { user: 'u', secret: 's3cret' } }]);
  });

  it('refuses with the line; a secret is never echoed, not even a bad one', () => {
    const cases: [string, string][] = [
      [`targets {\n target { name "${IQN}" chap_user "u" }\n}`, "x.conf:2: missing keyword 'chap_secret' in targets/target (required: name, chap_user, chap_secret)"],
      [`targets {\n target { name "array1" chap_user "u" chap_secret "s" }\n}`, "x.conf:2: keyword 'name' in targets/target: expected an iSCSI name (iqn.yyyy-mm.domain[:id], eui.<16 hex> or naa.<16 or 32 hex>), found 'array1'"],
      [`targets {\n target { name "${IQN}" chap_user "u" chap_secret "" }\n}`, "x.conf:2: keyword 'chap_secret' in targets/target: expected a non-empty string, found a value (not shown: it is a secret)"],
      [`targets {\n target { name "${IQN}" chap_user "u" chap_secret "a" }\n target { name "${IQN.toUpperCase()}" chap_user "u" chap_secret "b" }\n}`, `x.conf:3: duplicate target '${IQN}' in targets/target (first at line 2)`],
    ];
    for (const [text, message] of cases) expect(failure(text, 'x.conf').message).toBe(message);
    expect(failure(JSON.stringify({ targets: [{ name: IQN, chap_user: 'u', chap_secret: 12345678 }] }), 'x.json').message).toBe(
      "x.json:1: keyword 'chap_secret' in $.targets[0]: expected a non-empty string, found a value (not shown: it is a secret)",
    );
  });
});

describe('loadConfig errors', () => {
  it('a missing file', async () => {
    const file = join(tmpdir(), 'pathcheck-no-such-config.conf');
    await expect(loadConfig(file)).rejects.toThrow(new ConfigError(file, 0, 'cannot read the config file: no such file'));
    await expect(loadConfig(file)).rejects.toMatchObject({ name: 'ConfigError', file, line: 0, message: `${file}: cannot read the config file: no such file` });
  });

  it('a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pathcheck-config-'));
    await expect(loadConfig(dir)).rejects.toMatchObject({ file: dir, line: 0, message: `${dir}: cannot read the config file: is a directory` });
  });

  it('a file that is not UTF-8 text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pathcheck-config-'));
    const file = join(dir, 'bin.conf');
    await writeFile(file, Uint8Array.of(0x64, 0x65, 0xff, 0xfe, 0x00));
    await expect(loadConfig(file)).rejects.toMatchObject({ line: 0, message: `${file}: cannot read the config file: it is not UTF-8 text` });
  });

  it('a parse error names the file as given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pathcheck-config-'));
    const file = join(dir, 'bad.conf');
    await writeFile(file, 'defaults {\n  polling_interval 0\n}\n');
    await expect(loadConfig(file)).rejects.toMatchObject({
      file,
      line: 2,
      message: `${file}:2: keyword 'polling_interval' in defaults: expected an integer from 1 to 3600, found '0'`,
    });
  });
});

// Errors found only when the daemon starts (a module that cannot be read or fails its pin) name the
// keyword that chose the module, not the first path that uses it.
describe('start-up errors name the offending keyword', () => {
  const dir = tempDir();
  const TUR = join(BUILT_CHECKERS, 'tur.wasm');
  const PIN = '0'.repeat(64);

  /** Run pathcheckd on `text`; expect exit 2 and exactly `line` on stderr. */
  async function refused(name: string, text: string, line: (file: string) => string): Promise<void> {
    const file = join(dir, name);
    await writeFile(file, text);
    const r = await runPathcheckd(['--config', file, '--socket', join(dir, 'never.sock'), '--foreground']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(`pathcheckd: ${line(file)}\n`);
  }

  it('an unknown path_checker: its line', async () => {
    const text = lines(
      '# the device entry names a checker that does not exist',
      'devices {',
      '    device {',
      '        vendor "PATHCHK"',
      '        path_checker nosuch',
      '        product "SIM"',
      '    }',
      '}',
      'paths { path { device "sim:ok" vendor "PATHCHK" product "SIM ok" } }',
    );
    const wasm = join(BUILT_CHECKERS, 'nosuch.wasm');
    await refused('unknown.conf', text, (f) => `${f}:5: checker 'nosuch': cannot read checker module ${wasm}: no such file`);
  }, 30_000);

  it('a missing checker_dir: its line', async () => {
    const text = lines('defaults {', '    checker_dir "no/such/dir"', '}', 'paths {', '    path { device "sim:ok" }', '}');
    const wasm = join(dir, 'no/such/dir/tur.wasm');
    await refused('no-dir.conf', text, (f) => `${f}:2: checker 'tur': cannot read checker module ${wasm}: no such file`);
  }, 30_000);

  it('a sha256 pin the module does not match: the pin\'s line', async () => {
    const text = lines(
      'defaults {',
      '    polling_interval 5',
      '}',
      'paths {',
      '    path {',
      '        device "sim:ok"',
      '        checker tur',
      '    }',
      '}',
      'checkers {',
      '    checker {',
      '        name tur',
      `        path "${TUR}"`,
      '        # pinned to a digest no module has',
      `        sha256 "${PIN}"`,
      '    }',
      '}',
    );
    const sha = createHash('sha256').update(readFileSync(TUR)).digest('hex');
    await refused('pin.conf', text, (f) => `${f}:15: ${TUR}: sha256 ${sha} does not match the pinned ${PIN}`);
  }, 30_000);
});
