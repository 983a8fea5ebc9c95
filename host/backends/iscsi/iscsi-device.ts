import type { Device, DeviceShare, ScsiOutcome } from '../device.js';
import { IoKind, IoSlot } from '../io-slot.js';
import {
  READ_CAPACITY_10,
  READ_CAPACITY_10_LENGTH,
  READ_CAPACITY_16,
  READ_CAPACITY_16_LENGTH,
  UNIT_ATTENTION_RETRIES,
  blockRead,
  capacityStale,
  decodeCapacity,
  isGood,
  isUnitAttention,
} from './block-read.js';
import type { IscsiSession, ScsiTask } from './iscsi-session.js';
import { iscsiSessions } from './iscsi-sessions.js';
import { parseIscsiSpec, type IscsiSpec } from './iscsi-spec.js';
import { LunCapacity } from './lun-capacity.js';

/** WASI errnos a command can end with here: one the backend cannot carry (a write), and a failed plain read. */
const EINVAL = 28;
const EIO = 29;

/**
 * A LUN behind an iSCSI target. On a worker it is only its command slot (`submitted` leaves the command
 * for the I/O side) and its capacity; on the main thread `start` sends it on the target's shared session
 * and completes the slot when the response PDU arrives. The session is taken at the first command, not
 * at open: a spec opened to be checked (a reconfigure that validates) connects nothing.
 *
 * A plain read (fd_pread) becomes READ(10)/(16) of the blocks that cover it, after READ CAPACITY at the
 * LUN's first read; it fails EIO however the target or the transport failed, as a block device's read
 * does for most SCSI failures.
 */
export class IscsiDevice implements Device {
  private session: IscsiSession | null = null;
  /** The command this device started and the session has not answered yet. */
  private current: ScsiTask | null = null;
  private closed = false;

  private constructor(
    readonly spec: string,
    private readonly target: IscsiSpec,
    readonly io: IoSlot,
    private readonly capacity: LunCapacity,
  ) {}

  static fromSpec(spec: string): IscsiDevice {
    return new IscsiDevice(spec, parseIscsiSpec(spec), IoSlot.create(), LunCapacity.create());
  }

  static fromShared(share: DeviceShare): IscsiDevice {
    return new IscsiDevice(share.spec, parseIscsiSpec(share.spec), new IoSlot(share.io), new LunCapacity(share.shared));
  }

  /** 0 until the LUN's first plain read asked READ CAPACITY: the shim then leaves the bounds to `start`. */
  get blockSize(): number {
    return this.capacity.blockSize;
  }

  get blockCount(): number {
    return this.capacity.blockCount;
  }

  share(): DeviceShare {
    return { spec: this.spec, shared: this.capacity.shared, io: this.io.shared };
  }

  /** Nothing to answer locally: every command goes to the target. */
  submitted(): void {}

  start(done: () => void): void {
    const io = this.io;
    if (io.kind === IoKind.READ) return this.read(io.readOffset, io.readLength, done);
    const { cdb, dataOut, dataInLength } = io.command();
    if (io.kind !== IoKind.SCSI || dataOut.length > 0 || this.closed) return this.fail(EINVAL, done);
    this.send(cdb.slice(), dataInLength, (outcome) => {
      io.complete(outcome);
      done();
    });
  }

  /** The check gave up on the command (its deadline): ABORT TASK, so that the LUN's next check is not held `pending`. */
  abandon(): void {
    if (this.current !== null) this.session?.abort(this.current);
  }

  close(): void {
    this.closed = true;
    if (this.session !== null) iscsiSessions.release(this.session);
    this.session = null;
  }

  private fail(errno: number, done: () => void): void {
    this.io.fail(errno);
    done();
  }

  private send(cdb: Uint8Array, dataInLength: number, then: (outcome: ScsiOutcome) => void): void {
    this.session ??= iscsiSessions.acquire(this.target);
    const task: ScsiTask = {
      lun: this.target.lun,
      cdb,
      dataInLength,
      done: (outcome) => {
        if (this.current === task) this.current = null;
        then(outcome);
      },
    };
    this.current = task;
    this.session.submit(task);
  }

  /** `attempts`: unit attentions met so far; each sends the command again (once the capacity is re-read if stale). */
  private read(offset: number, length: number, done: () => void, attempts = 0): void {
    // Closed while READ CAPACITY was out: its session is released, nothing more is sent.
    if (this.closed) return this.fail(EINVAL, done);
    if (this.capacity.blockCount === 0) return this.askCapacity(false, attempts, (n) => this.read(offset, length, done, n), done);
    const { blockSize, blockCount } = this.capacity;
    if (offset + length > blockSize * blockCount) return this.fail(EINVAL, done);
    if (length === 0) return this.answer(new Uint8Array(0), done);
    const r = blockRead(offset, length, blockSize);
    this.send(r.cdb, r.bytes, (o) => {
      if (isGood(o) && o.dataIn.length >= r.skip + length) return this.answer(o.dataIn.subarray(r.skip, r.skip + length), done);
      if (capacityStale(o)) this.capacity.forget();
      if (isUnitAttention(o) && attempts < UNIT_ATTENTION_RETRIES) return this.read(offset, length, done, attempts + 1);
      this.fail(EIO, done);
    });
  }

  /** READ CAPACITY(10), and (16) when the LUN is too large for it; `then` once the capacity is known. */
  private askCapacity(sixteen: boolean, attempts: number, then: (attempts: number) => void, done: () => void): void {
    if (this.closed) return this.fail(EINVAL, done);
    this.send(sixteen ? READ_CAPACITY_16 : READ_CAPACITY_10, sixteen ? READ_CAPACITY_16_LENGTH : READ_CAPACITY_10_LENGTH, (o) => {
      if (isUnitAttention(o) && attempts < UNIT_ATTENTION_RETRIES) return this.askCapacity(sixteen, attempts + 1, then, done);
      const c = isGood(o) ? decodeCapacity(o.dataIn, sixteen) : null;
      if (c === 'ask-16' && !sixteen) return this.askCapacity(true, attempts, then, done);
      if (c === null || c === 'ask-16') return this.fail(EIO, done);
      this.capacity.set(c.blockSize, c.blockCount);
      then(attempts);
    });
  }

  private answer(data: Uint8Array, done: () => void): void {
    this.io.stageData(data);
    this.io.ready();
    done();
  }
}
