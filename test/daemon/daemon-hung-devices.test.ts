import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, sleep, stopAllDaemons, waitUntil } from '../helpers/daemon-process.js';

// Black-box: the built daemon with 2 workers (the default here) and many silent devices. Before the
// non-blocking device model, every hung device held a worker for checker_timeout, and with more hung
// devices than workers every healthy path went `timeout` (issue 9: 97 of 105 healthy paths).

afterEach(async () => {
  await stopAllDaemons();
});

const HUNG = 40;
const HEALTHY = 100;

describe('hung devices cost a parked check, not a thread', () => {
  it(`2 workers, ${HUNG} hung and ${HEALTHY} healthy paths: every healthy path is up and none was ever timeout`, async () => {
    const hung = Array.from({ length: HUNG }, (_, i) => `sim:hang?id=h${i}`);
    const healthy = Array.from({ length: HEALTHY }, (_, i) => `sim:ok?id=o${i}`);
    const d = await DaemonProcess.start({
      config: { workers: 2, pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 2, paths: [...hung, ...healthy] },
    });
    const log = await d.events();
    // Long enough for every hung path to pass its checker_timeout twice over.
    await sleep(5000);
    const rows = await d.paths();
    const healthyRows = rows.filter((r) => healthy.includes(r.device));
    const hungRows = rows.filter((r) => hung.includes(r.device));
    expect(healthyRows).toHaveLength(HEALTHY);
    expect(healthyRows.filter((r) => r.state !== 'up').map((r) => `${r.device}: ${r.state}`)).toEqual([]);
    // Checked on time all along: polling_interval 1, so several checks each by now.
    for (const r of healthyRows) expect(r.checks).toBeGreaterThanOrEqual(3);
    // The hung ones did time out, and then are pending while their command is outstanding.
    expect(hungRows.every((r) => r.state === 'timeout' || r.state === 'pending')).toBe(true);
    expect(hungRows.filter((r) => r.state === 'pending').length).toBeGreaterThan(0);
    const healthyTimeouts = log.events.filter((e) => e.type === 'state' && healthy.includes(e.path as string) && (e.to === 'timeout' || e.to === 'pending'));
    expect(healthyTimeouts).toEqual([]);
    const hungTimeouts = log.events.filter((e) => e.type === 'state' && hung.includes(e.path as string) && e.to === 'timeout');
    expect(hungTimeouts.length).toBe(HUNG);
    // No thread waits on a device: both workers are idle between checks, and no worker was replaced.
    const stats = await d.stats();
    expect(stats.pool.workers).toBe(2);
    expect(stats.pool.replaced).toBe(0);
    expect(stats.pool.busy).toBeLessThan(2);
  }, 60_000);

  it('a hung device released later answers again: the late reply is discarded, the next check is up', async () => {
    const d = await DaemonProcess.start({
      config: { workers: 2, pollingInterval: 1, maxPollingInterval: 1, checkerTimeout: 1, paths: ['sim:hang?id=h'] },
    });
    const log = await d.events();
    await log.waitFor('the hung path times out', (e) => e.type === 'state' && e.to === 'timeout', 10_000);
    // Pending while the abandoned command is outstanding: nothing else is sent to the device.
    await log.waitFor('then pending', (e) => e.type === 'state' && e.from === 'timeout' && e.to === 'pending', 10_000);
    await sleep(2500);
    expect((await d.path('sim:hang?id=h'))?.state).toBe('pending');
    const before = (await d.path('sim:hang?id=h'))!.checks;
    // The device recovers: it answers its outstanding command (discarded) and the next check is new.
    await d.request('fault', { spec: 'sim:hang?id=h', scenario: 'ok' });
    await waitUntil('the path is up again', async () => (await d.path('sim:hang?id=h'))?.state === 'up', 10_000);
    expect((await d.path('sim:hang?id=h'))!.checks).toBeGreaterThan(before);
  }, 30_000);
});
