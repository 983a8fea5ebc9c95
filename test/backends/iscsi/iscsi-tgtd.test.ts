import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import type { ScsiOutcome } from '../../../host/backends/device.js';
import { HostByte } from '../../../host/backends/host-byte.js';
import { IscsiSession } from '../../../host/backends/iscsi/iscsi-session.js';
import { INITIATOR_NAME } from '../../../host/backends/iscsi/iscsi-sessions.js';
import { BUILT_CHECKERS, DaemonProcess, EventLog, runPathcheck, stopAllDaemons, tempDir, waitUntil } from '../../helpers/daemon-process.js';
import { runTool, stopAllTgtds, Tgtd, type TargetSpec } from '../../helpers/tgtd.js';

// The iSCSI backend against a real target (issue 12): Debian's tgtd on 127.0.0.1, the unchanged tur.wasm.

afterEach(async () => {
  await stopAllDaemons();
  await stopAllTgtds();
});

const IQN = 'iqn.2026-12.io.pathcheck:tgtd-test';
const TARGET: TargetSpec = { iqn: IQN, luns: [{ lun: 1, sizeMiB: 8 }, { lun: 2, sizeMiB: 8 }] };
const TUR = Uint8Array.of(0, 0, 0, 0, 0, 0);
const INQUIRY = Uint8Array.of(0x12, 0, 0, 0, 96, 0);

/** The first command of a new tgtd session gets UNIT ATTENTION 29/00 (power on or reset); the sense key is byte 2 of fixed-format sense. */
const senseKey = (o: ScsiOutcome) => (o.sense.length > 2 ? o.sense[2]! & 0x0f : -1);

function run(session: IscsiSession, lun: number, cdb: Uint8Array, dataInLength = 0): Promise<ScsiOutcome> {
  return new Promise((done) => session.submit({ lun, cdb, dataInLength, done }));
}

async function check(url: string, checker = 'tur'): Promise<{ state: string; message: string; status: number | null }> {
  const r = await runPathcheck(['check', url, '--checker', checker, '--json', '--timeout', '5000'], 20_000);
  expect(r.stderr).toBe('');
  return { ...(JSON.parse(r.stdout) as { state: string; message: string }), status: r.status };
}

describe('pathcheck check iscsi:// against tgtd', () => {
  it('healthy LUN up; missing LUN disconnected; offline LUN down; unknown target and closed port down; each run exits', async () => {
    const t = await Tgtd.start({ targets: [TARGET] });
    expect(await check(t.url(1, 1))).toMatchObject({ state: 'up', message: 'tur checker reports path is up', status: 0 });
    // tgtd: ILLEGAL REQUEST 25/00 for a LUN it does not have; multipath-tools' tur: "no access to this device".
    expect(await check(t.url(1, 7))).toMatchObject({ state: 'disconnected', status: 1 });
    // tgtd: NOT READY 04/01 for a LUN taken offline; tur: down (only 04/0b is ghost).
    await t.lunOffline(1, 2);
    expect(await check(t.url(1, 2))).toMatchObject({ state: 'down', status: 1 });
    // Login refused (class 2 detail 3, not found): DID_NO_CONNECT, down.
    expect(await check(t.url(1, 1).replace(IQN, `${IQN}-nosuch`))).toMatchObject({ state: 'down', status: 1 });
    const port = t.portalPort;
    await t.stop();
    expect(await check(`iscsi://127.0.0.1:${port}/${IQN}/1`)).toMatchObject({ state: 'down', status: 1 });
  });
});

describe('the checkers that read, against tgtd (issue 13)', () => {
  it('directio (plain read of a block: READ CAPACITY, then READ(10)) and readsector0 (READ(10) through sg): up; a missing LUN or a dead target: down', async () => {
    const t = await Tgtd.start({ targets: [TARGET] });
    for (const checker of ['directio', 'readsector0']) {
      expect(await check(t.url(1, 1), checker)).toMatchObject({ state: 'up', message: `${checker} checker reports path is up`, status: 0 });
      expect(await check(t.url(1, 7), checker)).toMatchObject({ state: 'down', message: `${checker} checker reports path is down`, status: 1 });
    }
    const port = t.portalPort;
    await t.stop();
    for (const checker of ['directio', 'readsector0']) expect(await check(`iscsi://127.0.0.1:${port}/${IQN}/1`, checker)).toMatchObject({ state: 'down', status: 1 });
  });
});

describe('pathcheck check iscsi:// with CHAP', () => {
  it('--config takes the credentials from a pathcheckd config\'s targets{}: right secret up, wrong secret or none down; a bad config is one line, exit 2', async () => {
    const chap = { user: 'pcuser', secret: 'the-cli-secret-8910' };
    const t = await Tgtd.start({ targets: [{ iqn: IQN, luns: [{ lun: 1, sizeMiB: 8 }], chap }] });
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const config = (secret: string) => {
      const file = join(dir, `${secret}.conf`);
      writeFileSync(file, `targets {\n    target { name "${IQN}" chap_user "${chap.user}" chap_secret "${secret}" }\n}\n`);
      return file;
    };
    const checkWith = async (...extra: string[]) => {
      const r = await runPathcheck(['check', t.url(1, 1), '--json', '--timeout', '5000', ...extra], 20_000);
      return { ...(JSON.parse(r.stdout) as { state: string; message: string }), status: r.status, stderr: r.stderr };
    };
    expect(await checkWith('--config', config(chap.secret))).toMatchObject({ state: 'up', status: 0, stderr: '' });
    const wrong = await checkWith('--config', config('not-the-secret-1234'));
    expect(wrong).toMatchObject({ state: 'down', status: 1, stderr: '' });
    expect(JSON.stringify(wrong)).not.toContain('not-the-secret');
    expect(await checkWith()).toMatchObject({ state: 'down', status: 1 });
    const file = join(dir, 'bad.conf');
    writeFileSync(file, `targets {\n    target { name "${IQN}" chap_user "${chap.user}" }\n}\n`);
    const bad = await runPathcheck(['check', t.url(1, 1), '--config', file], 20_000);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^pathcheck: .*bad\.conf.*chap_secret/)]);
  });
});

describe('one session per target', () => {
  it('64 commands outstanding at once on two LUNs, each under its own task tag, all answered; INQUIRY data comes back', async () => {
    const t = await Tgtd.start({ targets: [TARGET] });
    const session = new IscsiSession({ host: '127.0.0.1', port: t.portalPort, target: IQN }, { initiatorName: INITIATOR_NAME });
    try {
      const first = await run(session, 1, TUR);
      expect([first.status, first.hostStatus]).toEqual([first.status === 0 ? 0 : 2, HostByte.OK]);
      if (first.status !== 0) expect(senseKey(first)).toBe(6);
      const all = await Promise.all(Array.from({ length: 64 }, (_, i) => run(session, 1 + (i % 2), TUR)));
      // LUN 2's first command may carry its own unit attention; after that every one is GOOD.
      expect(all.filter((o) => o.status !== 0 && senseKey(o) !== 6)).toEqual([]);
      expect(all.filter((o) => o.status === 0).length).toBeGreaterThanOrEqual(63);
      expect(session.load).toMatchObject({ outstanding: 0, waiting: 0, state: 'ready' });
      const inq = await run(session, 1, INQUIRY, 96);
      expect(inq.status).toBe(0);
      expect(new TextDecoder().decode(inq.dataIn.subarray(8, 16)).trim()).toBe('IET');
      const conns = await t.admin(['--op', 'show', '--mode', 'conn', '--tid', '1']);
      expect(conns.match(/^Session: /gm)?.length).toBe(1);
    } finally {
      await session.close();
    }
    expect(session.load.state).toBe('closed');
  });

  it('connection loss completes every outstanding command (transport disrupted); a command in the backoff gets DID_NO_CONNECT at once; the next one after reconnects', async () => {
    const t = await Tgtd.start({ targets: [TARGET] });
    const session = new IscsiSession({ host: '127.0.0.1', port: t.portalPort, target: IQN }, { initiatorName: INITIATOR_NAME, backoffMs: 300, maxBackoffMs: 300 });
    try {
      await run(session, 1, TUR);
      await t.freeze();
      const stuck = Array.from({ length: 8 }, () => run(session, 1, TUR));
      await new Promise((r) => setTimeout(r, 200));
      expect(session.load.outstanding).toBe(8);
      await t.kill();
      const lost = await Promise.all(stuck);
      expect(lost.map((o) => o.hostStatus)).toEqual(Array(8).fill(HostByte.TRANSPORT_DISRUPTED));
      expect((await run(session, 1, TUR)).hostStatus).toBe(HostByte.NO_CONNECT);
      await t.restart();
      const back = await waitUntil('a command answered after the restart', async () => {
        const o = await run(session, 1, TUR);
        return o.hostStatus === HostByte.OK ? o : null;
      }, 10_000, 350);
      expect(back.hostStatus).toBe(HostByte.OK);
    } finally {
      await session.close();
    }
  });
});

describe('what the initiator reads agrees with libiscsi (a real peer)', () => {
  it('INQUIRY vendor, product, revision and READ CAPACITY(16) last LBA and block size match iscsi-inq and iscsi-readcapacity16', async () => {
    const t = await Tgtd.start({ targets: [{ iqn: IQN, luns: [{ lun: 1, sizeMiB: 24, vendor: 'PCHKVEND', product: 'CROSS-CHECK-LUN' }] }] });
    const session = new IscsiSession({ host: '127.0.0.1', port: t.portalPort, target: IQN }, { initiatorName: INITIATOR_NAME });
    try {
      await run(session, 1, TUR);
      const inq = await run(session, 1, INQUIRY, 96);
      const cap = await run(session, 1, Uint8Array.of(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0), 32);
      expect([inq.status, cap.status]).toEqual([0, 0]);
      const text = (a: number, b: number) => new TextDecoder().decode(inq.dataIn.subarray(a, b));
      const view = new DataView(cap.dataIn.buffer, cap.dataIn.byteOffset, cap.dataIn.byteLength);
      const ours = { vendor: text(8, 16), product: text(16, 32), revision: text(32, 36), lastLba: Number(view.getBigUint64(0)), blockLength: view.getUint32(8) };
      const peerInq = await runTool('iscsi-inq', [t.url(1, 1)], 5000);
      const peerCap = await runTool('iscsi-readcapacity16', [t.url(1, 1)], 5000);
      expect([peerInq.code, peerCap.code], peerInq.stderr + peerCap.stderr).toEqual([0, 0]);
      const field = (out: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(out)?.[1];
      expect(ours).toEqual({
        vendor: field(peerInq.stdout, 'Vendor'),
        product: field(peerInq.stdout, 'Product'),
        revision: field(peerInq.stdout, 'Revision'),
        lastLba: Number(field(peerCap.stdout, 'RETURNED LOGICAL BLOCK ADDRESS')),
        blockLength: Number(field(peerCap.stdout, 'LOGICAL BLOCK LENGTH IN BYTES')),
      });
      expect(ours).toMatchObject({ vendor: 'PCHKVEND', lastLba: (24 * 1048576) / 512 - 1, blockLength: 512 });
    } finally {
      await session.close();
    }
  });
});

describe('the daemon with iSCSI paths', () => {
  it('checks iSCSI paths from its config next to sim paths; a target killed and restarted comes back up without a daemon restart', async () => {
    const t = await Tgtd.start({ targets: [TARGET] });
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, checkerTimeout: 2, paths: [t.url(1, 1), t.url(1, 2), 'sim:ok?id=a'] } });
    const states = async () => Object.fromEntries((await d.paths()).map((p) => [p.device, p.state]));
    const allUp = { [t.url(1, 1)]: 'up', [t.url(1, 2)]: 'up', 'sim:ok?id=a': 'up' };
    await waitUntil('every path up', async () => JSON.stringify(await states()) === JSON.stringify(allUp), 15_000);
    const conns = await t.admin(['--op', 'show', '--mode', 'conn', '--tid', '1']);
    expect(conns.match(/^Session: /gm)?.length).toBe(1);
    await t.kill();
    await waitUntil('iSCSI paths down', async () => {
      const s = await states();
      return s[t.url(1, 1)] === 'down' && s[t.url(1, 2)] === 'down';
    }, 20_000);
    expect((await states())['sim:ok?id=a']).toBe('up');
    await t.restart();
    await waitUntil('every path up again', async () => JSON.stringify(await states()) === JSON.stringify(allUp), 30_000);
  });

  it('a target deleted while its paths are checked goes down (its session dropped, the login then refused); another target on the same tgtd stays up', async () => {
    const t = await Tgtd.start({ targets: [TARGET, { iqn: `${IQN}-b`, luns: [{ lun: 1, sizeMiB: 8 }] }] });
    const [a1, a2, b] = [t.url(1, 1), t.url(1, 2), t.url(2, 1)];
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 2, paths: [a1, a2, b] } });
    await waitUntil('every path up', async () => (await d.paths()).every((p) => p.state === 'up'), 15_000);
    const log = await EventLog.open(d.socket);
    await t.deleteTarget(1);
    await waitUntil('the deleted target\'s paths down', async () => {
      const rows = await d.paths();
      return [a1, a2].every((u) => rows.find((p) => p.device === u)?.state === 'down');
    }, 15_000);
    // Three more rounds: down stays down (each check a refused login), b never left up.
    const bChecks = (await d.path(b))!.checks;
    await waitUntil('three more checks of b', async () => (await d.path(b))!.checks >= bChecks + 3, 15_000);
    for (const u of [a1, a2]) {
      expect(log.ofType('state').filter((e) => e.path === u).map((e) => e.to)).toEqual(['down']);
      expect((await d.path(u))!.state).toBe('down');
    }
    expect(log.ofType('state').filter((e) => e.path === b)).toEqual([]);
    expect(d.stderr.filter((l) => / warn /.test(l))).toEqual([
      expect.stringMatching(new RegExp(`iscsi 127\\.0\\.0\\.1:${t.portalPort} ${IQN}: disconnected: `)),
      expect.stringMatching(new RegExp(`iscsi 127\\.0\\.0\\.1:${t.portalPort} ${IQN}: login failed: target not found \\(status 0x0203\\)$`)),
    ]);
    await log.stop();
  });

  it('a frozen target (SIGSTOP) makes its paths timeout, then pending, while a second tgtd\'s paths stay up on time; SIGCONT brings them back up', async () => {
    const frozen = await Tgtd.start({ targets: [TARGET] });
    const healthy = await Tgtd.start({ targets: [{ iqn: `${IQN}-b`, luns: [{ lun: 1, sizeMiB: 8 }] }] });
    const a = frozen.url(1, 1);
    const b = healthy.url(1, 1);
    const d = await DaemonProcess.start({ config: { pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 1, paths: [a, b] } });
    await waitUntil('both up', async () => (await d.paths()).every((p) => p.state === 'up'), 15_000);
    const log = await EventLog.open(d.socket);
    await frozen.freeze();
    const bChecks = (await d.path(b))!.checks;
    let bWorst = 0;
    const until = performance.now() + 6000;
    while (performance.now() < until) {
      const rb = (await d.path(b))!;
      expect(rb.state).toBe('up');
      bWorst = Math.max(bWorst, Date.now() - Date.parse(rb.lastCheck!));
      await new Promise((r) => setTimeout(r, 100));
    }
    // b is checked every second throughout: at least 4 more checks in 6 s, none older than 3 s (healthy: about 1 s).
    expect((await d.path(b))!.checks - bChecks).toBeGreaterThanOrEqual(4);
    expect(bWorst).toBeLessThan(3000);
    const changes = (path: string) => log.ofType('state').filter((e) => e.path === path).map((e) => e.to);
    expect(changes(a)).toEqual(['timeout', 'pending']);
    expect(changes(b)).toEqual([]);
    expect((await d.path(a))!.state).toBe('pending');
    await frozen.thaw();
    await log.waitFor('the thawed target\'s path up again', (e) => e.type === 'state' && e.path === a && e.to === 'up', 40_000);
    await log.stop();
  });

  it('CHAP from the config: the right secret logs in (up); a wrong one is down with one warning naming the refusal; the secret is never shown', async () => {
    const chap = { user: 'pcuser', secret: 'the-right-secret-123' };
    const t = await Tgtd.start({ targets: [{ iqn: IQN, luns: [{ lun: 1, sizeMiB: 8 }], chap }, { iqn: `${IQN}-2`, luns: [{ lun: 1, sizeMiB: 8 }], chap }] });
    const wrong = 'a-wrong-secret-4567';
    const config = [
      'defaults {',
      '    polling_interval 1',
      `    checker_dir "${BUILT_CHECKERS}"`,
      '}',
      'targets {',
      `    target { name "${IQN.toUpperCase()}" chap_user "${chap.user}" chap_secret "${chap.secret}" }`,
      `    target { name "${IQN}-2" chap_user "${chap.user}" chap_secret "${wrong}" }`,
      '}',
      'paths {',
      `    path { device "${t.url(1, 1)}" }`,
      `    path { device "${t.url(2, 1)}" }`,
      '}',
      '',
    ].join('\n');
    const d = await DaemonProcess.start({ config });
    await waitUntil('the right secret up, the wrong one down', async () => {
      const rows = await d.paths();
      return rows.find((p) => p.device === t.url(1, 1))?.state === 'up' && rows.find((p) => p.device === t.url(2, 1))?.state === 'down';
    }, 15_000);
    // Several checks of the refused path, one warning: a target that keeps refusing is said once.
    await waitUntil('three more checks', async () => ((await d.path(t.url(2, 1)))?.checks ?? 0) >= 4, 15_000);
    const warnings = d.stderr.filter((l) => / warn /.test(l));
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`warn +iscsi 127\\.0\\.0\\.1:${t.portalPort} ${IQN}-2: login failed: authentication failed \\(status 0x0201\\)$`))]);
    const shown = JSON.stringify([await d.request('show paths'), await d.request('show stats'), await d.request('show checkers')]);
    for (const text of [d.stderr.join('\n'), shown]) {
      expect(text).not.toContain(chap.secret);
      expect(text).not.toContain(wrong);
    }
  });
});

