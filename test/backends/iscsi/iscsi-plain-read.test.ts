import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { IoState } from '../../../host/backends/io-slot.js';
import { IscsiDevice } from '../../../host/backends/iscsi/iscsi-device.js';
import { iscsiSessions } from '../../../host/backends/iscsi/iscsi-sessions.js';
import { senseBytes } from '../../../host/backends/sense-bytes.js';
import { waitUntil } from '../../helpers/daemon-process.js';
import { FakeTarget, InitiatorOp, dataIn, scsiResponse, type Exchange } from '../../helpers/fake-target.js';
import { Guest, type ReadBack } from '../../helpers/guest.js';
import { stopAllTgtds, Tgtd } from '../../helpers/tgtd.js';

// Plain reads (fd_pread) on an iSCSI LUN of a real tgtd, through the shim as a plugin makes them: READ
// CAPACITY at the LUN's first read, then READ(10)/(16) of the covering blocks; compared with the LUN's
// backing file.

const AGAIN = 6;
const INVAL = 28;
const IO = 29;
const MiB = 1024 * 1024;
const IQN = 'iqn.2026-12.io.pathcheck:plain-read';

const devices: IscsiDevice[] = [];

afterEach(async () => {
  for (const d of devices.splice(0)) d.close();
  await iscsiSessions.closeAll();
  await stopAllTgtds();
});

function open(g: Guest, t: Tgtd, lun: number, name = `lun${lun}`): { dev: IscsiDevice; fd: number } {
  const dev = IscsiDevice.fromSpec(t.url(1, lun));
  devices.push(dev);
  return g.publish(name, dev);
}

/** fd_pread as a parked check sees it: EAGAIN, the I/O side (the pool, here the test) runs the read, the same call collects it. */
async function pread(g: Guest, dev: IscsiDevice, fd: number, sizes: number[], offset: number): Promise<ReadBack> {
  const first = g.read(fd, sizes, BigInt(offset));
  if (first.errno !== AGAIN) return first;
  expect(dev.io.claim()).toBe(true);
  await new Promise<void>((done) => dev.start(done));
  const r = g.read(fd, sizes, BigInt(offset));
  expect(dev.io.state).toBe(IoState.IDLE);
  return r;
}

describe('fd_pread on an iSCSI LUN (tgtd)', () => {
  it('returns the backing file\'s bytes: a block, a range across blocks at odd offsets in scattered buffers, the last block; past the end is EINVAL', async () => {
    const t = await Tgtd.start({ targets: [{ iqn: IQN, luns: [{ lun: 1, sizeMiB: 8 }] }] });
    const size = 8 * MiB;
    const data = randomBytes(64 * 1024);
    t.writeLun(1, 1, 0, data);
    const tail = randomBytes(4096);
    t.writeLun(1, 1, size - tail.length, tail);
    const g = new Guest();
    g.memory.grow(2);
    const { dev, fd } = open(g, t, 1);
    // The capacity is unknown before the first read; the first read gets tgtd's power-on unit attention, retried.
    expect([dev.blockSize, dev.blockCount]).toEqual([0, 0]);
    expect((await pread(g, dev, fd, [512], 0)).bytes).toEqual(new Uint8Array(data.subarray(0, 512)));
    expect([dev.blockSize, dev.blockCount]).toEqual([512, size / 512]);
    const across = await pread(g, dev, fd, [700, 1, 2299], 1000);
    expect(across.nread).toBe(3000);
    expect(across.bytes).toEqual(new Uint8Array(data.subarray(1000, 4000)));
    expect((await pread(g, dev, fd, [65536], 0)).bytes).toEqual(new Uint8Array(data));
    expect((await pread(g, dev, fd, [512], size - 512)).bytes).toEqual(new Uint8Array(tail.subarray(tail.length - 512)));
    // Known capacity: refused by the shim, nothing reaches the target.
    expect(g.read(fd, [512], BigInt(size - 511)).errno).toBe(INVAL);
    expect(dev.io.state).toBe(IoState.IDLE);
    // Another thread's view of the same device shares the capacity.
    expect(IscsiDevice.fromShared(dev.share()).blockCount).toBe(size / 512);
  });

  it('the first read past the end is refused by the backend once READ CAPACITY answered (EINVAL); a LUN the target lacks, or a target gone, is EIO; restarted, it reads', async () => {
    const t = await Tgtd.start({ targets: [{ iqn: IQN, luns: [{ lun: 1, sizeMiB: 1 }, { lun: 2, sizeMiB: 1 }] }] });
    const g = new Guest();
    const one = open(g, t, 1);
    expect((await pread(g, one.dev, one.fd, [512], MiB)).errno).toBe(INVAL);
    expect(one.dev.blockCount).toBe(MiB / 512);
    // tgtd answers READ CAPACITY for a LUN it lacks with ILLEGAL REQUEST (LUN not supported).
    const missing = open(g, t, 7);
    expect((await pread(g, missing.dev, missing.fd, [512], 0)).errno).toBe(IO);
    expect(missing.dev.blockCount).toBe(0);
    const two = open(g, t, 2);
    t.writeLun(1, 2, 512, Buffer.alloc(512, 0x5a));
    // tgtd takes a non-removable LUN offline for TEST UNIT READY only (NOT READY); its reads still answer.
    await t.lunOffline(1, 2);
    expect((await pread(g, two.dev, two.fd, [512], 512)).bytes).toEqual(new Uint8Array(512).fill(0x5a));
    await t.kill();
    expect((await pread(g, two.dev, two.fd, [512], 512)).errno).toBe(IO);
    await t.restart();
    // The session reconnects after its backoff (reads in it fail at once, EIO).
    let last: ReadBack | undefined;
    await waitUntil('a read after the restart', async () => (last = await pread(g, two.dev, two.fd, [512], 512)).errno === 0, 5000, 50);
    expect(last!.bytes).toEqual(new Uint8Array(512).fill(0x5a));
  });

  it('a LUN over 2 TiB: READ CAPACITY(16) after (10) says 0xffffffff, and READ(16) past LBA 2^32', async () => {
    const sizeMiB = 2 * MiB + 1; // 2 TiB + 1 MiB, sparse
    const t = await Tgtd.start({ targets: [{ iqn: IQN, luns: [{ lun: 1, sizeMiB }] }] });
    const size = sizeMiB * MiB;
    const mark = randomBytes(1024);
    t.writeLun(1, 1, size - 1024, mark);
    const g = new Guest();
    const { dev, fd } = open(g, t, 1);
    expect((await pread(g, dev, fd, [1000], size - 1000)).bytes).toEqual(new Uint8Array(mark.subarray(24)));
    expect(dev.blockCount).toBe(size / 512);
    expect(dev.blockCount).toBeGreaterThan(2 ** 32);
  });
});

// ------------------------------------------------------------------ a target that answers badly

const targets: FakeTarget[] = [];
afterEach(async () => {
  for (const t of targets.splice(0)) await t.close();
});

const CHECK_CONDITION = 2;
const RC10 = 0x25;
const READ10 = 0x28;

/** A fake target answering the SCSI commands whose opcode `answers` names its way, the rest honestly (data-in bytes i & 0xff). */
async function target(answers: Record<number, (x: Exchange, cdb: Uint8Array) => void>): Promise<FakeTarget> {
  const t = await FakeTarget.start({
    pdu: (x) => {
      const cdb = x.pdu.raw.subarray(32, 48);
      const answer = x.pdu.opcode === InitiatorOp.ScsiCommand ? answers[cdb[0]!] : undefined;
      if (answer === undefined) x.answer();
      else answer(x, cdb);
    },
  });
  targets.push(t);
  return t;
}

const sendData = (x: Exchange, data: Uint8Array) => x.conn.send(dataIn({ itt: x.pdu.itt, lun: x.pdu.bytes8, data, dataSN: 0, offset: 0, status: 0, numbers: x.conn.numbers() }));
const capacity10 = (lastLba: number, blockSize: number) => (x: Exchange) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, lastLba);
  new DataView(b.buffer).setUint32(4, blockSize);
  sendData(x, b);
};
const unitAttention = (asc: number, ascq: number) => (x: Exchange) => x.conn.send(scsiResponse(x.pdu.itt, CHECK_CONDITION, x.conn.numbers(), senseBytes('fixed', { key: 0x6, asc, ascq })));
const commands = (t: FakeTarget, opcode: number) => t.received.filter((p) => p.opcode === InitiatorOp.ScsiCommand && p.raw[32] === opcode).length;

function fakeDevice(g: Guest, t: FakeTarget, name = 'fake'): { dev: IscsiDevice; fd: number } {
  const dev = IscsiDevice.fromSpec(t.url());
  devices.push(dev);
  return g.publish(name, dev);
}

describe('fd_pread on a target that answers badly', () => {
  it('a block length of 0, 7 or 1 MiB, or short READ CAPACITY data: EIO, and the next read asks again', async () => {
    for (const bad of [capacity10(99, 0), capacity10(99, 7), capacity10(99, 1 << 20), (x: Exchange) => sendData(x, new Uint8Array(5))]) {
      const t = await target({ [RC10]: bad });
      const g = new Guest();
      const { dev, fd } = fakeDevice(g, t);
      expect((await pread(g, dev, fd, [512], 0)).errno).toBe(IO);
      expect((await pread(g, dev, fd, [512], 0)).errno).toBe(IO);
      expect([dev.blockCount, commands(t, RC10), commands(t, READ10)]).toEqual([0, 2, 0]);
    }
  });

  it('unit attention on every command: retried 5 times, then EIO (6 commands, not forever)', async () => {
    const t = await target({ [RC10]: unitAttention(0x29, 0x00) });
    const g = new Guest();
    const { dev, fd } = fakeDevice(g, t);
    expect((await pread(g, dev, fd, [512], 0)).errno).toBe(IO);
    expect(commands(t, RC10)).toBe(6);
  });

  it('READ data shorter than asked, with GOOD status: EIO, not the bytes that came', async () => {
    const t = await target({ [RC10]: capacity10(2047, 512), [READ10]: (x) => sendData(x, new Uint8Array(100)) });
    const g = new Guest();
    const { dev, fd } = fakeDevice(g, t);
    expect((await pread(g, dev, fd, [512], 512)).errno).toBe(IO);
  });

  it('capacity data has changed (2A/09) on a READ: the capacity is asked again and the read retried; the new size applies', async () => {
    let size = 2047;
    let changed = false;
    const t = await target({
      [RC10]: (x) => capacity10(size, 512)(x),
      [READ10]: (x) => (changed ? x.answer() : ((changed = true), (size = 4095), unitAttention(0x2a, 0x09)(x))),
    });
    const g = new Guest();
    const { dev, fd } = fakeDevice(g, t);
    const r = await pread(g, dev, fd, [16], 1024);
    expect(r.bytes).toEqual(Uint8Array.from({ length: 16 }, (_, i) => i));
    expect([commands(t, RC10), commands(t, READ10), dev.blockCount]).toEqual([2, 2, 4096]);
  });
});
