import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkerFor } from '../../host/daemon/config/checker-selection.js';
import { lexConf } from '../../host/daemon/config/conf-lexer.js';
import { loadConfig, parseConfig, type DaemonConfig } from '../../host/daemon/config/daemon-config.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DEMO = join(ROOT, 'config', 'demo.conf');
const EXAMPLE = join(ROOT, 'config', 'example.json');

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not found`);
  return i + 1;
}

/** A config without line numbers and with regexes as their sources, for comparing two syntaxes. */
function shape(c: DaemonConfig) {
  return {
    defaults: (({ lines: _, ...rest }) => rest)(c.defaults),
    devices: c.devices.map(({ line: _, lines: __, vendor, product, ...rest }) => ({ vendor: vendor.source, product: product.source, ...rest })),
    checkers: c.checkers.map(({ line: _, lines: __, ...rest }) => rest),
    paths: c.paths.map(({ line: _, lines: __, ...rest }) => rest),
  };
}

describe('config/demo.conf', () => {
  it('is the demo appliance: two controllers x 16 LUNs, polling 1..4 s, timeout 2 s, tur', async () => {
    const text = await readFile(DEMO, 'utf8');
    const c = await loadConfig(DEMO);
    expect(c.file).toBe(DEMO);
    expect(c.defaults).toMatchObject({ pollingInterval: 1, maxPollingInterval: 4, checkerTimeout: 2, pathChecker: 'tur', verbosity: 2 });
    expect('checkerDir' in c.defaults).toBe(false);
    expect('workers' in c.defaults).toBe(false);
    expect(c.checkers).toEqual([]);

    expect(c.devices).toHaveLength(1);
    const [acme] = c.devices;
    expect(acme!.vendor.source).toBe('ACME');
    expect(acme!.product.source).toBe('.*');
    expect(acme!.pathChecker).toBe('none');
    expect(acme!.line).toBe(lineOf(text, 'device {'));

    expect(c.paths).toHaveLength(32);
    const specs = c.paths.map((p) => p.device);
    const expected = [
      ...Array.from({ length: 16 }, (_, l) => `sim:ok?id=ctrlA-lun${String(l).padStart(2, '0')}`),
      ...Array.from({ length: 16 }, (_, l) => `sim:standby?id=ctrlB-lun${String(l).padStart(2, '0')}`),
    ];
    expect(specs).toEqual(expected);
    for (const p of c.paths) {
      expect(p.vendor).toBe('PATHCHK');
      expect(p.product).toBe(p.device.startsWith('sim:ok') ? 'SIM ok' : 'SIM standby');
      expect(p.checker).toBeUndefined();
      expect(p.line).toBe(lineOf(text, `"${p.device}"`) - 1);
      expect(checkerFor(c, p)).toBe('tur');
    }
  });
});

describe('config/example.json', () => {
  it('parses fully, with the line of each entry', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    const c = await loadConfig(EXAMPLE);
    expect(c.file).toBe(EXAMPLE);
    expect(c.defaults).toMatchObject({ pollingInterval: 1, maxPollingInterval: 4, checkerTimeout: 2, pathChecker: 'tur', verbosity: 2 });
    expect(c.devices.map((d) => [d.vendor.source, d.product.source, d.pathChecker])).toEqual([['ACME', '.*', 'none']]);
    expect(c.devices[0]!.line).toBe(lineOf(text, '"devices"') + 1);
    expect(c.checkers).toEqual([]);
    expect(c.paths.map((p) => p.device)).toEqual([
      'sim:ok?id=ctrlA-lun00',
      'sim:ok?id=ctrlA-lun01',
      'sim:standby?id=ctrlB-lun00',
      'sim:standby?id=ctrlB-lun01',
    ]);
    for (const p of c.paths) {
      expect(p.line).toBe(lineOf(text, `"${p.device}"`) - 1);
      expect(checkerFor(c, p)).toBe('tur');
    }
  });

  it('is the JSON equivalent of demo.conf with four of its paths', async () => {
    const conf = shape(await loadConfig(DEMO));
    const json = shape(await loadConfig(EXAMPLE));
    const four = new Set(json.paths.map((p) => p.device));
    expect(json).toEqual({ ...conf, paths: conf.paths.filter((p) => four.has(p.device)) });
  });
});

describe('defaults', () => {
  const all = { pollingInterval: 5, maxPollingInterval: 20, checkerTimeout: 30, pathChecker: 'tur', verbosity: 2 };

  it.each([
    ['an empty multipath.conf', ''],
    ['a multipath.conf of comments', '# nothing here\n! nor here\n'],
    ['an empty defaults section', 'defaults {\n}\n'],
    ['an empty JSON object', '{}'],
    ['an empty JSON defaults object', '{"defaults": {}, "devices": [], "checkers": [], "paths": []}'],
  ])('apply to %s', (_, text) => {
    const c = parseConfig(text, 'x.conf');
    expect(c).toMatchObject({ file: resolve('x.conf'), defaults: all, devices: [], checkers: [], paths: [] });
  });

  it('max_polling_interval defaults to 4 x polling_interval', () => {
    expect(parseConfig('defaults {\n polling_interval 7\n}', 'x.conf').defaults.maxPollingInterval).toBe(28);
    expect(parseConfig('{"defaults": {"polling_interval": 3600}}', 'x.json').defaults.maxPollingInterval).toBe(14400);
    expect(parseConfig('defaults {\n polling_interval 7\n max_polling_interval 7\n}', 'x.conf').defaults.maxPollingInterval).toBe(7);
  });

  it('every keyword set, with checker_dir relative to the config file directory', () => {
    const text = `defaults {
      polling_interval 10
      max_polling_interval 60
      checker_timeout 3
      path_checker none
      verbosity 0
      checker_dir "plugins"
      workers 64
    }`;
    const c = parseConfig(text, '/etc/pathcheck/pathcheck.conf');
    expect(c.file).toBe('/etc/pathcheck/pathcheck.conf');
    expect(c.defaults).toMatchObject({
      pollingInterval: 10,
      maxPollingInterval: 60,
      checkerTimeout: 3,
      pathChecker: 'none',
      verbosity: 0,
      checkerDir: '/etc/pathcheck/plugins',
      workers: 64,
    });
    expect(parseConfig('defaults {\n checker_dir /opt/checkers\n}', '/etc/x.conf').defaults.checkerDir).toBe('/opt/checkers');
    expect(parseConfig('{"defaults": {"checker_dir": "../build"}}', '/srv/app/conf/x.json').defaults.checkerDir).toBe('/srv/app/build');
  });

  it('a relative file name is made absolute', () => {
    expect(parseConfig('', 'config/x.conf').file).toBe(resolve('config/x.conf'));
  });
});

describe('checkers, devices and paths', () => {
  const digest = 'AB'.repeat(32);
  const conf = `checkers {
    checker {
        name   tur
        path   "vendor/tur-v2.wasm"
        sha256 "${digest}"
    }
    checker {
        name   my-ck_1
        path   /opt/ck.wasm
    }
}
devices {
    device {
        vendor       "^NETAPP$"
        product      "LUN.*"
        path_checker tur
    }
}
paths {
    path {
        device  "sim:ok?id=a"
        checker none
        vendor  "NETAPP"
        product "LUN C-Mode"
    }
    path {
        device  sim:down
    }
}
`;
  const json = JSON.stringify({
    checkers: [
      { name: 'tur', path: 'vendor/tur-v2.wasm', sha256: digest },
      { name: 'my-ck_1', path: '/opt/ck.wasm' },
    ],
    devices: [{ vendor: '^NETAPP$', product: 'LUN.*', path_checker: 'tur' }],
    paths: [{ device: 'sim:ok?id=a', checker: 'none', vendor: 'NETAPP', product: 'LUN C-Mode' }, { device: 'sim:down' }],
  });

  it('are read from multipath.conf, pin paths resolved against the config directory', () => {
    const c = parseConfig(conf, '/etc/pc/pathcheck.conf');
    expect(c.checkers).toMatchObject([
      { name: 'tur', path: '/etc/pc/vendor/tur-v2.wasm', sha256: 'ab'.repeat(32), line: 2 },
      { name: 'my-ck_1', path: '/opt/ck.wasm', line: 7 },
    ]);
    expect(c.devices).toMatchObject([{ vendor: /^NETAPP$/, product: /LUN.*/, pathChecker: 'tur', line: 13 }]);
    expect(c.paths).toMatchObject([
      { device: 'sim:ok?id=a', checker: 'none', vendor: 'NETAPP', product: 'LUN C-Mode', line: 20 },
      { device: 'sim:down', line: 26 },
    ]);
  });

  it('are read the same from JSON', () => {
    expect(shape(parseConfig(json, '/etc/pc/pathcheck.json'))).toEqual(shape(parseConfig(conf, '/etc/pc/pathcheck.conf')));
  });

  it('device specs are not validated here: the daemon does that', () => {
    expect(parseConfig('paths {\n path {\n device "nosuch:thing"\n }\n}', 'x.conf').paths[0]!.device).toBe('nosuch:thing');
  });
});

describe('multipath.conf syntax', () => {
  it('lexes words, strings, braces and comments, with lines', () => {
    const tokens = lexConf('defaults { # a comment\n  product "SIM ok" ! another\n\t"a""b" x#y\n}', 'x.conf');
    expect(tokens.map((t) => [t.kind, t.text, t.line])).toEqual([
      ['word', 'defaults', 1],
      ['{', '{', 1],
      ['word', 'product', 2],
      ['string', 'SIM ok', 2],
      ['string', 'a"b', 3],
      ['word', 'x', 3],
      ['}', '}', 4],
    ]);
  });

  it('comments, quoting and layout', () => {
    const text = [
      '# header comment',
      '! bang comment',
      'defaults {   # trailing comment',
      '\tpolling_interval "3"        ! a quoted number is a number, as in multipathd',
      '    checker_dir  "dir with # and ! and { }"',
      '}',
      'paths { path { device "sim:ok?id=""q""" } }',
      'devices {',
      '    device {',
      '        vendor ""',
      '        product "x"   path_checker tur',
      '    }',
      '}',
    ].join('\n');
    const c = parseConfig(text, '/c/x.conf');
    expect(c.defaults.pollingInterval).toBe(3);
    expect(c.defaults.checkerDir).toBe('/c/dir with # and ! and { }');
    expect(c.paths).toMatchObject([{ device: 'sim:ok?id="q"', line: 7 }]);
    expect(c.devices.map((d) => [d.vendor.source, d.product.source, d.pathChecker, d.line])).toEqual([['', 'x', 'tur', 9]]);
  });

  it('a section on one line, several keywords on a line: the same as one keyword per line', () => {
    expect(parseConfig('defaults { polling_interval 3 }', 'x.conf').defaults.pollingInterval).toBe(3);
    const oneLine = parseConfig(
      'devices { device { vendor "X" product "Y" path_checker tur } }\npaths { path { device "sim:ok" checker tur } }',
      'x.conf',
    );
    const multiLine = parseConfig(
      ['devices { device {', 'vendor "X"', 'product "Y"', 'path_checker tur', '} }', 'paths { path {', 'device "sim:ok"', 'checker tur', '} }'].join('\n'),
      'x.conf',
    );
    expect(oneLine.devices.map(({ vendor, product, pathChecker }) => ({ vendor: vendor.source, product: product.source, pathChecker }))).toEqual([{ vendor: 'X', product: 'Y', pathChecker: 'tur' }]);
    expect(multiLine.devices.map(({ vendor, product, pathChecker }) => ({ vendor: vendor.source, product: product.source, pathChecker }))).toEqual([{ vendor: 'X', product: 'Y', pathChecker: 'tur' }]);
    expect(oneLine.paths.map(({ device, checker }) => ({ device, checker }))).toEqual([{ device: 'sim:ok', checker: 'tur' }]);
    expect(multiLine.paths.map(({ device, checker }) => ({ device, checker }))).toEqual([{ device: 'sim:ok', checker: 'tur' }]);
  });

  it('accepts CRLF line ends, a byte-order mark, and a value followed by } on its line', () => {
    const c = parseConfig('\uFEFFdefaults {\r\n  polling_interval 2 }\r\npaths {\r\n  path { device sim:ok }\r\n}\r\n', 'x.conf');
    expect(c.defaults.pollingInterval).toBe(2);
    expect(c.paths).toMatchObject([{ device: 'sim:ok', line: 4 }]);
  });

  it('a comment ends a word, outside quotes, as in libmultipath', () => {
    expect(parseConfig('defaults {\n polling_interval 9#nine\n}', 'x.conf').defaults.pollingInterval).toBe(9);
  });

  it('JSON is picked when the first non-blank character is {', () => {
    expect(parseConfig('\n\n   {"defaults": {"verbosity": 4}}', 'x').defaults.verbosity).toBe(4);
    // a .json name does not make it JSON, nor a .conf name multipath.conf
    expect(parseConfig('defaults {\n verbosity 5\n}', 'x.json').defaults.verbosity).toBe(5);
    expect(parseConfig('{"defaults": {"verbosity": 6}}', 'x.conf').defaults.verbosity).toBe(6);
  });
});

describe('checkerFor', () => {
  const c = parseConfig(
    `defaults { path_checker tur }
devices {
    device {
        vendor  "PATHCHK"
        product "^SIM ok$"
        path_checker none
    }
    device {
        vendor  "PATH"
        product "SIM"
        path_checker directio
    }
    device {
        vendor  ".*"
        product ".*"
        path_checker never-reached-for-sim
    }
}`,
    'x.conf',
  );

  it('a path checker of its own wins over devices{} and defaults', () => {
    expect(checkerFor(c, { checker: 'emc_clariion', vendor: 'PATHCHK', product: 'SIM ok' })).toBe('emc_clariion');
  });

  it('else the first devices{} entry whose vendor and product both match', () => {
    expect(checkerFor(c, { vendor: 'PATHCHK', product: 'SIM ok' })).toBe('none');
    expect(checkerFor(c, { vendor: 'PATHCHK', product: 'SIM standby' })).toBe('directio');
    expect(checkerFor(c, { vendor: 'ACME', product: 'anything' })).toBe('never-reached-for-sim');
  });

  it('matching is unanchored, as multipathd regexec', () => {
    expect(checkerFor(c, { vendor: 'XPATHCHKX', product: 'a SIM b' })).toBe('directio');
    expect(checkerFor(c, { vendor: 'PATHCHK', product: 'SIM ok!' })).toBe('directio');
  });

  it('else defaults.path_checker; an unknown vendor or product matches no device', () => {
    expect(checkerFor(c, {})).toBe('tur');
    expect(checkerFor(c, { vendor: 'PATHCHK' })).toBe('tur');
    expect(checkerFor(c, { product: 'SIM ok' })).toBe('tur');
    const noDevices = parseConfig('', 'x.conf');
    expect(checkerFor(noDevices, { vendor: 'PATHCHK', product: 'SIM ok' })).toBe('tur');
  });

  it('takes configured path entries as they are', () => {
    const cfg = parseConfig('paths {\n path {\n device a\n vendor PATHCHK\n product "SIM ok"\n }\n path {\n device b\n }\n}', 'x.conf');
    const withDevices = { ...cfg, devices: c.devices };
    expect(cfg.paths.map((p) => checkerFor(withDevices, p))).toEqual(['none', 'tur']);
  });
});

describe('loadConfig', () => {
  it('reads a file and parses it, relative paths against its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pathcheck-config-'));
    const file = join(dir, 'pc.conf');
    await writeFile(file, 'checkers {\n checker {\n name tur\n path tur.wasm\n }\n}\n');
    const c = await loadConfig(file);
    expect(c.file).toBe(file);
    expect(c.checkers).toMatchObject([{ name: 'tur', path: join(dir, 'tur.wasm'), line: 2 }]);
  });
});

// README.md shows configs in unlabelled fences that open with a section; each must parse as written.
describe('README.md', () => {
  it('every config block parses', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const fences = [...readme.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)];
    const blocks = fences.filter((m) => m[1] === '' && /^\s*(defaults|devices|checkers|paths)\s*\{/.test(m[2]!)).map((m) => m[2]!);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(() => parseConfig(block, join(ROOT, 'README.md'))).not.toThrow();
  });
});
