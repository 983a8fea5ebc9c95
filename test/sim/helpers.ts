import { expect } from 'vitest';
import type { Device, ScsiCommand } from '../../host/backends/device.js';
import { IoKind, IoState, type IoSlot } from '../../host/backends/io-slot.js';

export const TUR: ScsiCommand = { cdb: new Uint8Array(6), dataOut: new Uint8Array(0), dataInLength: 0 };

/** INQUIRY: standard data, or with `page` the VPD page of that code. */
export function inquiry(dataInLength: number, page?: number): ScsiCommand {
  return { cdb: Uint8Array.of(0x12, page === undefined ? 0 : 1, page ?? 0, 0, dataInLength, 0), dataOut: new Uint8Array(0), dataInLength };
}

/** Expected sense bytes, written out independently of the code under test. */
export function fixedSense(key: number, asc: number, ascq: number): number[] {
  return [0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0];
}

export function descriptorSense(key: number, asc: number, ascq: number): number[] {
  return [0x72, key, asc, ascq, 0, 0, 0, 0];
}

/** A completed command as plain values for toEqual: a SCSI answer, a read's data, or a failure's errno. */
export type Reply = { status: number; host: number; driver: number; sense: number[]; data: number[] } | { data: number[] } | { errno: number };

/** The SCSI answer a scenario gives without data (driver byte 0: DRIVER_SENSE is the shim's to add). */
export function scsiReply(status: number, host = 0, sense: number[] = [], data: number[] = []): Reply {
  return { status, host, driver: 0, sense, data };
}

/** Submit a SCSI command into the device's slot and hand it to the device, as the shim's fd_write does. */
export function submit(d: Device, cmd: ScsiCommand = TUR): IoSlot {
  d.io.submitScsi(cmd.cdb, cmd.dataOut, cmd.dataInLength, 0, 36 + cmd.dataInLength);
  d.submitted();
  return d.io;
}

/** Submit a plain read, as the shim's fd_pread does. */
export function submitRead(d: Device, offset: number, length: number): IoSlot {
  d.io.submitRead(offset, length);
  d.submitted();
  return d.io;
}

/** Read the completed command's outcome and free the slot, as the shim's read of a reply does. */
export function take(io: IoSlot): Reply {
  expect(io.state).toBe(IoState.COMPLETE);
  const data = [...io.data];
  const reply: Reply =
    io.errno !== 0
      ? { errno: io.errno }
      : io.kind === IoKind.READ
        ? { data }
        : { status: io.status, host: io.hostStatus, driver: io.driverStatus, sense: [...io.sense], data };
  io.release();
  return reply;
}

/** A command on a device that answers at once: submitted, then its reply. */
export function scsi(d: Device, cmd: ScsiCommand = TUR): Reply {
  return take(submit(d, cmd));
}

export function read(d: Device, offset: number, length: number): Reply {
  return take(submitRead(d, offset, length));
}

/**
 * The host's I/O side (the pool, on the main thread) for a command the device did not answer at once:
 * claim it, start it; resolves when the device calls done.
 */
export function started(d: Device): Promise<void> {
  expect(d.io.state).toBe(IoState.SUBMITTED);
  expect(d.io.claim()).toBe(true);
  return new Promise<void>((done) => d.start(done));
}
