import { expect } from 'vitest';
import type { ScsiCommand, ScsiOutcome, DeviceFailure } from '../../host/backends/device.js';
import { isFailure } from '../../host/backends/device.js';

export const TUR: ScsiCommand = { cdb: new Uint8Array(6), dataOut: new Uint8Array(0), dataInLength: 0 };

export function inquiry(dataInLength: number, evpd = false): ScsiCommand {
  return { cdb: Uint8Array.of(0x12, evpd ? 1 : 0, 0, 0, dataInLength, 0), dataOut: new Uint8Array(0), dataInLength };
}

/** Expected sense bytes, written out independently of the code under test. */
export function fixedSense(key: number, asc: number, ascq: number): number[] {
  return [0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0];
}

export function descriptorSense(key: number, asc: number, ascq: number): number[] {
  return [0x72, key, asc, ascq, 0, 0, 0, 0];
}

export function outcome(x: ScsiOutcome | DeviceFailure): ScsiOutcome {
  if (isFailure(x)) throw new Error(`expected a SCSI outcome, got errno ${x.errno}`);
  return x;
}

export function errnoOf(x: object): number {
  expect(isFailure(x)).toBe(true);
  return (x as DeviceFailure).errno;
}

/** Status, host byte and sense of an outcome as plain values for toEqual. */
export function answer(x: ScsiOutcome | DeviceFailure): { status: number; host: number; sense: number[] } {
  const o = outcome(x);
  return { status: o.status, host: o.hostStatus, sense: [...o.sense] };
}
