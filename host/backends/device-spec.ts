import type { Device, DeviceShare } from './device.js';
import { SimDevice } from './sim/sim-device.js';

/** A device spec that names no known backend or that its backend refuses. */
export class DeviceSpecError extends Error {
  override readonly name = 'DeviceSpecError';
}

interface Backend {
  open(spec: string): Device;
  attach(share: DeviceShare): Device;
}

const BACKENDS: Record<string, Backend> = {
  sim: { open: (spec) => SimDevice.fromSpec(spec), attach: (s) => SimDevice.fromShared(s) },
};

/** Open the device a spec names: `<scheme>:<rest>`, e.g. `sim:standby?id=lun3`. */
export function openDevice(spec: string): Device {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new DeviceSpecError(`device spec '${spec}' has no scheme (expected <scheme>:..., schemes: ${Object.keys(BACKENDS).join(', ')})`);
  const scheme = spec.slice(0, colon);
  const backend = BACKENDS[scheme];
  if (backend === undefined) throw new DeviceSpecError(`unknown device scheme '${scheme}' in '${spec}' (known: ${Object.keys(BACKENDS).join(', ')})`);
  try {
    return backend.open(spec);
  } catch (e) {
    throw new DeviceSpecError((e as Error).message);
  }
}

/** Attach, on this thread, to a device opened on another (the same device, not a copy). */
export function attachDevice(share: DeviceShare): Device {
  return BACKENDS[share.spec.slice(0, share.spec.indexOf(':'))]!.attach(share);
}
