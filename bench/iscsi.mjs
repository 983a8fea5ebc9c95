// pathcheck's iSCSI initiator against a local tgtd (bench/tgtd-control.mjs), next to libiscsi, in
// one run (issue 12), against the built dist/:
//   1. round trip, one TEST UNIT READY at a time on LUN 1:
//      - transport: IscsiSession.submit of a TUR, awaited, then the next;
//      - full check: tur.wasm through a CheckHost (2 workers) on an IscsiDevice, runner.check;
//      - libiscsi: iscsi_testunitready_sync in a C loop (bench/peers/tur-loop.c);
//      - the socket floor, no iSCSI: 48 bytes to a C echo server on loopback and back, from a C
//        client and from a Node net.Socket (bench/peers/socket-floor.c): what the runtime alone costs;
//   2. throughput, LUNS LUNs of one target, one session, LUNS commands outstanding, each resent as
//      soon as it completes, counted over a window after a warm-up:
//      - transport: LUNS TURs in flight on one IscsiSession;
//      - full check: LUNS paths' checks through the CheckHost;
//      - libiscsi: iscsi_testunitready_task + poll + iscsi_service.
// The C peer is built now into a temp dir against Debian's libiscsi-dev (cc, -liscsi); no binary
// is kept. The peers take turns over ROUNDS rounds (the order rotating) so the machine's noise falls
// on all of them; samples are pooled over the rounds.
// "client CPU" is the whole client process's (all threads: the pool's workers too), per command.
// Targets (issue 12): p50 <= 1.1x libiscsi's, throughput >= 0.8x libiscsi's, judged on the
// transport (what iscsi_testunitready_sync and the async loop compare with: one initiator's cost);
// the full check (plugin, shim, worker hand-off) is reported against the same targets for reference.
// A benchmark, not a test: it marks targets met / not met and never fails on them. Every loop is
// bounded by a count and by time. Linux only (/proc, tgtd).
// Run with `npm run bench:iscsi` (builds first). `--only latency|throughput` runs one part (for node
// --cpu-prof; no results file then); `--rounds N` (default 5).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CHECKERS_DIR, cpuPercent, cpuReading, fmt, machineInfo, printTable, requireLinux, runLanes, summary, writeResult } from './daemon-harness.mjs';
import { startTgtd } from './tgtd-control.mjs';

const [{ openDevice }, { IscsiSession }, { iscsiSessions, INITIATOR_NAME }, { CheckHost }] = await Promise.all([
  import('../dist/host/backends/device-spec.js'),
  import('../dist/host/backends/iscsi/iscsi-session.js'),
  import('../dist/host/backends/iscsi/iscsi-sessions.js'),
  import('../dist/host/registry/check-host.js'),
]);

const IQN = 'iqn.2026-12.io.pathcheck:bench';
const LUNS = 64;
const WORKERS = 2;
const CHECK_TIMEOUT_MS = 5000;
/** Per peer and round: unmeasured round trips first, then measured ones. */
const LATENCY_WARM = 300;
const LATENCY_COMMANDS = 1000;
const WARM_MS = 500;
const MEASURE_MS = 2000;
/** Bound on one peer's turn in a round, whatever is left of its count. */
const TURN_MAX_MS = 60_000;
/** Bound on commands one throughput lane sends in a turn, whatever the clock says. */
const MAX_PER_LANE = 1_000_000;
const TARGETS = { p50VsLibiscsi: 1.1, throughputVsLibiscsi: 0.8 };
const TUR = Uint8Array.of(0, 0, 0, 0, 0, 0);
const peerSource = (name) => fileURLToPath(new URL(`./peers/${name}.c`, import.meta.url));

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const badUsage = (why) => {
  console.error(`bench/iscsi.mjs: ${why}`);
  process.exit(2);
};
const only = arg('--only');
if (only !== undefined && only !== 'latency' && only !== 'throughput') badUsage(`--only '${only}': expected latency or throughput`);
const ROUNDS = Number(arg('--rounds') ?? 5);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 100)) badUsage(`--rounds '${arg('--rounds')}': expected an integer from 1 to 100`);

function run(bin, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout);
      else reject(new Error(`${bin} ${args.join(' ')}: ${stderr.trim().split('\n')[0] || (err.killed ? `killed after ${timeoutMs} ms` : err.message)}`));
    });
  });
}

async function buildPeer(dir, name, libs) {
  const out = join(dir, name);
  const source = peerSource(name);
  await run('cc', ['-O2', '-o', out, source, ...libs], 60_000).catch((e) => {
    throw new Error(`cannot build ${source}${libs.length > 0 ? ' against libiscsi (needs cc and Debian\'s libiscsi-dev)' : ' (needs cc)'}: ${e.message}`);
  });
  return out;
}

/** The C echo server of the socket floor, on a free loopback port; stop() kills it. */
async function startEcho(bin) {
  const child = spawn(bin, ['echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} echo: no port within 5 s`)), 5000);
    child.once('error', reject);
    child.stdout.once('data', (chunk) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(chunk)).port);
    });
  });
  return { port, stop: () => child.kill('SIGKILL') };
}

/** A Node client of the echo server: `once()` sends 48 bytes and resolves when 48 have come back. */
async function nodePinger(port) {
  const socket = createConnection({ host: '127.0.0.1', port, noDelay: true });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const bhs = Buffer.alloc(48);
  let waiting = 0;
  let resolve = null;
  socket.on('data', (chunk) => {
    waiting -= chunk.length;
    if (waiting <= 0 && resolve !== null) {
      const r = resolve;
      resolve = null;
      r(true);
    }
  });
  return {
    once: () =>
      new Promise((r) => {
        resolve = r;
        waiting = bhs.length;
        socket.write(bhs);
      }),
    close: () => socket.destroy(),
  };
}

const cpuNs = (since) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) * 1000;
};
const good = (o) => o.status === 0 && o.hostStatus === 0;

function tur(session, lun) {
  return new Promise((done) => session.submit({ lun, cdb: TUR, dataInLength: 0, done }));
}

/** `once()` LATENCY_WARM times, then LATENCY_COMMANDS times timed; `once` resolves true when the answer is good. */
async function roundTrips(once) {
  const until = performance.now() + TURN_MAX_MS;
  for (let i = 0; i < LATENCY_WARM && performance.now() < until; i++) await once();
  const ns = [];
  let notGood = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < LATENCY_COMMANDS && performance.now() < until; i++) {
    const t = performance.now();
    const ok = await once();
    ns.push((performance.now() - t) * 1e6);
    if (!ok) notGood++;
  }
  return { ns, notGood, cpuNs: cpuNs(cpu0) };
}

/**
 * LUNS lanes, lane i on LUN 1 + i: each sends, awaits, sends again, until the window ends. Completions
 * in [warm-up end, window end) are counted. CPU (this process's per completion, tgtd's in %) is over
 * the whole turn, warm-up included, as the C peer reports it.
 */
async function lanes(tgtdPid, once) {
  let counted = 0;
  let all = 0;
  let notGood = 0;
  const tgtd0 = cpuReading(tgtdPid);
  const cpu0 = process.cpuUsage();
  const completed = (ok, inWindow) => {
    all++;
    if (!inWindow) return;
    counted++;
    if (!ok) notGood++;
  };
  await runLanes({ lanes: LUNS, warmMs: WARM_MS, measureMs: MEASURE_MS, maxPerLane: MAX_PER_LANE, once, completed });
  return { commands: counted, seconds: MEASURE_MS / 1000, notGood, cpuNsPerCommand: cpuNs(cpu0) / all, tgtdCpuPercent: cpuPercent(tgtd0, cpuReading(tgtdPid)) };
}

async function floorLatency(peer, port) {
  const r = JSON.parse(await run(peer, ['ping', String(port), String(LATENCY_WARM), String(LATENCY_COMMANDS)], TURN_MAX_MS));
  return { ns: r.ns, notGood: r.notGood, cpuNs: r.cpuNs };
}

async function libiscsiLatency(peer, url) {
  const r = JSON.parse(await run(peer, ['sync', url, String(LATENCY_WARM), String(LATENCY_COMMANDS)], TURN_MAX_MS));
  return { ns: r.ns, notGood: r.notGood, cpuNs: r.cpuNs };
}

async function libiscsiThroughput(peer, url, tgtdPid) {
  const t0 = cpuReading(tgtdPid);
  const r = JSON.parse(await run(peer, ['async', url, String(LUNS), String(LUNS), String(WARM_MS), String(MEASURE_MS)], TURN_MAX_MS));
  return { commands: r.commands, seconds: r.seconds, notGood: r.notGood, cpuNsPerCommand: r.cpuNs / r.all, tgtdCpuPercent: cpuPercent(t0, cpuReading(tgtdPid)) };
}

/** Round r runs the peers in an order rotated by r; each peer's turns are returned in order. */
async function rotate(peers) {
  const names = Object.keys(peers);
  const turns = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(r + k) % names.length];
      turns[n].push(await peers[n]());
    }
  }
  return turns;
}

function latencyRow(turns) {
  const all = summary(turns.flatMap((t) => t.ns).map((ns) => ns / 1000));
  const commands = turns.reduce((a, t) => a + t.ns.length, 0);
  return {
    commands,
    p50Us: all.p50,
    p99Us: all.p99,
    meanUs: all.mean,
    maxUs: all.max,
    roundP50Us: turns.map((t) => summary(t.ns).p50 / 1000),
    notGood: turns.reduce((a, t) => a + t.notGood, 0),
    cpuUsPerCommand: turns.reduce((a, t) => a + t.cpuNs, 0) / 1000 / commands,
  };
}

function throughputRow(turns) {
  const seconds = turns.reduce((a, t) => a + t.seconds, 0);
  const commands = turns.reduce((a, t) => a + t.commands, 0);
  return {
    commands,
    seconds,
    perSec: commands / seconds,
    roundPerSec: turns.map((t) => t.commands / t.seconds),
    notGood: turns.reduce((a, t) => a + t.notGood, 0),
    cpuUsPerCommand: summary(turns.map((t) => t.cpuNsPerCommand)).mean / 1000,
    tgtdCpuPercent: summary(turns.map((t) => t.tgtdCpuPercent)).mean,
  };
}

const range = (xs, digits = 0) => `${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)}`;
const verdict = (met) => (met ? 'met' : 'NOT met');

async function main() {
  requireLinux('bench/iscsi.mjs');
  const buildDir = mkdtempSync(join(tmpdir(), 'pcbench-peer-'));
  const out = { ...machineInfo(), target: IQN, luns: LUNS, workers: WORKERS, rounds: ROUNDS, latency: { warm: LATENCY_WARM, commandsPerRound: LATENCY_COMMANDS }, throughput: { warmMs: WARM_MS, measureMs: MEASURE_MS, outstanding: LUNS } };
  let tgtd = null;
  let host = null;
  let session = null;
  let echo = null;
  let pinger = null;
  try {
    const peer = await buildPeer(buildDir, 'tur-loop', ['-liscsi']);
    const floorPeer = await buildPeer(buildDir, 'socket-floor', []);
    echo = await startEcho(floorPeer);
    pinger = await nodePinger(echo.port);
    tgtd = await startTgtd({ iqn: IQN, luns: LUNS });
    const { pid } = tgtd;
    session = new IscsiSession({ host: '127.0.0.1', port: tgtd.port, target: IQN }, { initiatorName: INITIATOR_NAME });
    host = new CheckHost({ size: WORKERS });
    await host.registry.load(join(CHECKERS_DIR, 'tur.wasm'));
    const checkers = [];
    for (let lun = 1; lun <= LUNS; lun++) checkers.push(await host.registry.bind('tur', openDevice(tgtd.url(lun))));
    const check = async (i) => (await host.runner.check(checkers[i], CHECK_TIMEOUT_MS)).state === 'up';

    if (only !== 'throughput') {
      const turns = await rotate({
        libiscsi: () => libiscsiLatency(peer, tgtd.url(1)),
        transport: () => roundTrips(async () => good(await tur(session, 1))),
        full: () => roundTrips(() => check(0)),
        floorC: () => floorLatency(floorPeer, echo.port),
        floorNode: () => roundTrips(pinger.once),
      });
      out.latency = { ...out.latency, ...Object.fromEntries(Object.entries(turns).map(([k, v]) => [k, latencyRow(v)])) };
    }
    if (only !== 'latency') {
      const turns = await rotate({
        libiscsi: () => libiscsiThroughput(peer, tgtd.url(1), pid),
        transport: () => lanes(pid, async (i) => good(await tur(session, 1 + i))),
        full: () => lanes(pid, check),
      });
      out.throughput = { ...out.throughput, ...Object.fromEntries(Object.entries(turns).map(([k, v]) => [k, throughputRow(v)])) };
    }
    for (const c of checkers) host.registry.unbind(c);
  } finally {
    pinger?.close();
    echo?.stop();
    await session?.close();
    await host?.close();
    await iscsiSessions.closeAll();
    await tgtd?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  }

  const targets = [];
  const L = out.latency;
  const T = out.throughput;
  console.log(`pathcheck iSCSI benchmark: tgtd on 127.0.0.1, one target, ${LUNS} LUNs; ${ROUNDS} rounds, peers taking turns; node ${process.version}, ${out.cpus} cores (${out.cpuModel})`);
  if (L.libiscsi !== undefined) {
    console.log('');
    console.log(`round trip, one TEST UNIT READY at a time on LUN 1: ${LATENCY_COMMANDS} per peer and round after ${LATENCY_WARM} unmeasured`);
    const row = (name, r) => [name, fmt(r.p50Us, 1), fmt(r.p99Us, 1), fmt(r.meanUs, 1), range(r.roundP50Us, 1), fmt(r.cpuUsPerCommand, 1), (r.p50Us / L.libiscsi.p50Us).toFixed(2), r.notGood];
    printTable(
      ['what', 'p50 us', 'p99 us', 'mean us', 'round p50s us', 'client CPU us/cmd', 'p50 vs libiscsi', 'not GOOD'],
      [
        row('libiscsi iscsi_testunitready_sync', L.libiscsi),
        row('transport: IscsiSession.submit', L.transport),
        row('full check: tur.wasm via CheckHost', L.full),
        row('floor: C client <-> C echo, 48 B', L.floorC),
        row('floor: Node net.Socket <-> C echo', L.floorNode),
      ],
    );
    // What no initiator written on Node can go under: its runtime's own round trip.
    console.log(
      `socket floor: Node's round trip is ${(L.floorNode.p50Us / L.floorC.p50Us).toFixed(2)}x C's (${fmt(L.floorNode.p50Us, 1)} vs ${fmt(L.floorC.p50Us, 1)} us p50); ` +
        `the transport spends ${fmt(L.transport.p50Us - L.floorNode.p50Us, 1)} us above Node's floor, libiscsi ${fmt(L.libiscsi.p50Us - L.floorC.p50Us, 1)} us above C's`,
    );
    // An initiator that cost nothing in JavaScript: Node's floor plus what libiscsi's round trip adds to C's (tgtd, the PDUs).
    const bound = (L.floorNode.p50Us + L.libiscsi.p50Us - L.floorC.p50Us) / L.libiscsi.p50Us;
    console.log(`the best p50 a Node initiator could reach here: ${bound.toFixed(2)}x libiscsi's (Node's floor + libiscsi's time above C's floor)`);
    out.latency.nodeBoundVsLibiscsi = bound;
    for (const [what, r, judged] of [['transport', L.transport, true], ['full check', L.full, false]]) {
      const ratio = r.p50Us / L.libiscsi.p50Us;
      targets.push({ target: `${what} p50 <= ${TARGETS.p50VsLibiscsi}x libiscsi's`, judged, value: ratio, met: ratio <= TARGETS.p50VsLibiscsi });
    }
  }
  if (T.libiscsi !== undefined) {
    console.log('');
    console.log(`throughput, ${LUNS} LUNs, ${LUNS} commands outstanding on one session: ${WARM_MS} ms warm-up, then ${MEASURE_MS} ms counted, per peer and round`);
    const row = (name, r) => [name, fmt(r.perSec), range(r.roundPerSec), fmt(r.cpuUsPerCommand, 1), fmt(r.tgtdCpuPercent, 0), (r.perSec / T.libiscsi.perSec).toFixed(2), r.notGood];
    printTable(
      ['what', 'commands/s', 'rounds', 'client CPU us/cmd', 'tgtd CPU %', 'vs libiscsi', 'not GOOD'],
      [row('libiscsi iscsi_testunitready_task', T.libiscsi), row('transport: IscsiSession.submit', T.transport), row('full check: tur.wasm via CheckHost', T.full)],
    );
    for (const [what, r, judged] of [['transport', T.transport, true], ['full check', T.full, false]]) {
      const ratio = r.perSec / T.libiscsi.perSec;
      targets.push({ target: `${what} throughput >= ${TARGETS.throughputVsLibiscsi}x libiscsi's`, judged, value: ratio, met: ratio >= TARGETS.throughputVsLibiscsi });
    }
  }
  console.log('');
  console.log("targets (issue 12; judged on the transport, the like-for-like comparison with libiscsi; the full check adds the plugin and the pool)");
  for (const t of targets) console.log(`  ${t.target.padEnd(42)} ${`${t.value.toFixed(2)}x`.padStart(6)}  ${verdict(t.met)}${t.judged ? '' : '  (for reference)'}`);
  out.targets = targets;
  if (only === undefined) console.log(`\nwrote ${writeResult('iscsi', out)}`);
}

await main().catch((e) => {
  console.error(`bench/iscsi.mjs: ${e.message}`);
  process.exitCode = 1;
});
