import { createConnection, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlClient } from '../../host/control/control-client.js';
import { DaemonProcess, waitUntil, type PathRow } from '../helpers/daemon-process.js';
import { HEALTHY, quantile } from '../helpers/responsive.js';
import { FULL_RUN, runFuzz, testTimeout, type FuzzOptions } from './fuzz-params.js';

/**
 * The daemon under a fuzzed client stream (issue 11, "Fuzzing"): a real pathcheckd, a raw socket writing
 * fuzzed bytes (broken JSON, huge numbers, deep nesting, unknown commands, wrong argument types, partial
 * and over-long lines, NUL bytes, random disconnects), and a second, well-behaved client that keeps
 * asking `show paths` the whole time. Each answer's latency is measured; the daemon's checks go on and
 * its healthy paths stay `up`.
 */

/** Stream items per property run (a case each), written back to back on the raw socket(s). */
const BATCH = 50;
const RUN: FuzzOptions = { slice: 1000, perRun: BATCH, budgetMs: 480_000, runTimeoutMs: 60_000 };
/** The bound on `show paths` while the stream runs. */
const PROMPT_MS = 100;
/** A latency past this is a daemon that stopped answering, not scheduling noise on a shared machine. */
const STALLED_MS = 2000;

// ---------------------------------------------------------------- the stream

/** Verbs, real ones included; never `shutdown`, and no argument below names a configured path or a built checker. */
const VERBS = [
  'show paths', 'show checkers', 'show stats', 'show metrics', 'add path', 'del path', 'reconfigure', 'reload checker',
  'unload checker', 'fault', 'watch', 'show', 'SHOW PATHS', '  show   stats ', 'bogus', '', 'show paths extra',
];
const PROTECTED = new Set<unknown>([...HEALTHY, 'tur', 'none']);
const argValue = fc
  .oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('sim:', 'sim:nope', 'sim:ok?blocks=0', 'fz-path', '', 'x'.repeat(5000)))
  .filter((v) => !PROTECTED.has(v));
const request = fc
  .record({
    id: fc.oneof(fc.integer(), fc.string(), fc.constantFrom(null, 1e300, -0, 2 ** 64, true, {}, [])),
    command: fc.oneof(fc.constantFrom(...VERBS), argValue),
    spec: argValue,
    name: argValue,
    scenario: argValue,
    checker: argValue,
  }, { requiredKeys: ['command'] })
  .map((r) => JSON.stringify(r));

const TOKENS = ['{', '}', '[', ']', '"', ':', ',', '"command"', '"show paths"', '"id"', '1e999999', '-1e999999', '123456789012345678901234567890', 'null', '\\', '\u0000', '\r', ' ', 'é', '\uD800'];

/** One item of the stream: bytes to write (a line, part of one, or garbage), or a disconnect. */
type Item = { readonly kind: 'bytes'; readonly bytes: Buffer } | { readonly kind: 'disconnect' | 'end' };
const line = (s: string) => Buffer.from(`${s}\n`);
const item: fc.Arbitrary<Item> = fc.oneof(
  { arbitrary: request.map((s) => ({ kind: 'bytes' as const, bytes: line(s) })), weight: 6 },
  // Broken JSON: a request cut anywhere, with or without its newline.
  fc.tuple(request, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()).map(([s, cut, nl]) => ({ kind: 'bytes' as const, bytes: Buffer.from(`${s.slice(0, Math.floor(s.length * cut))}${nl ? '\n' : ''}`) })),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }).map((t) => ({ kind: 'bytes' as const, bytes: line(t.join('')) })),
  // Deep nesting, up to past the line limit.
  fc.tuple(fc.integer({ min: 1, max: 40_000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => ({ kind: 'bytes' as const, bytes: line(`{"command":"show paths","x":${open.repeat(n)}`) })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ kind: 'bytes' as const, bytes: Buffer.from(b) })),
  fc.constantFrom<Item>({ kind: 'bytes', bytes: Buffer.alloc(70 * 1024, 0x41) }, { kind: 'bytes', bytes: Buffer.from('\n\n\r\n') }, { kind: 'bytes', bytes: Buffer.alloc(64, 0) }),
  { arbitrary: fc.constantFrom<Item>({ kind: 'disconnect' }, { kind: 'end' }), weight: 1 },
);

/** A raw connection whose answers are read and dropped; once connected, its errors are ignored (the daemon may drop a connection it finds abusive). */
function rawConnection(socket: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket, () => {
      s.off('error', reject).on('error', () => {});
      resolve(s);
    });
    s.on('data', () => {});
    s.on('error', reject);
  });
}

/** Write `items` in order; a disconnect (or an end) closes the connection and the next bytes go on a new one. */
async function play(socket: string, items: readonly Item[]): Promise<void> {
  let s: Socket | null = null;
  for (const it of items) {
    if (it.kind !== 'bytes') {
      if (it.kind === 'end') s?.end();
      else s?.destroy();
      s = null;
      continue;
    }
    s ??= await rawConnection(socket);
    const ok = s.write(it.bytes);
    if (!ok) await new Promise<void>((r) => (s!.destroyed ? r() : s!.once('drain', r).once('close', r)));
  }
  if (s === null) return;
  // Half-close and wait (bounded) for the daemon to finish with the batch and close: the stream is paced
  // by the daemon, not by how fast this side can write.
  const last = s;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => (last.destroy(), resolve()), 5000);
    last.once('close', () => (clearTimeout(timer), resolve()));
    last.end();
  });
}

// ---------------------------------------------------------------- the well-behaved client

interface Sampler {
  readonly latencies: number[];
  /** Healthy paths seen in another state than up: `<device>: <state>: <message>`. */
  readonly notUp: string[];
  stop(): Promise<void>;
}

/** `show paths` on a connection of its own, one after another (10 ms apart), until stopped. */
function sample(client: ControlClient): Sampler {
  const latencies: number[] = [];
  const notUp: string[] = [];
  let running = true;
  const wanted = new Set(HEALTHY);
  const loop = (async () => {
    // Bounded in count as well as by stop(): at most one sample per 10 ms of a 30-minute run.
    for (let i = 0; running && i < 180_000; i++) {
      const t0 = performance.now();
      const rows = (await client.request('show paths', {}, { timeoutMs: 10_000 })) as PathRow[];
      latencies.push(performance.now() - t0);
      for (const r of rows) if (wanted.has(r.device) && r.state !== 'up') notUp.push(`${r.device}: ${r.state}: ${r.message}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    latencies,
    notUp,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

let d: DaemonProcess;
beforeAll(async () => {
  d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, paths: HEALTHY } });
  await waitUntil('every healthy path up', async () => (await d.paths()).filter((p) => p.state === 'up').length === HEALTHY.length, 20_000);
}, 60_000);
afterAll(async () => {
  await d.stop();
});

describe('fuzz: the daemon under a fuzzed client stream', () => {
  it(
    "keeps answering another client's show paths promptly, and keeps its healthy paths checked and up",
    async () => {
      const before = new Map((await d.paths()).map((p) => [p.device, p.checks]));
      const t0 = Date.now();
      const sampler = sample(await d.connect());
      try {
        await runFuzz('daemon stream', fc.asyncProperty(fc.array(item, { minLength: BATCH, maxLength: BATCH }), (items) => play(d.socket, items)), RUN);
        // A slice is short: let at least two polling intervals pass under the sampler.
        if (Date.now() - t0 < 2500) await new Promise((r) => setTimeout(r, 2500 - (Date.now() - t0)));
      } finally {
        await sampler.stop();
      }
      const l = sampler.latencies;
      const stats = { samples: l.length, p50: quantile(l, 0.5), p99: quantile(l, 0.99), max: Math.max(...l) };
      console.log(`fuzz daemon stream: show paths latency ms ${JSON.stringify(Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, Math.round(v * 10) / 10])))}, over ${l.filter((x) => x > PROMPT_MS).length} answers past ${PROMPT_MS} ms`);

      expect(d.exit, `pathcheckd exited: ${d.stderr.slice(-5).join(' | ')}`).toBeNull();
      expect(sampler.notUp).toEqual([]);
      const after = await d.paths();
      for (const device of HEALTHY) {
        const row = after.find((p) => p.device === device);
        expect(row?.state, device).toBe('up');
        expect(row!.checks, `${device} was checked while the stream ran`).toBeGreaterThan(before.get(device)!);
      }
      expect(stats.max, 'a show paths answer that long is a stalled daemon').toBeLessThan(STALLED_MS);
      // The 100 ms, on the p99 of a full run (a slice has too few samples for a p99).
      if (FULL_RUN) expect(stats.p99).toBeLessThan(PROMPT_MS);
    },
    testTimeout(RUN),
  );
});
