import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../host/cli/package-paths.js';
import { tempDir } from '../helpers/daemon-process.js';
import { runTool, stopAllTgtds, Tgtd, type TargetSpec } from '../helpers/tgtd.js';

// The fixture against real peers from libiscsi-bin, and what tgtd answers (for the checkers).

afterEach(stopAllTgtds);

const IQN = 'iqn.2024-01.io.pathcheck:fixture';
const CHAP = { user: 'pathcheck', secret: 'right-secret-1234' };
const plain: TargetSpec = { iqn: IQN, luns: [{ lun: 1, sizeMiB: 64, vendor: 'PCHK', product: 'FIXTURE-LUN1' }, { lun: 2, sizeMiB: 16 }] };
const chapped: TargetSpec = { iqn: `${IQN}-chap`, luns: [{ lun: 1, sizeMiB: 8, vendor: 'PCHKCHAP' }], chap: CHAP };

/** A peer tool, bounded; a hang shows as signal SIGKILL. */
const peer = (tool: string, url: string, timeoutMs = 5_000) => runTool(tool, [url], timeoutMs);

async function inquiry(url: string): Promise<{ vendor: string; product: string }> {
  const r = await peer('iscsi-inq', url);
  expect(r.code, `iscsi-inq ${url}: ${r.stderr}`).toBe(0);
  return { vendor: /^Vendor:(.*)$/m.exec(r.stdout)?.[1].trim() ?? '', product: /^Product:(.*)$/m.exec(r.stdout)?.[1].trim() ?? '' };
}

/** Processes whose command line is a tgtd with this control port. */
function tgtdsWithControlPort(port: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[0].endsWith('tgtd') && argv.includes(String(port));
    } catch {
      return false;
    }
  }).map(Number);
}

describe('tgtd fixture against libiscsi-bin peers', () => {
  it('serves the vendor/product it set (iscsi-inq), the LUN size (iscsi-readcapacity16), the target (iscsi-ls)', async () => {
    const t = await Tgtd.start({ targets: [plain] });
    expect(await inquiry(t.url(1, 1))).toEqual({ vendor: 'PCHK', product: 'FIXTURE-LUN1' });
    expect(await inquiry(t.url(1, 2))).toEqual({ vendor: 'IET', product: 'VIRTUAL-DISK' });
    const cap = await peer('iscsi-readcapacity16', t.url(1, 1));
    expect(cap.stdout).toMatch(/^Total size:67108864$/m);
    expect((await peer('iscsi-readcapacity16', t.url(1, 2))).stdout).toMatch(/^Total size:16777216$/m);
    const ls = await peer('iscsi-ls', t.portalUrl());
    expect(ls.stdout).toContain(`Target:${IQN} Portal:127.0.0.1:${t.portalPort},1`);
  });

  it('CHAP: the right secret logs in, a wrong one and none are refused', async () => {
    const t = await Tgtd.start({ targets: [plain, chapped] });
    expect((await inquiry(t.url(2, 1, CHAP))).vendor).toBe('PCHKCHAP');
    const wrong = await peer('iscsi-inq', t.url(2, 1, { user: CHAP.user, secret: 'wrong-secret-1234' }));
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr + wrong.stdout).toMatch(/Authentication failure/);
    expect((await peer('iscsi-inq', t.url(2, 1))).code).not.toBe(0);
    // The account binds to its target only.
    expect((await inquiry(t.url(1, 1))).vendor).toBe('PCHK');
  });

  it('two tgtds at once: distinct ports, each serves its own LUN, stopping one leaves the other', async () => {
    const [a, b] = await Promise.all([
      Tgtd.start({ targets: [{ iqn: `${IQN}-a`, luns: [{ lun: 1, sizeMiB: 4, vendor: 'TGTD-A' }] }] }),
      Tgtd.start({ targets: [{ iqn: `${IQN}-b`, luns: [{ lun: 1, sizeMiB: 4, vendor: 'TGTD-B' }] }] }),
    ]);
    expect(a.portalPort).not.toBe(b.portalPort);
    expect(a.controlPort).not.toBe(b.controlPort);
    expect((await inquiry(a.url(1, 1))).vendor).toBe('TGTD-A');
    expect((await inquiry(b.url(1, 1))).vendor).toBe('TGTD-B');
    await a.stop();
    expect((await inquiry(b.url(1, 1))).vendor).toBe('TGTD-B');
  });

  it('freeze makes iscsi-inq hang (killed at 2 s; healthy it answers in milliseconds), thaw lets a new one succeed', async () => {
    const t = await Tgtd.start({ targets: [plain] });
    expect((await inquiry(t.url(1, 1))).vendor).toBe('PCHK');
    await t.freeze();
    const hung = await peer('iscsi-inq', t.url(1, 1), 2_000);
    expect(hung.signal).toBe('SIGKILL');
    await t.thaw();
    expect((await inquiry(t.url(1, 1))).vendor).toBe('PCHK');
  });

  it('kill drops the portal; restart serves the same targets on the same ports', async () => {
    const t = await Tgtd.start({ targets: [plain, chapped] });
    const { portalPort, controlPort } = t;
    await t.kill();
    expect((await peer('iscsi-inq', t.url(1, 1))).code).not.toBe(0);
    await t.restart();
    expect([t.portalPort, t.controlPort]).toEqual([portalPort, controlPort]);
    expect((await inquiry(t.url(1, 1))).vendor).toBe('PCHK');
    expect((await peer('iscsi-readcapacity16', t.url(1, 1))).stdout).toMatch(/^Total size:67108864$/m);
    expect((await inquiry(t.url(2, 1, CHAP))).vendor).toBe('PCHKCHAP');
  });

  it('stop (even of a frozen tgtd) leaves no tgtd process and no temp files; a second stop is a no-op', async () => {
    const t = await Tgtd.start({ targets: [plain] });
    expect(tgtdsWithControlPort(t.controlPort)).toEqual([t.pid]);
    await t.freeze();
    await t.stop();
    // Ended by tgtadm's delete, not by the SIGKILL of last resort.
    expect(t.exit).toBe('code 0');
    expect(tgtdsWithControlPort(t.controlPort)).toEqual([]);
    expect(existsSync(t.dir)).toBe(false);
    await t.stop();
  });

  it('names bad input in one line', async () => {
    await expect(Tgtd.start({ targets: [{ iqn: 'not-an-iqn', luns: [] }] })).rejects.toThrow(/bad target name "not-an-iqn"/);
    await expect(Tgtd.start({ targets: [{ iqn: IQN, luns: [{ lun: 1, sizeMiB: 1, vendor: 'TOO-LONG-VENDOR' }] }] })).rejects.toThrow(/bad vendor "TOO-LONG-VENDOR"/);
    const t = await Tgtd.start({ targets: [plain] });
    await expect(t.lunOffline(9, 1)).rejects.toThrow(/no target 9 \(have 1\)/);
  });
});

// ---------------------------------------------------------------- what tgtd answers (tur-probe)

interface Answer {
  readonly ok: boolean;
  readonly stage?: string;
  readonly status?: number;
  readonly status_name?: string;
  readonly sense_key?: number;
  readonly asc?: number;
  readonly ascq?: number;
  readonly vendor?: string;
  readonly returned_lba?: number;
  readonly block_length?: number;
}

describe('what tgtd answers a checker (bench/peers/tur-probe.c on libiscsi)', () => {
  const dir = tempDir();
  const probe = join(dir, 'tur-probe');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const src = join(PACKAGE_ROOT, 'bench', 'peers', 'tur-probe.c');
    const cc = await runTool('cc', ['-O2', '-Wall', '-Werror', '-o', probe, src, '-liscsi'], 30_000).catch((e: Error) => {
      throw new Error(`cannot build tur-probe: ${e.message} (install a C compiler, Debian package gcc, and libiscsi-dev)`);
    });
    if (cc.code !== 0) throw new Error(`cannot build tur-probe (cc exit ${cc.code}; install libiscsi-dev): ${cc.stderr.trim()}`);
  });

  async function ask(op: string, url: string): Promise<Answer> {
    const r = await runTool(probe, [op, url]);
    expect(r.signal, `tur-probe ${op} ${url} hung`).toBeNull();
    return JSON.parse(r.stdout) as Answer;
  }

  /** A probe holding one session: every next() sends the command again on it. */
  function held(url: string) {
    const child = spawn(probe, ['--hold', 'tur', url], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const read = async (): Promise<Answer> => {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('tur-probe --hold gave no answer within 5 s')), 5_000).unref());
      const line = await Promise.race([lines.next(), timeout]);
      if (line.done === true) throw new Error('tur-probe --hold ended without an answer');
      return JSON.parse(line.value) as Answer;
    };
    return {
      first: read,
      next: () => (child.stdin.write('\n'), read()),
      close: () => child.kill('SIGKILL'),
    };
  }

  it('healthy LUN: TUR GOOD, INQUIRY and READ CAPACITY(16) as configured', async () => {
    const t = await Tgtd.start({ targets: [plain] });
    expect(await ask('tur', t.url(1, 1))).toMatchObject({ ok: true, status: 0, status_name: 'GOOD' });
    expect(await ask('inquiry', t.url(1, 1))).toMatchObject({ status: 0, vendor: 'PCHK    ' });
    expect(await ask('readcap16', t.url(1, 1))).toMatchObject({ status: 0, returned_lba: 64 * 2048 - 1, block_length: 512 });
  });

  it('LUN offline (online=0): TUR CHECK CONDITION, NOT READY 04/01 (tur checker: down); online again: GOOD', async () => {
    const t = await Tgtd.start({ targets: [plain] });
    await t.lunOffline(1, 1);
    expect(await ask('tur', t.url(1, 1))).toMatchObject({ status: 2, sense_key: 2, asc: 0x04, ascq: 0x01 });
    const session = held(t.url(1, 1));
    try {
      expect(await session.first()).toMatchObject({ status: 2, sense_key: 2, asc: 0x04, ascq: 0x01 });
      await t.lunOnline(1, 1);
      expect(await session.next()).toMatchObject({ status: 0 });
    } finally {
      session.close();
    }
  });

  it('LUN number that does not exist: ILLEGAL REQUEST 25/00 (tur checker: disconnected)', async () => {
    const t = await Tgtd.start({ targets: [plain] });
    expect(await ask('tur', t.url(1, 7))).toMatchObject({ status: 2, sense_key: 5, asc: 0x25, ascq: 0x00 });
  });

  it('target deleted: the open session gets no SCSI status, a new login is refused', async () => {
    const t = await Tgtd.start({ targets: [plain] });
    const session = held(t.url(1, 1));
    try {
      expect(await session.first()).toMatchObject({ status: 0 });
      await t.deleteTarget(1);
      const after = await session.next();
      expect(after.ok === false || after.status_name?.startsWith('LIBISCSI_')).toBe(true);
    } finally {
      session.close();
    }
    expect(await ask('tur', `iscsi://127.0.0.1:${t.portalPort}/${IQN}/1`)).toMatchObject({ ok: false, stage: 'login' });
  });
});
