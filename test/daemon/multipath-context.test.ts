import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, stopAllDaemons, waitUntil } from '../helpers/daemon-process.js';

// The multipath context (docs/ABI.md): paths with the same wwid share their checker's multipath word.
// emc_clariion keeps "inactive snapshot" there, so a passive path of an inactive snapshot LU goes down
// with its active path; a passive path of another multipath does not.

afterEach(stopAllDaemons);

const ACTIVE = 'sim:clariion-inactive-snapshot?id=spa';
const SAME_LU = 'sim:clariion-passive?id=spb';
const OTHER_LU = 'sim:clariion-passive?id=other';

describe('pathcheckd: the paths of one multipath share their checker context', () => {
  it('an active path finding an inactive snapshot takes the passive path of its wwid down, not one of another wwid; a good read clears it', async () => {
    const d = await DaemonProcess.start({
      config: {
        pollingInterval: 1,
        maxPollingInterval: 1,
        paths: [
          { device: ACTIVE, checker: 'emc_clariion', wwid: 'lu-1' },
          { device: SAME_LU, checker: 'emc_clariion', wwid: 'lu-1' },
          { device: OTHER_LU, checker: 'emc_clariion', wwid: 'lu-2' },
        ],
      },
    });
    const state = async (spec: string) => (await d.path(spec))?.state;
    await waitUntil('the passive path of the inactive snapshot down', async () => (await state(SAME_LU)) === 'down', 10_000, 100);
    expect(await d.path(SAME_LU)).toMatchObject({ message: 'emc_clariion checker reports path is down' });
    expect(await d.path(ACTIVE)).toMatchObject({ state: 'down', message: 'emc_clariion checker reports path is down' });
    expect(await state(OTHER_LU)).toBe('up');
    // The snapshot becomes active: the active path's good READ clears the multipath's mark.
    await d.request('fault', { spec: ACTIVE, scenario: 'clariion-active' });
    await waitUntil('the passive path up again', async () => (await state(SAME_LU)) === 'up', 10_000, 100);
    expect(await state(ACTIVE)).toBe('up');
  });

  it('without a wwid a path is in no multipath: the same passive path stays up', async () => {
    const d = await DaemonProcess.start({
      config: { pollingInterval: 1, maxPollingInterval: 1, paths: [{ device: ACTIVE, checker: 'emc_clariion' }, { device: SAME_LU, checker: 'emc_clariion' }] },
    });
    await waitUntil('the active path down', async () => (await d.path(ACTIVE))?.state === 'down', 10_000, 100);
    // Two more rounds.
    await new Promise((r) => setTimeout(r, 2200));
    expect((await d.path(SAME_LU))?.state).toBe('up');
  });
});
