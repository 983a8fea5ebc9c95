import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LineReader, encodeError, overlongLineError, parseRequestLine } from '../../host/control/protocol.js';
import { MAX_SOCKET_PATH_BYTES, socketPathProblem } from '../../host/daemon/socket-path.js';
import { MAX_CONFIG_BYTES } from '../../host/daemon/config/daemon-config.js';
import { ControlClient } from '../../host/control/control-client.js';
import {
  DaemonProcess,
  GiveUp,
  PATHCHECKD_BIN,
  confText,
  runPathcheck,
  runPathcheckd,
  sleep,
  stopAllDaemons,
  tempDir,
  waitUntil,
} from '../helpers/daemon-process.js';

// Bad input from the outside: raw bytes on the control socket, bad config files, bad client use.
// The daemon must answer (exact texts from host/control/protocol.ts) or drop the client, and carry on.

const MAX_LINE = 64 * 1024;
const COMMANDS_LIST = 'show paths, show checkers, show stats, show metrics, add path, del path, reconfigure, reload checker, unload checker, fault, shutdown, watch';

/** A raw connection to the control socket: bytes out, response lines in. */
class RawConnection {
  readonly lines: string[] = [];
  closed = false;
  private buffered = '';

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      // Bounded: at most as many iterations as newlines in what was received.
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        this.lines.push(this.buffered.slice(0, nl));
        this.buffered = this.buffered.slice(nl + 1);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  static open(path: string, timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${path} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(s));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** Wait until at least `n` lines (in total) have arrived; bounded. */
  async waitLines(n: number, timeoutMs = 10_000): Promise<string[]> {
    await waitUntil(
      `${n} response lines`,
      () => {
        if (this.lines.length >= n) return true;
        if (this.closed) throw new GiveUp(`connection closed after ${this.lines.length} of ${n} lines`);
        return false;
      },
      timeoutMs,
      10,
    );
    return this.lines.slice(0, n);
  }

  /** Send one line and return the parsed answer that arrives for it. */
  async ask(line: string | Buffer, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const have = this.lines.length;
    await this.write(line);
    const lines = await this.waitLines(have + 1, timeoutMs);
    return JSON.parse(lines[have]!) as Record<string, unknown>;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The error response protocol.ts makes for this request line. */
function expectedFor(line: string | Buffer): Record<string, unknown> {
  const parsed = parseRequestLine(typeof line === 'string' ? line : new Uint8Array(line));
  if (parsed === null || parsed.ok) throw new Error(`not a bad line: ${String(line)}`);
  return JSON.parse(encodeError(parsed.id, parsed.error)) as Record<string, unknown>;
}

/** xorshift32: the same garbage every run. */
function garbage(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    // About one byte in 48 a newline, so the garbage is many lines, a few of them long.
    out[i] = x % 48 === 0 ? 0x0a : (x >>> 8) & 0xff;
  }
  return out;
}

describe('raw bytes on the control socket', () => {
  let d: DaemonProcess;

  beforeAll(async () => {
    d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 5, paths: ['sim:ok?id=a', 'sim:standby?id=b'] } });
    await waitUntil('paths checked', async () => (await d.paths()).every((p) => p.checks >= 1));
  });

  afterAll(async () => {
    await stopAllDaemons();
  });

  /** After the abuse: the daemon answers a fresh client, and keeps checking. */
  async function stillServing(): Promise<void> {
    expect(d.exit).toBeNull();
    const c = await RawConnection.open(d.socket);
    try {
      const first = await c.ask('{"id":"s1","command":"show stats"}\n');
      expect(first).toMatchObject({ id: 's1', ok: true });
      const checks = (first.result as { checks: number }).checks;
      await waitUntil(
        'the checks counter to increase',
        async () => {
          const r = await c.ask(`{"id":"s2","command":"show stats"}\n`);
          return (r.result as { checks: number }).checks > checks;
        },
        15_000,
        250,
      );
    } finally {
      c.destroy();
    }
  }

  it('malformed JSON and invalid requests get the protocol error texts, on the same connection', async () => {
    const c = await RawConnection.open(d.socket);
    const cases: [string | Buffer, Record<string, unknown>][] = [
      ['{"command": "show stats"\n', { id: null, ok: false }],
      ['not json at all\n', { id: null, ok: false }],
      ['{"id": 1, "command": \n', { id: null, ok: false }],
      ['[1, 2, 3]\n', { id: null, ok: false, error: 'request must be a JSON object' }],
      ['"show stats"\n', { id: null, ok: false, error: 'request must be a JSON object' }],
      ['null\n', { id: null, ok: false, error: 'request must be a JSON object' }],
      ['{"id": 7}\n', { id: 7, ok: false, error: "request has no 'command' string" }],
      ['{"id": "x", "command": 42}\n', { id: 'x', ok: false, error: "request has no 'command' string" }],
      ['{"id": 8, "command": "   "}\n', { id: 8, ok: false, error: "request has no 'command' string" }],
      ['{"id": {"a": 1}, "command": "show stats"}\n', { id: null, ok: false, error: "request 'id' must be a string or a safe integer" }],
      ['{"id": true, "command": "show stats"}\n', { id: null, ok: false, error: "request 'id' must be a string or a safe integer" }],
      [Buffer.from([0xff, 0xfe, 0x7b, 0x7d, 0x0a]), { id: null, ok: false, error: 'malformed JSON: invalid UTF-8' }],
      ['{"id": 9, "command": "frobnicate now"}\n', { id: 9, ok: false, error: `unknown command 'frobnicate now' (commands: ${COMMANDS_LIST})` }],
      ['{"id": 10, "command": "show"}\n', { id: 10, ok: false, error: `unknown command 'show' (commands: ${COMMANDS_LIST})` }],
      ['{"id": 11, "command": "del path"}\n', { id: 11, ok: false, error: "del path: 'spec' must be a non-empty string" }],
      ['{"id": 12, "command": "add path", "spec": 5}\n', { id: 12, ok: false, error: "add path: 'spec' must be a non-empty string" }],
    ];
    for (const [line, want] of cases) {
      const got = await c.ask(line);
      expect(got, String(line)).toMatchObject(want);
      expect(Object.keys(got).sort()).toEqual(['error', 'id', 'ok']);
      if (typeof got.error === 'string' && String(got.error).startsWith('malformed JSON') && !Buffer.isBuffer(line)) {
        // The exact text: what protocol.ts makes of this line (JSON.parse's message, made one line).
        expect(got).toEqual(expectedFor(line.slice(0, -1)));
      }
      if (want.error === undefined) expect(got.error).toMatch(/^malformed JSON: \S/);
    }
    // A blank line is not a request: no answer. Spacing inside the verb is normalized.
    const ok = await c.ask('\n   \n{"id": 13, "command": "  show   stats "}\n');
    expect(ok).toMatchObject({ id: 13, ok: true });
    expect(c.lines).toHaveLength(cases.length + 1);
    expect(c.closed).toBe(false);
    c.destroy();
    await stillServing();
  });

  it('a request line over 64 KiB is refused once, the connection carries on; exactly 64 KiB is fine', async () => {
    const c = await RawConnection.open(d.socket);
    const pad = (total: number, id: number): string => {
      const head = `{"id":${id},"command":"show stats","pad":"`;
      const tail = '"}';
      return `${head}${'x'.repeat(total - head.length - tail.length)}${tail}`;
    };
    const exact = pad(MAX_LINE, 1);
    expect(Buffer.byteLength(exact)).toBe(MAX_LINE);
    expect(await c.ask(`${exact}\n`)).toMatchObject({ id: 1, ok: true });

    const over = pad(MAX_LINE + 1, 2);
    expect(await c.ask(`${over}\n`)).toEqual({ id: null, ok: false, error: overlongLineError(MAX_LINE) });
    expect(overlongLineError(MAX_LINE)).toBe('request line longer than 65536 bytes');

    // 1 MiB in 4 KiB writes: one refusal, nothing buffered, then the next request is answered.
    const big = Buffer.alloc(1024 * 1024, 0x61);
    const before = c.lines.length;
    for (let off = 0; off < big.length; off += 4096) await c.write(big.subarray(off, off + 4096));
    await c.write('\n{"id":3,"command":"show stats"}\n');
    const lines = await c.waitLines(before + 2, 15_000);
    expect(JSON.parse(lines[before]!)).toEqual({ id: null, ok: false, error: 'request line longer than 65536 bytes' });
    expect(JSON.parse(lines[before + 1]!)).toMatchObject({ id: 3, ok: true });
    await sleep(100);
    expect(c.lines).toHaveLength(before + 2);
    c.destroy();
    await stillServing();
  });

  it('binary garbage with newlines: each line gets its protocol error (or the client is dropped); the daemon carries on', async () => {
    for (const seed of [1, 0xdecafbad, 12345]) {
      const bytes = garbage(256 * 1024, seed);
      // What protocol.ts says to each line, in order (blank lines get no answer).
      const expected: string[] = [];
      const reader = new LineReader(
        MAX_LINE,
        (line) => {
          const p = parseRequestLine(line);
          if (p === null) return;
          expect(p.ok, 'garbage that parses as a request').toBe(false);
          if (!p.ok) expected.push(encodeError(p.id, p.error).trimEnd());
        },
        () => expected.push(encodeError(null, overlongLineError(MAX_LINE)).trimEnd()),
      );
      reader.feed(Buffer.concat([bytes, Buffer.from('\n')]));
      expect(expected.length).toBeGreaterThan(100);

      const c = await RawConnection.open(d.socket);
      for (let off = 0; off < bytes.length; off += 16 * 1024) await c.write(bytes.subarray(off, off + 16 * 1024)).catch(() => {});
      // End the garbage's last line, then ask something real.
      await c.write('\n{"id":"after","command":"show stats"}\n').catch(() => {});
      await waitUntil('every answer, or a drop', () => c.closed || c.lines.length >= expected.length + 1, 20_000, 20);
      if (!c.closed || c.lines.length >= expected.length + 1) {
        // Answered: every line exactly as protocol.ts words it, then the real request.
        const trailing = c.lines.length - 1 - expected.length; // a blank trailing line gives none
        expect(trailing).toBe(0);
        expect(c.lines.slice(0, expected.length)).toEqual(expected);
        expect(JSON.parse(c.lines.at(-1)!)).toMatchObject({ id: 'after', ok: true });
        for (const l of c.lines) expect(l).not.toMatch(/[\u0000-\u001f]/);
      }
      c.destroy();
    }
    await stillServing();
  }, 90_000);

  it('pipelined requests are answered in order; a client that half-closes still gets its answers', async () => {
    const c = await RawConnection.open(d.socket);
    const n = 200;
    let burst = '';
    for (let i = 0; i < n; i++) burst += `{"id":${i},"command":"${i % 2 === 0 ? 'show stats' : 'show paths'}"}\n`;
    await c.write(burst);
    const lines = await c.waitLines(n, 20_000);
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([...Array(n).keys()]);
    expect(lines.every((l) => (JSON.parse(l) as { ok: boolean }).ok)).toBe(true);
    c.destroy();

    const h = await RawConnection.open(d.socket);
    await h.write('{"id":"a","command":"show checkers"}\n{"id":"b","command":"show metrics"}\n');
    h.end();
    await waitUntil('answers, then the server closes', () => h.closed, 10_000, 20);
    expect(h.lines.map((l) => JSON.parse(l) as { id: string; ok: boolean }).map((m) => [m.id, m.ok])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    await stillServing();
  }, 60_000);

  it('300 connections that connect and vanish (some mid-request) leave the daemon serving', async () => {
    const started = performance.now();
    for (let i = 0; i < 300 && performance.now() - started < 30_000; i++) {
      const c = await RawConnection.open(d.socket);
      if (i % 3 === 1) await c.write('{"id":1,"command":"show pa');
      if (i % 3 === 2) await c.write('{"id":1,"command":"show metrics"}\n');
      c.destroy();
    }
    await stillServing();
    const stats = await d.stats();
    expect(stats.paths).toBe(2);
  }, 60_000);
});

describe('bad configs: pathcheckd exits 2 with one line', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const DEFAULTS_KNOWN = 'polling_interval, max_polling_interval, checker_timeout, path_checker, verbosity, checker_dir, workers, scenario_file';

  /** Run pathcheckd on `config`; expect exit 2 and exactly `line` on stderr, nothing else. */
  async function refused(config: string, line: string | RegExp): Promise<void> {
    const r = await runPathcheckd(['--config', config, '--socket', join(dir, 'never.sock'), '--foreground'], 30_000);
    expect(r.signal, 'pathcheckd was killed at the time bound').toBeNull();
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r.stderr).toHaveLength(1);
    if (typeof line === 'string') expect(lines[0]).toBe(line);
    else expect(lines[0]).toMatch(line);
  }

  const cases: [string, string, (f: string) => string][] = [
    [
      'unknown keyword',
      ['defaults {', '    polling_interval 1', '    poling_interval 5', '}', ''].join('\n'),
      (f) => `pathcheckd: ${f}:3: unknown keyword 'poling_interval' in defaults (known: ${DEFAULTS_KNOWN})`,
    ],
    [
      'bad value',
      ['defaults {', '    polling_interval five', '}', ''].join('\n'),
      (f) => `pathcheckd: ${f}:2: keyword 'polling_interval' in defaults: expected an integer from 1 to 3600, found 'five'`,
    ],
    [
      'value out of range',
      ['# a comment', 'defaults {', '    checker_timeout 0', '}', ''].join('\n'),
      (f) => `pathcheckd: ${f}:3: keyword 'checker_timeout' in defaults: expected an integer from 1 to 3600, found '0'`,
    ],
    ['unknown section', ['', 'default {', '}', ''].join('\n'), (f) => `pathcheckd: ${f}:2: unknown section 'default' (known: defaults, devices, checkers, paths, targets)`],
    ['unbalanced brace', ['defaults {', '}', '}', ''].join('\n'), (f) => `pathcheckd: ${f}:3: unbalanced '}': no section is open`],
    [
      'unknown keyword in a path',
      confText({ paths: ['sim:ok'] }).replace('device "sim:ok"', 'device "sim:ok"\n        path_checker tur'),
      // comment, defaults {, checker_dir, }, paths {, path {, device, path_checker: line 8
      (f) => `pathcheckd: ${f}:8: unknown keyword 'path_checker' in paths/path (known: device, checker, vendor, product, wwid)`,
    ],
    [
      'a JSON config with a string for a number',
      '{"defaults": {"polling_interval": "5"}}\n',
      (f) => `pathcheckd: ${f}:1: keyword 'polling_interval' in $.defaults: expected an integer from 1 to 3600, found the string "5"`,
    ],
  ];
  for (const [name, text, message] of cases) {
    it(name, async () => {
      const f = file(`${name.replace(/\W+/g, '-')}.conf`, text);
      await refused(f, message(f));
    });
  }

  it('missing config file, and a directory for a config file', async () => {
    const missing = join(dir, 'nosuch.conf');
    await refused(missing, `pathcheckd: ${missing}: cannot read the config file: no such file`);
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { recursive: true });
    await refused(sub, `pathcheckd: ${sub}: cannot read the config file: is a directory`);
  });

  it('a config that never ends (/dev/zero) or is over the 8 MiB cap: refused naming the file and the cap', async () => {
    await refused('/dev/zero', 'pathcheckd: /dev/zero: cannot read the config file: larger than the 8 MiB cap');
    const big = file('big.conf', `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    await refused(big, `pathcheckd: ${big}: cannot read the config file: larger than the 8 MiB cap`);
  });

  it('bad usage', async () => {
    const r1 = await runPathcheckd(['--bogus']);
    expect([r1.status, r1.stderr]).toEqual([2, "pathcheckd: Unknown option '--bogus'\n"]);
    const r2 = await runPathcheckd(['extra']);
    expect([r2.status, r2.stderr]).toEqual([2, "pathcheckd: unexpected argument 'extra'\n"]);
    const r3 = await runPathcheckd(['--duration', 'soon']);
    expect([r3.status, r3.stderr]).toEqual([2, "pathcheckd: --duration must be an integer from 1 to 2147483 (s), got 'soon'\n"]);
  });

  it('a socket path that is in use or not a socket: exit 2 naming it; the daemon there is unharmed', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok'] } });
    const conf = file('in-use.conf', confText({ paths: ['sim:ok'] }));
    const r = await runPathcheckd(['--config', conf, '--socket', d.socket, '--foreground']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`pathcheckd: control socket ${d.socket} is in use: a live server answers there`);
    // The first daemon is unharmed.
    expect((await d.stats()).paths).toBe(1);
    expect(existsSync(d.socket)).toBe(true);
    const plain = file('plain-file', 'not a socket');
    const r2 = await runPathcheckd(['--config', conf, '--socket', plain, '--foreground']);
    expect(r2.status, r2.stderr).toBe(2);
    expect(r2.stderr.trimEnd().split('\n').at(-1)).toBe(`pathcheckd: ${plain} exists and is not a socket; not replacing it`);
    await d.stop();
  });

  // Start-up refused at the socket: the daemon must not start (no device checked) and must say one line.
  it('a socket in use: exactly one line on stderr, no device touched', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok'] } });
    const conf = file('in-use-2.conf', confText({ paths: ['sim:ok'] }));
    const r = await runPathcheckd(['--config', conf, '--socket', d.socket, '--foreground']);
    await d.stop();
    expect([r.status, r.stderr]).toEqual([2, `pathcheckd: control socket ${d.socket} is in use: a live server answers there\n`]);
  });

  it('a socket path that is not a socket: exactly one line on stderr', async () => {
    const conf = file('not-socket.conf', confText({ paths: ['sim:ok'] }));
    const plain = file('plain-file-2', 'not a socket');
    const r = await runPathcheckd(['--config', conf, '--socket', plain, '--foreground']);
    expect([r.status, r.stderr]).toEqual([2, `pathcheckd: ${plain} exists and is not a socket; not replacing it\n`]);
  });

  // Regression (fixed in 0e68638): a configured path the daemon cannot use (unknown scenario, a
  // checker with no .wasm) was refused without FILE:LINE, after a "pathcheckd stopped" notice.
  // The line is the path entry's (`path {`) or its `device` line.
  it('a configured path with an unknown sim scenario: FILE:LINE, one line', async () => {
    const text = confText({ paths: ['sim:ok?id=a', 'sim:nosuch?id=b'] });
    const f = file('bad-device.conf', text);
    const lines = text.split('\n');
    const device = lines.indexOf('        device "sim:nosuch?id=b"') + 1;
    expect(lines[device - 2]).toBe('    path {');
    const esc = f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await refused(f, new RegExp(`^pathcheckd: ${esc}:(${device - 1}|${device}): unknown sim scenario 'nosuch' \\(known: ok, `));
  });

  it('a path_checker with no .wasm: FILE:LINE, one line', async () => {
    const text = confText({ paths: ['sim:ok?id=a', { device: 'sim:ok?id=b', checker: 'nosuch' }] });
    const f = file('bad-checker.conf', text);
    const lines = text.split('\n');
    const device = lines.indexOf('        device "sim:ok?id=b"') + 1;
    const esc = f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await refused(f, new RegExp(`^pathcheckd: ${esc}:(${device - 1}|${device}|${device + 1}): checker 'nosuch': cannot read checker module .*/nosuch\\.wasm: no such file$`));
  });
});

describe('the pathcheck client', () => {
  afterEach(async () => {
    await stopAllDaemons();
  });

  it('a daemon that accepts and never answers: the client gives up at its reply timeout, exit 1, one line (issue 11 row 5)', async () => {
    const sock = join(tempDir(), 'mute.sock');
    const mute = net.createServer((c) => c.on('data', () => {}));
    await new Promise<void>((r) => mute.listen(sock, r));
    try {
      const t = performance.now();
      const r = await runPathcheck(['--socket', sock, 'show', 'stats', '--timeout', '300']);
      expect([r.status, r.stderr]).toEqual([1, "pathcheck: no answer to 'show stats' within 300 ms\n"]);
      // The default for show: multipathd's uxsock_timeout, 4 s (before: it waited for good).
      const d = await runPathcheck(['--socket', sock, 'show', 'paths']);
      expect([d.status, d.stderr]).toEqual([1, "pathcheck: no answer to 'show paths' within 4000 ms\n"]);
      expect(performance.now() - t).toBeLessThan(20_000);
      expect((await runPathcheck(['--socket', sock, 'show', 'stats', '--timeout', '0'])).stderr).toMatch(/^pathcheck: .*--timeout/);
    } finally {
      await new Promise((r) => mute.close(r));
    }
  });

  it('show paths with no daemon: exit 1, one line', async () => {
    const dir = tempDir();
    const sock = join(dir, 'nobody.sock');
    const r = await runPathcheck(['--socket', sock, 'show', 'paths']);
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`pathcheck: cannot connect to ${sock}: ENOENT\n`);
  });

  it('show stats on a stale socket (daemon killed): exit 1, one line', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok'] } });
    const sock = d.socket;
    d.signal('SIGKILL');
    await d.waitExit(10_000);
    const r = await runPathcheck(['--socket', sock, 'show', 'stats']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pathcheck: cannot connect to ${sock}: ECONNREFUSED\n`);
    await d.stop();
  });

  it('refusals and bad usage: exit 2, one line', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok?id=a'] } });
    const pc = (...args: string[]) => runPathcheck(['--socket', d.socket, ...args]);
    const cases: [string[], string][] = [
      [['del', 'path', 'nosuch'], 'pathcheck: del path: no path nosuch'],
      [['fault', 'sim:ok?id=zz', 'down'], 'pathcheck: fault: no path sim:ok?id=zz'],
      [['add', 'path', 'sim:ok?id=a'], 'pathcheck: add path: path sim:ok?id=a already exists'],
      [['reload', 'checker', 'none'], "pathcheck: reload checker: checker 'none' is not loaded"],
      [['bogus'], "pathcheck: unknown command 'bogus' (commands: check, checkers, show, add, del, fault, reconfigure, reload, unload, watch, shutdown)"],
      [['show', 'nothing'], "pathcheck: show: expected paths, checkers, stats or metrics, got 'nothing'"],
      [['add', 'path'], 'pathcheck: usage: pathcheck add path <spec>'],
      [['del', 'paths', 'x'], "pathcheck: del: expected 'path', got 'paths'"],
      [['shutdown', 'now'], 'pathcheck: usage: pathcheck shutdown'],
    ];
    for (const [args, line] of cases) {
      const r = await pc(...args);
      expect([args.join(' '), r.status, r.stderr]).toEqual([args.join(' '), 2, `${line}\n`]);
      expect(r.stdout).toBe('');
    }
    // The daemon is fine and still has its one path; a good command works.
    const ok = await pc('add', 'path', 'sim:ok?id=b');
    expect([ok.status, ok.stdout]).toEqual([0, 'ok\n']);
    expect((await d.paths()).map((p) => p.device)).toEqual(['sim:ok?id=a', 'sim:ok?id=b']);
  }, 60_000);
});

describe('--duration: what a timer can hold, or exit 2 (issue 11 row 7)', () => {
  it('refuses a duration past 2^31-1 ms with one line, before creating anything', async () => {
    const dir = tempDir();
    const conf = join(dir, 'pathcheck.conf');
    writeFileSync(conf, confText({ paths: ['sim:ok?id=a'] }));
    for (const value of ['2147484', '9999999', '99999999999999999999999']) {
      const r = await runPathcheckd(['--config', conf, '--socket', join(dir, 'pc.sock'), '--foreground', '--duration', value]);
      expect([value, r.status, r.stderr]).toEqual([value, 2, `pathcheckd: --duration must be an integer from 1 to 2147483 (s), got '${value}'\n`]);
    }
    expect(readdirSync(dir)).toEqual(['pathcheck.conf']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the largest duration is accepted and does not stop the daemon early', async () => {
    const d = await DaemonProcess.start({ config: { paths: ['sim:ok?id=a'] }, args: ['--duration', '2147483'] });
    await sleep(300);
    expect(d.exit).toBeNull();
    expect(d.logged('TimeoutOverflowWarning')).toEqual([]);
    expect((await d.stop()).code).toBe(0);
  }, 30_000);
});

describe('the daemon outlives its log pipe (issue 11 row 9)', () => {
  it('like `2>&1 | head -1`: keeps answering and checking once the reader is gone; a stop removes its socket', async () => {
    const dir = tempDir();
    const conf = join(dir, 'pathcheck.conf');
    const sock = join(dir, 'pc.sock');
    writeFileSync(conf, confText({ pollingInterval: 1, maxPollingInterval: 1, paths: ['sim:ok?id=a'] }));
    const child = spawn(process.execPath, [PATHCHECKD_BIN, '--config', conf, '--socket', sock, '--foreground', '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve) => child.stderr!.once('data', () => resolve()));
      child.stderr!.destroy();
      child.stdout!.destroy();
      const ask = async (): Promise<{ checks: number }> => {
        const c = await ControlClient.connect(sock, { timeoutMs: 1000 });
        try {
          return (await c.request('show stats', {}, { timeoutMs: 2000 })) as { checks: number };
        } finally {
          await c.close();
        }
      };
      const alive = (): void => {
        if (child.exitCode !== null) throw new GiveUp(`pathcheckd exited ${child.exitCode} once its log pipe closed`);
      };
      const first = await waitUntil('the socket to answer', () => (alive(), ask().catch(() => null)), 20_000, 50);
      // Make it log into the closed pipe: a bad config on SIGHUP logs an error (EPIPE on write).
      writeFileSync(conf, 'defaults {\n');
      child.kill('SIGHUP');
      await sleep(300);
      child.kill('SIGHUP');
      await waitUntil('checks to go on', async () => (alive(), (await ask()).checks > first.checks + 1), 15_000, 200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(sock)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('control socket paths are checked up front (issue 11 row 10)', () => {
  let dir: string;
  let conf: string;
  beforeAll(() => {
    dir = tempDir();
    conf = join(dir, 'pathcheck.conf');
    writeFileSync(conf, confText({ paths: ['sim:ok?id=a'] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A path of exactly `bytes` bytes inside `dir`, its name made of a two-byte character and x's. */
  const pathOf = (bytes: number): string => {
    const head = join(dir, 'é');
    return head + 'x'.repeat(bytes - Buffer.byteLength(head));
  };

  it('the limit is counted in bytes of the path as given', () => {
    expect(MAX_SOCKET_PATH_BYTES).toBe(107);
    expect(socketPathProblem(pathOf(107))).toBeNull();
    expect(socketPathProblem(pathOf(108))).toBe(`control socket path is 108 bytes, over the 107-byte Unix socket limit: ${pathOf(108)}`);
  });

  it('pathcheckd: empty, in a missing directory, too long: exit 2, one line, nothing created', async () => {
    const missing = join(dir, 'nosuch', 'pc.sock');
    const cases: [string, string][] = [
      ['', 'pathcheckd: control socket path is empty'],
      [missing, `pathcheckd: cannot create control socket ${missing}: directory ${join(dir, 'nosuch')} does not exist`],
      [pathOf(108), `pathcheckd: control socket path is 108 bytes, over the 107-byte Unix socket limit: ${pathOf(108)}`],
      [pathOf(125), `pathcheckd: control socket path is 125 bytes, over the 107-byte Unix socket limit: ${pathOf(125)}`],
    ];
    for (const [sock, line] of cases) {
      const r = await runPathcheckd(['--config', conf, '--socket', sock, '--foreground']);
      expect([sock, r.status, r.stderr]).toEqual([sock, 2, `${line}\n`]);
    }
    // Reported before the config is read.
    const r = await runPathcheckd(['--config', join(dir, 'nosuch.conf'), '--socket', '', '--foreground']);
    expect([r.status, r.stderr]).toEqual([2, 'pathcheckd: control socket path is empty\n']);
    // No socket, not even at the path the kernel would have truncated a long one to.
    expect(readdirSync(dir)).toEqual(['pathcheck.conf']);
  });

  it('pathcheck --socket: the same one-line errors, nothing created', async () => {
    const missing = join(dir, 'nosuch', 'pc.sock');
    // A path that can never work is bad usage (2); a missing directory may yet appear, like a daemon (1).
    const cases: [string, string, number][] = [
      ['', 'pathcheck: control socket path is empty', 2],
      [missing, `pathcheck: cannot connect to ${missing}: directory ${join(dir, 'nosuch')} does not exist`, 1],
      [pathOf(110), `pathcheck: control socket path is 110 bytes, over the 107-byte Unix socket limit: ${pathOf(110)}`, 2],
    ];
    for (const [sock, line, status] of cases) {
      for (const verb of [['show', 'stats'], ['watch']]) {
        const r = await runPathcheck(['--socket', sock, ...verb]);
        expect([sock, verb, r.stderr, r.status]).toEqual([sock, verb, `${line}\n`, status]);
      }
    }
    expect(readdirSync(dir)).toEqual(['pathcheck.conf']);
  });
});

describe('request ids the daemon cannot echo exactly are refused (issue 11 row 14)', () => {
  let d: DaemonProcess;
  beforeAll(async () => {
    d = await DaemonProcess.start({ config: { paths: ['sim:ok?id=a'] } });
  });
  afterAll(async () => {
    await stopAllDaemons();
  });

  it('1e400, 2^64 and a 30-digit number get an error naming them and a null id; strings and 2^53-1 are echoed', async () => {
    const c = await RawConnection.open(d.socket);
    const rule = "request 'id' must be a string or a safe integer (at most 2^53-1 in magnitude); got a number read as";
    expect(await c.ask('{"id": 1e400, "command": "show stats"}\n')).toEqual({ id: null, ok: false, error: `${rule} Infinity` });
    expect(await c.ask('{"id": 18446744073709551616, "command": "show stats"}\n')).toEqual({ id: null, ok: false, error: `${rule} 18446744073709552000` });
    expect(await c.ask('{"id": 123456789012345678901234567890, "command": "show stats"}\n')).toEqual({
      id: null,
      ok: false,
      error: `${rule} 1.2345678901234568e+29`,
    });
    expect(await c.ask('{"id": 9007199254740991, "command": "show stats"}\n')).toMatchObject({ id: 9007199254740991, ok: true });
    expect(await c.ask('{"id": "18446744073709551616", "command": "show stats"}\n')).toMatchObject({ id: '18446744073709551616', ok: true });
    c.destroy();
  });
});
