import type { Deadline } from './deadline.js';

/** One SCSI command as a backend sees it: the CDB, any data-out bytes and how much data-in fits. */
export interface ScsiCommand {
  readonly cdb: Uint8Array;
  readonly dataOut: Uint8Array;
  readonly dataInLength: number;
}

/** What the target (or the transport in front of it) answered. */
export interface ScsiOutcome {
  /** SAM status byte: 0x00 GOOD, 0x02 CHECK CONDITION, 0x08 BUSY, 0x18 RESERVATION CONFLICT. */
  readonly status: number;
  /** Linux host byte (DID_*): 0 DID_OK, 1 DID_NO_CONNECT, ... */
  readonly hostStatus: number;
  /** Linux driver byte (DRIVER_*), without DRIVER_SENSE: the shim adds that when sense is present. */
  readonly driverStatus: number;
  /** Sense data as the target sent it (fixed or descriptor format); empty when none. Read-only to callers. */
  readonly sense: Uint8Array;
  /** Read-only to callers: a backend may hand out the same bytes again. */
  readonly dataIn: Uint8Array;
}

/** What another thread needs to attach to the same device; structured-clonable. */
export interface DeviceShare {
  readonly spec: string;
  readonly shared: SharedArrayBuffer;
}

/** A failure below SCSI: the device could not be reached at all. `errno` is a WASI errno. */
export interface DeviceFailure {
  readonly errno: number;
}

/**
 * A device a checker can be pointed at. Calls are synchronous: inside a host thread a device blocks
 * (Atomics.wait, sliced by the deadline) until it has an answer, and gives up when the deadline does.
 */
export interface Device {
  /** The spec the device was created from, e.g. `sim:standby?id=lun3`. */
  readonly spec: string;
  readonly blockSize: number;
  readonly blockCount: number;
  scsi(command: ScsiCommand, deadline: Deadline): ScsiOutcome | DeviceFailure;
  /** Plain read of `length` bytes at byte `offset` (directio, readsector0). */
  read(offset: number, length: number, deadline: Deadline): Uint8Array | DeviceFailure;
  /** How a host worker thread attaches to this same device (see attachDevice). */
  share(): DeviceShare;
}

export function isFailure(x: object): x is DeviceFailure {
  return 'errno' in x;
}
