// A local tgtd (Debian tgt) for bench/iscsi.mjs, just what the bench needs: one target with LUNs
// 1..N on sparse files, bound to ALL initiators, on a kernel-chosen free port on 127.0.0.1. Its
// management socket lives in its own temp dir (TGT_IPC_SOCKET), so it never meets a system tgtd or a
// test's. stop() force-deletes the target, then the system, SIGKILLs as the last resort and removes
// the dir; an exiting bench kills it too. (test/helpers/tgtd.ts is the tests' fuller fixture.)
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST = '127.0.0.1';
/** Bound on one tgtadm call, on tgtd's start and on its exit. */
const STEP_MS = 5000;
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

function binary(name) {
  const found = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN].map((d) => join(d, name)).find((p) => existsSync(p));
  if (found === undefined) throw new Error(`${name} not found on PATH or in /usr/sbin (install Debian package tgt)`);
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const c = createConnection({ host: HOST, port });
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start tgtd with target `iqn` and LUNs 1..`luns` of `sizeMiB` each. */
export async function startTgtd({ iqn, luns, sizeMiB = 8 }) {
  const bins = { tgtd: binary('tgtd'), tgtadm: binary('tgtadm') };
  const dir = mkdtempSync(join(tmpdir(), 'pcbench-tgtd-'));
  const env = { ...process.env, TGT_IPC_SOCKET: join(dir, 'ipc') };
  // Not a port: the suffix of the management socket's name, picked away from tgtd's default 0.
  const control = String(1024 + Math.floor(Math.random() * 30000));
  const port = await freePort();
  const child = spawn(bins.tgtd, ['-f', '-C', control, '--iscsi', `portal=${HOST}:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exit = null;
  const keep = (b) => (output = (output + b).slice(-2000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = signal ?? `code ${code}`))));
  const killNow = () => {
    if (exit === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killNow);
  const why = () => `tgtd ${exit === null ? 'running' : `exited (${exit})`}, output: ${output.trim().replace(/\n/g, ' | ') || '(none)'}`;

  const admin = (args) =>
    new Promise((resolve, reject) => {
      execFile(bins.tgtadm, ['-C', control, '--lld', 'iscsi', ...args], { env, timeout: STEP_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        if (err === null) resolve(stdout);
        else reject(new Error(`tgtadm ${args.join(' ')} failed: ${stderr.trim() || err.message}; ${why()}`));
      });
    });

  const stop = async () => {
    try {
      if (exit === null) {
        const graceful = await admin(['--op', 'delete', '--mode', 'target', '--tid', '1', '--force'])
          .then(() => admin(['--op', 'delete', '--mode', 'system', '--force']))
          .then(() => true, () => false);
        const timer = sleep(STEP_MS).then(() => 'timeout');
        if (!graceful || (await Promise.race([exited, timer])) === 'timeout') child.kill('SIGKILL');
        await exited;
      }
    } finally {
      process.removeListener('exit', killNow);
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    const until = performance.now() + STEP_MS;
    while (!(existsSync(`${env.TGT_IPC_SOCKET}.${control}`) && (await accepts(port)))) {
      if (exit !== null || /failed to create\/bind to portal/.test(output) || performance.now() > until) throw new Error(`tgtd did not come up on ${HOST}:${port} within ${STEP_MS / 1000} s: ${why()}`);
      await sleep(20);
    }
    await admin(['--op', 'new', '--mode', 'target', '--tid', '1', '--targetname', iqn]);
    for (let lun = 1; lun <= luns; lun++) {
      const file = join(dir, `lun${lun}.img`);
      const fd = openSync(file, 'w');
      ftruncateSync(fd, sizeMiB * 1024 * 1024);
      closeSync(fd);
      await admin(['--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', String(lun), '--backing-store', file]);
    }
    await admin(['--op', 'bind', '--mode', 'target', '--tid', '1', '--initiator-address', 'ALL']);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, pid: child.pid, url: (lun) => `iscsi://${HOST}:${port}/${iqn}/${lun}`, stop };
}
