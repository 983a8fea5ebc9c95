import type { Deadline } from '../../host/backends/deadline.js';
import type { Device, DeviceFailure, ScsiCommand, ScsiOutcome } from '../../host/backends/device.js';

/**
 * A test double of a backend Device, for unit-testing the WASI shim: it answers with programmed
 * outcomes and records (as copies) everything it was asked.
 */

/** A programmed answer: a fixed outcome, or a function of the command and the deadline. */
export type ScsiAnswer = ScsiOutcome | DeviceFailure | ((command: ScsiCommand, deadline: Deadline) => ScsiOutcome | DeviceFailure);
export type ReadAnswer = Uint8Array | DeviceFailure | ((offset: number, length: number, deadline: Deadline) => Uint8Array | DeviceFailure);

/** A command as the device saw it, copied at the moment it arrived. */
export interface ReceivedCommand {
  readonly cdb: Uint8Array;
  readonly dataOut: Uint8Array;
  readonly dataInLength: number;
  readonly deadline: Deadline;
}

export interface ReceivedRead {
  readonly offset: number;
  readonly length: number;
  readonly deadline: Deadline;
}

/** An outcome with GOOD status unless overridden. */
export function outcome(o: Partial<{ status: number; hostStatus: number; driverStatus: number; sense: ArrayLike<number>; dataIn: ArrayLike<number> }> = {}): ScsiOutcome {
  return {
    status: o.status ?? 0,
    hostStatus: o.hostStatus ?? 0,
    driverStatus: o.driverStatus ?? 0,
    sense: Uint8Array.from(o.sense ?? []),
    dataIn: Uint8Array.from(o.dataIn ?? []),
  };
}

export class FakeDevice implements Device {
  readonly commands: ReceivedCommand[] = [];
  readonly reads: ReceivedRead[] = [];
  /** Answers given in order, one per command; when they run out, `scsiDefault` answers. */
  readonly scsiQueue: ScsiAnswer[] = [];
  scsiDefault: ScsiAnswer = outcome();
  readonly readQueue: ReadAnswer[] = [];
  /** Default plain read: `length` bytes, byte i = (offset + i) & 0xff. */
  readDefault: ReadAnswer = (offset, length) => Uint8Array.from({ length }, (_, i) => (offset + i) & 0xff);

  constructor(
    readonly spec = 'fake:dev',
    readonly blockSize = 512,
    readonly blockCount = 2048,
  ) {}

  /** A test double lives on one thread only. */
  share(): never {
    throw new Error('FakeDevice cannot be shared with another thread');
  }

  /** Queue answers for the next commands. */
  answer(...answers: ScsiAnswer[]): this {
    this.scsiQueue.push(...answers);
    return this;
  }

  scsi(command: ScsiCommand, deadline: Deadline): ScsiOutcome | DeviceFailure {
    this.commands.push({ cdb: command.cdb.slice(), dataOut: command.dataOut.slice(), dataInLength: command.dataInLength, deadline });
    const a = this.scsiQueue.shift() ?? this.scsiDefault;
    return typeof a === 'function' ? a(command, deadline) : a;
  }

  read(offset: number, length: number, deadline: Deadline): Uint8Array | DeviceFailure {
    this.reads.push({ offset, length, deadline });
    const a = this.readQueue.shift() ?? this.readDefault;
    return typeof a === 'function' ? a(offset, length, deadline) : a;
  }
}
