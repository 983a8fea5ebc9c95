import type { Device } from '../backends/device.js';

/** The preopened directory a plugin sees (fd 3): names of devices it may `path_open`. */
export const NAMESPACE_DIR = 'dev';
const MAX_NAME_BYTES = 255;

export class DeviceNamespace {
  private readonly devices = new Map<string, Device>();

  /** Publish a device under `name`. Names are single path components: no '/', no '.' or '..'. */
  add(name: string, device: Device): void {
    const problem = nameProblem(name);
    if (problem) throw new Error(`device name '${name}' ${problem}`);
    if (this.devices.has(name)) throw new Error(`device name '${name}' is already in the namespace`);
    this.devices.set(name, device);
  }

  remove(name: string): boolean {
    return this.devices.delete(name);
  }

  lookup(name: string): Device | undefined {
    return this.devices.get(name);
  }

  get size(): number {
    return this.devices.size;
  }
}

export function nameProblem(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return 'is not a device name';
  if (name.includes('/')) return "must not contain '/'";
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return null;
}
