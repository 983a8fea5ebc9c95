import type { IoShare, IoSlot } from './io-slot.js';

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
  /** The backend's own shared state. */
  readonly shared: SharedArrayBuffer;
  /** The device's command slot. */
  readonly io: IoShare;
}

/**
 * A device a checker can be pointed at, submit-then-complete (DESIGN.md "Checks never wait on a
 * thread"). A worker submits a command into `io` (the shim does, on fd_write / fd_pread) and calls
 * `submitted()`: a device that can answer without I/O completes it right there. Otherwise the command
 * stays SUBMITTED until the host's I/O side (the main thread) claims it and calls `start(done)`; the
 * device completes it from its own I/O side (a timer, a socket) and calls `done`, which makes the fd
 * readable and resumes the parked check. Nothing here waits on a thread, except what stands for a call
 * stuck in a driver (sim `hang-hard`).
 */
export interface Device {
  /** The spec the device was created from, e.g. `sim:standby?id=lun3`. */
  readonly spec: string;
  /** The device's capacity, for the shim's bounds check of a plain read; 0 while the backend has not learnt it (the backend checks then). */
  readonly blockSize: number;
  readonly blockCount: number;
  readonly io: IoSlot;
  /** On the submitting thread, right after a submit: complete now if the device can. */
  submitted(): void;
  /** On the I/O side, for a command this side claimed: finish it later, then call `done` once. Never throws. */
  start(done: () => void): void;
  /**
   * On the I/O side, for a command it started: no check waits for its answer any more (the check's
   * deadline passed, or it ended without waiting). A backend that can cancel the command does (iSCSI:
   * ABORT TASK) and still completes it through `done`; one that cannot lets it run. Never throws.
   */
  abandon(): void;
  /** How a host worker thread attaches to this same device (see attachDevice). */
  share(): DeviceShare;
  /** On the thread that opened it, once no path uses it: release what it holds (an iSCSI session reference). */
  close(): void;
}
