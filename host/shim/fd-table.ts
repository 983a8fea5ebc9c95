import type { Device } from '../backends/device.js';
import { SgChannel } from './sg-channel.js';

export type FdEntry =
  | { readonly kind: 'stdio'; readonly fd: 0 | 1 | 2 }
  | { readonly kind: 'dir'; readonly name: string }
  | { readonly kind: 'device'; readonly device: Device; readonly channel: SgChannel; readonly hostOwned: boolean };

/** fd 3 is the device namespace, preopened. */
export const PREOPEN_FD = 3;
/**
 * The path's device during one plugin call: the host points fd 4 at the device of the context the call
 * runs for, so a check can reach its own device and no other path's (docs/ABI.md "File descriptors").
 */
export const CALL_FD = 4;
const FIRST_FREE_FD = 5;

/** One instance's file descriptors. Numbers of closed fds are reused lowest first, as POSIX does. */
export class FdTable {
  private readonly entries = new Map<number, FdEntry>();
  /** No fd below this is free: opening scans from here, so binding n paths is not O(n^2). */
  private lowestFree = FIRST_FREE_FD;
  private callEntry: { readonly kind: 'device'; device: Device; readonly channel: SgChannel; readonly hostOwned: true } | null = null;

  constructor(preopenName: string) {
    this.entries.set(0, { kind: 'stdio', fd: 0 });
    this.entries.set(1, { kind: 'stdio', fd: 1 });
    this.entries.set(2, { kind: 'stdio', fd: 2 });
    this.entries.set(PREOPEN_FD, { kind: 'dir', name: preopenName });
  }

  get(fd: number): FdEntry | undefined {
    return this.entries.get(fd);
  }

  /** Point CALL_FD at `device` for the call about to run (null: the call has no device; CALL_FD is closed). */
  setCallDevice(device: Device | null): number {
    if (device === null) {
      this.entries.delete(CALL_FD);
      return -1;
    }
    // One entry and one channel, retargeted per call: checking 16k paths allocates nothing per call.
    if (this.callEntry === null) this.callEntry = { kind: 'device', device, channel: new SgChannel(device), hostOwned: true };
    this.callEntry.device = device;
    this.callEntry.channel.device = device;
    this.entries.set(CALL_FD, this.callEntry);
    return CALL_FD;
  }

  /** Close CALL_FD if it still points at `device` (the device is gone; the retargeted entry keeps it until the next call). */
  dropCallDevice(device: Device): void {
    if (this.callEntry?.device === device && this.entries.get(CALL_FD) === this.callEntry) this.entries.delete(CALL_FD);
  }

  /**
   * Open a device at the lowest free fd from 5. `hostOwned`: the plugin may not close it; false for a
   * device the plugin named itself (path_open).
   */
  openDevice(device: Device, hostOwned = true): number {
    let fd = this.lowestFree;
    while (this.entries.has(fd)) fd++;
    this.entries.set(fd, { kind: 'device', device, channel: new SgChannel(device), hostOwned });
    this.lowestFree = fd + 1;
    return fd;
  }

  /** Close a device fd; stdio and the preopen stay (closing them would strand the plugin). */
  close(fd: number): boolean {
    const entry = this.entries.get(fd);
    if (entry?.kind !== 'device') return false;
    this.entries.delete(fd);
    this.lowestFree = Math.min(this.lowestFree, fd);
    return true;
  }

  /** Number of open device fds: what a leak test watches. */
  get deviceCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.kind === 'device') n++;
    return n;
  }
}
