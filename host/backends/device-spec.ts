import type { Device, DeviceShare } from './device.js';
import { IscsiDevice } from './iscsi/iscsi-device.js';
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
  iscsi: { open: (spec) => IscsiDevice.fromSpec(spec), attach: (s) => IscsiDevice.fromShared(s) },
};

/** C0, DEL, C1 and the Unicode line separators: what could drive a terminal or forge a log line. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const MAX_SPEC_LENGTH = 1024;

/** Open the device a spec names: `<scheme>:<rest>`, e.g. `sim:standby?id=lun3`. */
export function openDevice(spec: string): Device {
  // A spec is shown in tables, logs and events: refused with a control character, never echoed with one.
  const control = CONTROL.exec(spec);
  if (control !== null) {
    throw new DeviceSpecError(`device spec has a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} at offset ${control.index}); a spec is printable text`);
  }
  if (spec.length > MAX_SPEC_LENGTH) throw new DeviceSpecError(`device spec is ${spec.length} characters long, over the ${MAX_SPEC_LENGTH}-character limit`);
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
