// Records real PDUs from tgtd as fixtures (fixtures/tgtd-*.json), both directions of each connection as
// hex: libiscsi's tools through a tiny TCP proxy on 127.0.0.1, then a scripted session driven by this
// codec's encoders (dist/) for what the tools never provoke: NOP-In both ways, R2T and Data-Out, task
// management. Run as root after `npx tsc -p tsconfig.json`: node test/backends/iscsi/record-tgtd.mjs
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoginStage } from '../../../dist/host/backends/iscsi/login-stage.js';
import * as encode from '../../../dist/host/backends/iscsi/pdu-encode.js';
import { PduReader } from '../../../dist/host/backends/iscsi/pdu-reader.js';
import { encodeLun } from '../../../dist/host/backends/iscsi/scsi-lun.js';
import { encodeTextKeys } from '../../../dist/host/backends/iscsi/text-keys.js';

const CONTROL = '4790';
const TARGET_PORT = 13290;
const PROXY_PORT = 13291;
const IQN = 'iqn.2026-12.test.pathcheck:fixture';
const IMAGE = '/tmp/pathcheck-iscsi-fixture.img';
const OUT = new URL('./fixtures/', import.meta.url);

const tgtadm = (...args) => execFileSync('tgtadm', ['-C', CONTROL, ...args], { stdio: 'inherit' });

/** The libiscsi tool runs, each pointed at the proxy. */
const RUNS = [
  { name: 'inquiry', argv: ['iscsi-inq', `iscsi://127.0.0.1:${PROXY_PORT}/${IQN}/1`] },
  { name: 'inquiry-check-condition', argv: ['iscsi-inq', '-e', '1', '-c', '153', `iscsi://127.0.0.1:${PROXY_PORT}/${IQN}/1`] },
  { name: 'discovery', argv: ['iscsi-ls', `iscsi://127.0.0.1:${PROXY_PORT}`] },
];

/** One proxied connection per run: returns the streams once the tool exits. */
async function record(argv) {
  const streams = { toTarget: [], fromTarget: [] };
  const server = createServer((client) => {
    const target = createConnection({ host: '127.0.0.1', port: TARGET_PORT });
    client.on('data', (b) => (streams.toTarget.push(b), target.write(b)));
    target.on('data', (b) => (streams.fromTarget.push(b), client.write(b)));
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
    client.on('error', () => target.destroy());
    target.on('error', () => client.destroy());
  });
  await new Promise((r) => server.listen(PROXY_PORT, '127.0.0.1', r));
  const tool = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  tool.stdout.on('data', (b) => (output += b));
  tool.stderr.on('data', (b) => (output += b));
  const code = await new Promise((r) => tool.on('exit', r));
  await sleep(200);
  server.close();
  return { argv, exitCode: code, output, toTarget: Buffer.concat(streams.toTarget).toString('hex'), fromTarget: Buffer.concat(streams.fromTarget).toString('hex') };
}

/** The scripted session: each step sends, then waits for the answer it provokes (3 s at most). */
async function scripted() {
  const streams = { toTarget: [], fromTarget: [] };
  const socket = createConnection({ host: '127.0.0.1', port: TARGET_PORT });
  await new Promise((r) => socket.once('connect', r));
  const reader = new PduReader();
  const inbox = [];
  const steps = [];
  socket.on('data', (b) => {
    streams.fromTarget.push(b);
    inbox.push(...reader.push(b));
  });
  socket.on('error', (e) => steps.push(`socket: ${e.message}`));
  const send = (b) => (streams.toTarget.push(b), socket.write(b));
  const next = async (what, wanted) => {
    for (const deadline = Date.now() + 3000; Date.now() < deadline; await sleep(20)) {
      const i = inbox.findIndex(wanted);
      if (i >= 0) return (steps.push(`${what}: ok`), inbox.splice(i, 1)[0]);
    }
    throw new Error(`${what}: no answer from tgtd (${steps.join('; ')})`);
  };
  const lun = encodeLun(1);
  let cmdSN = 1;
  let expStatSN = 0;
  const seq = () => ({ cmdSN, expStatSN });
  // A PDU with a status takes its StatSN; a target's ping and an R2T only show the next one.
  const answered = (p) => (expStatSN = (p.statSN + 1) >>> 0, p);
  send(
    encode.encodeLoginRequest({
      transit: true, continue: false, csg: LoginStage.OperationalNegotiation, nsg: LoginStage.FullFeaturePhase,
      isid: Uint8Array.of(0x80, 0, 0, 0, 0, 1), tsih: 0, itt: 1, cid: 0, ...seq(),
      data: encodeTextKeys([
        ['InitiatorName', 'iqn.2026-12.test.pathcheck:recorder'], ['TargetName', IQN], ['SessionType', 'Normal'],
        ['HeaderDigest', 'None'], ['DataDigest', 'None'], ['InitialR2T', 'Yes'], ['ImmediateData', 'No'],
        ['MaxRecvDataSegmentLength', '65536'], ['ErrorRecoveryLevel', '0'],
      ]),
    }),
  );
  answered(await next('login', (p) => p.opcode === 0x23));
  reader.setMaxRecvDataSegmentLength(65536);
  send(encode.encodeNopOutPing({ itt: 2, immediate: true, ...seq(), data: new TextEncoder().encode('ping') }));
  answered(await next('ping answered', (p) => p.opcode === 0x20 && p.itt === 2));
  const ping = await next('target ping', (p) => p.opcode === 0x20 && p.ttt !== 0xffffffff);
  send(encode.encodeNopOutReply({ lun: ping.lun, ttt: ping.ttt, ...seq(), data: ping.data }));
  send(encode.encodeScsiCommand({ read: false, write: false, lun, itt: 3, expectedDataTransferLength: 0, ...seq(), cdb: new Uint8Array(6) }));
  cmdSN++;
  answered(await next('unit attention', (p) => p.opcode === 0x21 && p.itt === 3));
  const block = new Uint8Array(512).map((_, i) => i & 0xff);
  send(encode.encodeScsiCommand({ read: false, write: true, lun, itt: 4, expectedDataTransferLength: 512, ...seq(), cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0) }));
  cmdSN++;
  const r2t = await next('R2T', (p) => p.opcode === 0x31 && p.itt === 4);
  send(encode.encodeDataOut({ final: true, lun: r2t.lun, itt: 4, ttt: r2t.ttt, expStatSN, dataSN: 0, bufferOffset: r2t.bufferOffset, data: block }));
  answered(await next('write done', (p) => p.opcode === 0x21 && p.itt === 4));
  send(encode.encodeTaskManagementRequest({ function: encode.TaskFunction.AbortTask, immediate: true, lun, itt: 5, referencedTaskTag: 0x1234, refCmdSN: cmdSN - 1, ...seq() }));
  answered(await next('abort task', (p) => p.opcode === 0x22 && p.itt === 5));
  send(encode.encodeTaskManagementRequest({ function: encode.TaskFunction.LogicalUnitReset, immediate: true, lun, itt: 6, ...seq() }));
  answered(await next('LUN reset', (p) => p.opcode === 0x22 && p.itt === 6));
  // No Text Request here: tgtd 1.0.85 drops a normal session's connection on one ("Cannot handle yet 4").
  // No Reject either: tgtd closes the connection on the PDUs it cannot take (a SNACK at ErrorRecoveryLevel 0, for one).
  send(encode.encodeLogoutRequest({ itt: 7, immediate: true, ...seq() }));
  answered(await next('logout', (p) => p.opcode === 0x26 && p.itt === 7));
  socket.destroy();
  return { argv: ['record-tgtd.mjs scripted session'], exitCode: 0, output: steps.join('\n'), toTarget: Buffer.concat(streams.toTarget).toString('hex'), fromTarget: Buffer.concat(streams.fromTarget).toString('hex') };
}

function save(name, recorded) {
  writeFileSync(new URL(`tgtd-${name}.json`, OUT), `${JSON.stringify({ tgtd: execFileSync('tgtd', ['-V']).toString().trim(), ...recorded }, null, 2)}\n`);
  console.log(`${name}: exit ${recorded.exitCode}, ${recorded.fromTarget.length / 2} bytes from tgtd`);
}

const tgtd = spawn('tgtd', ['-f', '-C', CONTROL, '--iscsi', `portal=127.0.0.1:${TARGET_PORT}`], { stdio: 'ignore' });
try {
  await sleep(1000);
  execFileSync('truncate', ['-s', '8M', IMAGE]);
  tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'target', '--tid', '1', '-T', IQN);
  tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', IMAGE);
  tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
  for (const run of RUNS) save(run.name, await record(run.argv));
  // tgtd pings an idle initiator every nop_interval seconds: the scripted session waits for one.
  tgtadm('--op', 'update', '--mode', 'target', '--tid', '1', '-n', 'nop_interval', '-v', '1');
  tgtadm('--op', 'update', '--mode', 'target', '--tid', '1', '-n', 'nop_count', '-v', '5');
  save('scripted', await scripted());
} finally {
  // tgtd 1.0.85 refuses to delete the system (even with --force) while a target exists.
  try {
    tgtadm('--lld', 'iscsi', '--op', 'delete', '--force', '--mode', 'target', '--tid', '1');
    tgtadm('--op', 'delete', '--mode', 'system');
  } catch {
    tgtd.kill('SIGKILL');
  }
  rmSync(IMAGE, { force: true });
}
