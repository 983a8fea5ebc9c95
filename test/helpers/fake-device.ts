import type { Device, ScsiOutcome } from '../../host/backends/device.js';
import { IoKind, IoSlot } from '../../host/backends/io-slot.js';

/**
 * A test double of a backend Device, for unit-testing the WASI shim: it records (as copies) every
 * command submitted into its IoSlot and completes it with a programmed answer, at once or when the
 * test calls finish(): what a device that answers later (a timer, a socket) does from its I/O side.
 */

/** A device failure: the read of the reply (fd_read or fd_pread) answers this WASI errno. */
export interface Failure {
  readonly errno: number;
}

/** How a command completes: a SCSI outcome, a plain read's data, or a failure. */
export type Completion = ScsiOutcome | Uint8Array | Failure;

/** Programmed instead of a completion: leave the command SUBMITTED until the test calls finish(). */
export const LATER = 'later';

export interface ReceivedCommand {
  readonly cdb: Uint8Array;
  readonly dataOut: Uint8Array;
  readonly dataInLength: number;
}

export interface ReceivedRead {
  readonly offset: number;
  readonly length: number;
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

/** What a plain read returns by default: byte i is (offset + i) & 0xff. */
export function pattern(offset: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (offset + i) & 0xff);
}

export class FakeDevice implements Device {
  readonly commands: ReceivedCommand[] = [];
  readonly reads: ReceivedRead[] = [];
  /** Answers for the next submissions, in order; when they run out: GOOD, or the offset pattern for a read. */
  private readonly queue: Array<Completion | typeof LATER> = [];
  /** What start() was given for the outstanding command: finish() calls it, as a device's I/O side does. */
  private done: (() => void) | undefined;

  /** `io`: pass another FakeDevice's slot (new IoSlot(other.io.shared)) to be that device seen from another fd table. */
  constructor(
    readonly spec = 'fake:dev',
    readonly blockSize = 512,
    readonly blockCount = 2048,
    readonly io = IoSlot.create(),
  ) {}

  /** A test double lives on one thread only. */
  share(): never {
    throw new Error('FakeDevice cannot be shared with another thread');
  }

  close(): void {}

  /** How many times the host gave up on a started command. */
  abandoned = 0;

  abandon(): void {
    this.abandoned++;
  }

  /** Queue answers for the next submissions. */
  answer(...answers: Array<Completion | typeof LATER>): this {
    this.queue.push(...answers);
    return this;
  }

  submitted(): void {
    const io = this.io;
    if (io.kind === IoKind.READ) {
      this.reads.push({ offset: io.readOffset, length: io.readLength });
    } else {
      const c = io.command();
      this.commands.push({ cdb: c.cdb.slice(), dataOut: c.dataOut.slice(), dataInLength: c.dataInLength });
    }
    const next = this.queue.shift();
    if (next !== LATER) this.finish(next);
  }

  start(done: () => void): void {
    this.done = done;
  }

  /** Complete the outstanding command (no answer: the default one), then call start()'s done if it had one. */
  finish(answer?: Completion): void {
    const io = this.io;
    if (answer === undefined) answer = io.kind === IoKind.READ ? pattern(io.readOffset, io.readLength) : outcome();
    if (answer instanceof Uint8Array) {
      io.stageData(answer);
      io.ready();
    } else if ('errno' in answer) {
      io.fail(answer.errno);
    } else {
      io.complete(answer);
    }
    const done = this.done;
    this.done = undefined;
    done?.();
  }
}
