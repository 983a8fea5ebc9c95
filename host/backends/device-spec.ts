import type { Device } from './device.js';
import { SimDevice } from './sim/sim-device.js';

/** A device spec that names no known backend or that its backend refuses. */
export class DeviceSpecError extends Error {
  override readonly name = 'DeviceSpecError';
}

const BACKENDS: Record<string, (spec: string) => Device> = {
  sim: (spec) => SimDevice.fromSpec(spec),
};

/** Open the device a spec names: `<scheme>:<rest>`, e.g. `sim:standby?id=lun3`. */
export function openDevice(spec: string): Device {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new DeviceSpecError(`device spec '${spec}' has no scheme (expected <scheme>:..., schemes: ${Object.keys(BACKENDS).join(', ')})`);
  const scheme = spec.slice(0, colon);
  const open = BACKENDS[scheme];
  if (open === undefined) throw new DeviceSpecError(`unknown device scheme '${scheme}' in '${spec}' (known: ${Object.keys(BACKENDS).join(', ')})`);
  try {
    return open(spec);
  } catch (e) {
    throw new DeviceSpecError((e as Error).message);
  }
}
