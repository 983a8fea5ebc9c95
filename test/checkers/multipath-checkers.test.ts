// The six checkers after tur (issue 13): directio, readsector0, hp_sw, rdac, emc_clariion, cciss_tur.
// 1. Every checker over the sim scenarios and device models, through a CheckHost (2 worker threads, ABI v2):
//    the state and message multipath-tools 0.15.0 gives for what the device answers.
// 2. The exact commands each one sends (CDB bytes, data-out, data-in room) and its retry budgets, on a
//    FakeDevice called directly through the WASI shim.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathState } from '../../host/abi/path-state.js';
import { openDevice } from '../../host/backends/device-spec.js';
import type { SimDevice } from '../../host/backends/sim/sim-device.js';
import { senseBytes } from '../../host/backends/sense-bytes.js';
import { CHECKERS_DIR } from '../../host/cli/package-paths.js';
import { CheckHost } from '../../host/registry/check-host.js';
import { DirectChecker } from '../helpers/direct-checker.js';
import { FakeDevice, LATER, outcome, type Completion } from '../helpers/fake-device.js';

const CHECKERS = ['directio', 'readsector0', 'hp_sw', 'rdac', 'emc_clariion', 'cciss_tur'] as const;

let host: CheckHost;

beforeAll(async () => {
  host = new CheckHost({ size: 2 });
  if (!(await host.pool.ready())) throw new Error('pool workers did not start within 10 s');
  for (const c of CHECKERS) await host.registry.load(join(CHECKERS_DIR, `${c}.wasm`));
});

afterAll(async () => {
  await host?.close();
});

/** `n` checks of `spec` with `checker` on one binding: each check's state and message, and the commands the device saw. */
async function run(checker: string, spec: string, n = 1) {
  const device = openDevice(spec) as SimDevice;
  const bound = await host.registry.bind(checker, device, 5000);
  const results: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const r = await host.runner.check(bound, 5000);
      results.push(`${r.state}: ${r.message}`);
    }
  } finally {
    host.registry.unbind(bound);
  }
  return { results, commands: device.commandCount };
}

/** `<state>: <checker> checker <text>`, the text joined without a space when it brings its own ':'. */
const said = (state: string, c: string, text: string) => `${state}: ${c} checker${text.startsWith(':') ? '' : ' '}${text}`;
const up = (c: string, text = 'reports path is up') => said('up', c, text);
const down = (c: string, text = 'reports path is down') => said('down', c, text);

describe('each checker over the sim devices: the state multipath-tools gives', () => {
  const cases: [checker: string, spec: string, result: string][] = [
    ['directio', 'sim:ok', up('directio')],
    ['directio', 'sim:ok?blocks=1', up('directio')],
    ['directio', 'sim:slow?latency=20', up('directio')],
    ['directio', 'sim:down', down('directio')],
    ['directio', 'sim:gone', down('directio')],
    ['directio', 'sim:no-connect', down('directio')],
    ['readsector0', 'sim:ok', up('readsector0')],
    ['readsector0', 'sim:ua-then-ok', up('readsector0')],
    ['readsector0', 'sim:down', down('readsector0')],
    ['readsector0', 'sim:standby', down('readsector0')],
    ['readsector0', 'sim:gone', down('readsector0')],
    ['hp_sw', 'sim:hp-active', up('hp_sw')],
    ['hp_sw', 'sim:ok', up('hp_sw')],
    ['hp_sw', 'sim:hp-standby', 'ghost: hp_sw checker reports path is ghost'],
    ['hp_sw', 'sim:down', down('hp_sw')],
    ['hp_sw', 'sim:no-lun', "wild: hp_sw checker doesn't support this device"],
    ['rdac', 'sim:rdac-owner', up('rdac')],
    ['rdac', 'sim:rdac-ioship', up('rdac')],
    ['rdac', 'sim:rdac-passive', 'ghost: rdac checker reports path is ghost'],
    ['rdac', 'sim:rdac-quiesced', down('rdac', 'reports path is down: ctlr quiesced by admin request')],
    ['rdac', 'sim:rdac-startup', down('rdac', 'reports path is down: ctlr is in startup sequence')],
    ['rdac', 'sim:rdac-unavailable', down('rdac', 'reports path is down: ctlr is unavailable')],
    ['rdac', 'sim:rdac-not-connected', down('rdac', 'reports path is down: lun not connected')],
    ['rdac', 'sim:down', down('rdac', 'reports path is down: inquiry failed')],
    ['rdac', 'sim:ok', "wild: rdac checker doesn't support this device"],
    ['emc_clariion', 'sim:clariion-active', up('emc_clariion', ': Active path is healthy')],
    ['emc_clariion', 'sim:clariion-passive', up('emc_clariion', ': Active path is healthy')],
    ['emc_clariion', 'sim:clariion-unbound', down('emc_clariion', ': Logical Unit is unbound or LUNZ')],
    ['emc_clariion', 'sim:clariion-not-available', 'shaky: emc_clariion checker: Path not available for normal operations'],
    ['emc_clariion', 'sim:clariion-misconfigured', down('emc_clariion', ': Path not correctly configured for failover')],
    ['emc_clariion', 'sim:clariion-bad-page', down('emc_clariion', ': Path unit report page in unknown format')],
    ['emc_clariion', 'sim:clariion-read-error', down('emc_clariion', ': Read error')],
    ['emc_clariion', 'sim:clariion-inactive-snapshot', down('emc_clariion')],
    ['emc_clariion', 'sim:down', down('emc_clariion', ': query command indicates error')],
    ['emc_clariion', 'sim:gone', down('emc_clariion', ': sending query command failed')],
    ['emc_clariion', 'sim:ok', "wild: emc_clariion checker doesn't support this device"],
    ['cciss_tur', 'sim:ok', up('cciss_tur')],
    ['cciss_tur', 'sim:reservation-conflict', down('cciss_tur')],
    ['cciss_tur', 'sim:ua-then-ok', down('cciss_tur')],
    ['cciss_tur', 'sim:standby', down('cciss_tur')],
  ];
  it.each(cases)('%s on %s -> %s', async (checker, spec, result) => {
    expect((await run(checker, spec)).results).toEqual([result]);
  });

  it('emc_clariion: a path whose LUN WWN changes between checks goes down', async () => {
    expect((await run('emc_clariion', 'sim:clariion-wwn-change', 3)).results).toEqual([
      up('emc_clariion', ': Active path is healthy'),
      down('emc_clariion', ': Logical Unit WWN has changed'),
      down('emc_clariion', ': Logical Unit WWN has changed'),
    ]);
  });

  it('retry budgets: readsector0 3 READs on a unit attention that never clears, cciss_tur and hp_sw none', async () => {
    expect(await run('readsector0', 'sim:unit-attention')).toEqual({ results: [down('readsector0')], commands: 3 });
    expect(await run('readsector0', 'sim:ua-then-ok')).toEqual({ results: [up('readsector0')], commands: 2 });
    expect(await run('cciss_tur', 'sim:unit-attention')).toEqual({ results: [down('cciss_tur')], commands: 1 });
    expect(await run('hp_sw', 'sim:unit-attention')).toEqual({ results: [down('hp_sw')], commands: 1 });
  });

  it('rdac: pc_init sets TAS once (MODE SENSE current, changeable, MODE SELECT), then one INQUIRY per check', async () => {
    expect(await run('rdac', 'sim:rdac-owner', 2)).toEqual({ results: [up('rdac'), up('rdac')], commands: 5 });
  });
});

// ------------------------------------------------------------------ the commands, byte by byte

const bytes = (a: Uint8Array) => [...a];
const CHECK_CONDITION = 0x02;
const fixed = (key: number, asc: number, ascq: number) => senseBytes('fixed', { key, asc, ascq });
const failWith = (hostStatus: number) => outcome({ hostStatus });

async function direct(name: string, ...answers: Completion[]): Promise<{ c: DirectChecker; dev: FakeDevice }> {
  const dev = new FakeDevice(`fake:${name}`, 512, 2048).answer(...answers);
  return { c: await DirectChecker.open(name, dev), dev };
}

describe('the commands each checker sends', () => {
  it('readsector0: READ(10) of LBA 0, transfer length 1, 4096 bytes of room', async () => {
    const { c, dev } = await direct('readsector0');
    expect(c.init()).toBe(0);
    expect(c.check()).toEqual({ state: PathState.UP, message: 'readsector0 checker reports path is up' });
    expect(dev.commands.map((x) => [bytes(x.cdb), x.dataInLength])).toEqual([[[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], 4096]]);
  });

  it('readsector0: sense in descriptor format counts as unit attention too', async () => {
    const ua = outcome({ status: CHECK_CONDITION, sense: senseBytes('descriptor', { key: 6, asc: 0x29, ascq: 0 }) });
    const { c, dev } = await direct('readsector0', ua, ua);
    c.init();
    expect(c.check().state).toBe(PathState.UP);
    expect(dev.commands).toHaveLength(3);
  });

  it('hp_sw: INQUIRY VPD 0x80 (255 bytes), then TUR; RECOVERED ERROR passes, ILLEGAL REQUEST is wild, a failing TUR ghost', async () => {
    const { c, dev } = await direct('hp_sw', outcome({ status: CHECK_CONDITION, sense: fixed(1, 0x17, 0) }), outcome({ hostStatus: 0x01 }));
    c.init();
    expect(c.check()).toEqual({ state: PathState.GHOST, message: 'hp_sw checker reports path is ghost' });
    expect(dev.commands.map((x) => [bytes(x.cdb), x.dataInLength])).toEqual([
      [[0x12, 1, 0x80, 0, 255, 0], 255],
      [[0, 0, 0, 0, 0, 0], 0],
    ]);
    const illegal = await direct('hp_sw', outcome({ status: CHECK_CONDITION, sense: fixed(5, 0x24, 0) }));
    illegal.c.init();
    expect(illegal.c.check()).toEqual({ state: PathState.WILD, message: "hp_sw checker doesn't support this device" });
    expect(illegal.dev.commands).toHaveLength(1);
  });

  it('rdac: pc_init does no I/O; the first check sets TAS (MODE SENSE(10) DBD of page 0x0A current, changeable, MODE SELECT(10) SP with TAS set), later ones only ask VPD 0xC9', async () => {
    const current = Uint8Array.from({ length: 20 }, (_, i) => (i === 1 ? 18 : i === 8 ? 0x0a : i === 9 ? 0x0a : i === 12 ? 0x33 : 0));
    const changeable = new Uint8Array(20);
    changeable[13] = 0x40;
    const { c, dev } = await direct('rdac', outcome({ dataIn: current }), outcome({ dataIn: changeable }), outcome());
    expect(c.init()).toBe(0);
    expect(dev.commands).toHaveLength(0);
    c.check();
    c.check();
    const expectedPage = [...current];
    expectedPage[13] = 0x40;
    const inquiry = [[0x12, 1, 0xc9, 0, 48, 0], [], 48];
    expect(dev.commands.map((x) => [bytes(x.cdb), bytes(x.dataOut), x.dataInLength])).toEqual([
      [[0x5a, 0x08, 0x0a, 0, 0, 0, 0, 0, 20, 0], [], 20],
      [[0x5a, 0x08, 0x4a, 0, 0, 0, 0, 0, 20, 0], [], 20],
      [[0x55, 0x01, 0, 0, 0, 0, 0, 0, 20, 0], expectedPage, 0],
      inquiry,
      inquiry,
    ]);
  });

  it('rdac: TAS already set, or not changeable, means no MODE SELECT; a failing MODE SENSE ends the init and the check goes on', async () => {
    const set = new Uint8Array(20);
    set[13] = 0x40;
    const opcodes = async (...answers: Completion[]) => {
      const { c, dev } = await direct('rdac', ...answers);
      c.init();
      c.check();
      return dev.commands.map((x) => x.cdb[0]);
    };
    expect(await opcodes(outcome({ dataIn: set }))).toEqual([0x5a, 0x12]);
    expect(await opcodes(outcome(), outcome())).toEqual([0x5a, 0x5a, 0x12]);
    expect(await opcodes({ errno: 29 })).toEqual([0x5a, 0x12]);
  });

  it('rdac: a check abandoned during its init starts the init over', async () => {
    const { c, dev } = await direct('rdac', LATER, outcome({ dataIn: Uint8Array.of(...new Array(13).fill(0), 0x40) }));
    c.init();
    expect(c.check()).toBe('wait');
    // Abandoned (its deadline): the host discards the late reply; the next check is a fresh pc_check.
    dev.finish();
    dev.io.release();
    c.check();
    expect(dev.commands.map((x) => x.cdb[0])).toEqual([0x5a, 0x5a, 0x12]);
  });

  it('rdac: INQUIRY VPD 0xC9 (48 bytes), 5 times in all after transport errors, then down: inquiry failed', async () => {
    const tasSet = outcome({ dataIn: Uint8Array.of(...new Array(13).fill(0), 0x40) });
    const fresh = await direct('rdac', tasSet, ...Array.from({ length: 5 }, () => failWith(0x0e)));
    expect(fresh.c.init()).toBe(0);
    expect(fresh.c.check()).toEqual({ state: PathState.DOWN, message: 'rdac checker reports path is down: inquiry failed' });
    expect(fresh.dev.commands.slice(1).map((x) => bytes(x.cdb))).toEqual(Array.from({ length: 5 }, () => [0x12, 1, 0xc9, 0, 48, 0]));
    // A host byte that is not a transport error is final at once.
    const once = await direct('rdac', tasSet, failWith(0x01));
    once.c.init();
    expect(once.c.check().state).toBe(PathState.DOWN);
    expect(once.dev.commands).toHaveLength(2);
  });

  it('emc_clariion: INQUIRY VPD 0xC0 (128 bytes); on an active path then READ(10) of LBA 0', async () => {
    const page = new Uint8Array(128);
    Object.assign(page, { 1: 0xc0, 4: 2, 27: 3, 28: 4, 30: 4 });
    const { c, dev } = await direct('emc_clariion', outcome({ dataIn: page }));
    c.init();
    expect(c.check()).toEqual({ state: PathState.UP, message: 'emc_clariion checker: Active path is healthy' });
    expect(dev.commands.map((x) => [bytes(x.cdb), x.dataInLength])).toEqual([
      [[0x12, 1, 0xc0, 0, 128, 0], 128],
      [[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], 4096],
    ]);
  });

  it('emc_clariion: a RECOVERED ERROR is still a query error (the status is not GOOD); transport errors are retried 5 times in all', async () => {
    const recovered = await direct('emc_clariion', outcome({ status: CHECK_CONDITION, sense: fixed(1, 0, 0) }));
    recovered.c.init();
    expect(recovered.c.check()).toEqual({ state: PathState.DOWN, message: 'emc_clariion checker: query command indicates error' });
    const busy = await direct('emc_clariion', ...Array.from({ length: 6 }, () => failWith(0x02)));
    busy.c.init();
    expect(busy.c.check().state).toBe(PathState.DOWN);
    expect(busy.dev.commands).toHaveLength(5);
  });

  it('cciss_tur: one TEST UNIT READY, nothing else', async () => {
    const { c, dev } = await direct('cciss_tur', outcome({ status: CHECK_CONDITION, sense: fixed(6, 0x29, 0) }));
    c.init();
    expect(c.check()).toEqual({ state: PathState.DOWN, message: 'cciss_tur checker reports path is down' });
    expect(dev.commands.map((x) => bytes(x.cdb))).toEqual([[0, 0, 0, 0, 0, 0]]);
  });

  it('directio: READ CAPACITY(10) at the first check (none in pc_init); one plain read of the derived block size at offset 0, parked while outstanding', async () => {
    const rc = (lastLba: number, length: number) => {
      const d = new Uint8Array(8);
      new DataView(d.buffer).setUint32(0, lastLba);
      new DataView(d.buffer).setUint32(4, length);
      return outcome({ dataIn: d });
    };
    const cases: [lastLba: number, length: number, block: number][] = [
      [2047, 512, 4096], // 1 MiB of 512-byte blocks: the kernel's soft block size is 4096
      [2, 512, 512], // 1.5 KiB: only 512 divides it
      [5, 512, 1024], // 3 KiB
      [255, 4096, 4096],
      [99, 8192, 4096], // over 4096: directio.c's DASD clamp
    ];
    for (const [lastLba, length, block] of cases) {
      const { c, dev } = await direct('directio', rc(lastLba, length), LATER);
      expect(c.init()).toBe(0);
      expect(dev.commands).toHaveLength(0);
      expect(c.check()).toBe('wait');
      expect(dev.commands.map((x) => bytes(x.cdb))).toEqual([[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]]);
      expect(dev.reads).toEqual([{ offset: 0, length: block }]);
      dev.finish();
      expect(c.pending()).toEqual({ state: PathState.UP, message: 'directio checker reports path is up' });
      // The block size is known from now on: the next check only reads.
      expect(c.check()).toEqual({ state: PathState.UP, message: 'directio checker reports path is up' });
      expect(dev.commands).toHaveLength(1);
    }
  });

  it('directio: READ CAPACITY failing means 4096; a short read is down; a read that cannot be submitted is unchecked', async () => {
    const failed = await direct('directio', { errno: 29 }, new Uint8Array(100));
    expect(failed.c.init()).toBe(0);
    expect(failed.c.check()).toEqual({ state: PathState.DOWN, message: 'directio checker reports path is down' });
    expect(failed.dev.reads).toEqual([{ offset: 0, length: 4096 }]);
    // A device of 1 block: the shim refuses a 4096-byte read past its end (EINVAL), as io_submit would refuse it.
    const tiny = new FakeDevice('fake:tiny', 512, 1).answer({ errno: 29 });
    const c = await DirectChecker.open('directio', tiny);
    c.init();
    expect(c.check()).toEqual({ state: PathState.UNCHECKED, message: 'directio checker is not available' });
  });
});
