import type { Device } from '../backends/device.js';
import { SgChannel } from './sg-channel.js';

export type FdEntry =
  | { readonly kind: 'stdio'; readonly fd: 0 | 1 | 2 }
  | { readonly kind: 'dir'; readonly name: string }
  | { readonly kind: 'device'; readonly device: Device; readonly channel: SgChannel; readonly hostOwned: boolean };

/** fd 3 is the device namespace, preopened; device fds are handed out from here on. */
export const PREOPEN_FD = 3;
const FIRST_FREE_FD = 4;

/** One instance's file descriptors. Numbers of closed fds are reused lowest first, as POSIX does. */
export class FdTable {
  private readonly entries = new Map<number, FdEntry>();
  /** No fd below this is free: opening scans from here, so binding n paths is not O(n^2). */
  private lowestFree = FIRST_FREE_FD;

  constructor(preopenName: string) {
    this.entries.set(0, { kind: 'stdio', fd: 0 });
    this.entries.set(1, { kind: 'stdio', fd: 1 });
    this.entries.set(2, { kind: 'stdio', fd: 2 });
    this.entries.set(PREOPEN_FD, { kind: 'dir', name: preopenName });
  }

  get(fd: number): FdEntry | undefined {
    return this.entries.get(fd);
  }

  /**
   * Open a device. `hostOwned`: the host opened it for a path and hands it to every check; the plugin
   * may not close it (a closed number would be reused for another path's device).
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
