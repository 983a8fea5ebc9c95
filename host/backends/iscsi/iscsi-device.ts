import type { Device, DeviceShare } from '../device.js';
import { IoKind, IoSlot } from '../io-slot.js';
import type { IscsiSession, ScsiTask } from './iscsi-session.js';
import { iscsiSessions } from './iscsi-sessions.js';
import { parseIscsiSpec, type IscsiSpec } from './iscsi-spec.js';

/** EINVAL: what a command the backend cannot carry gets (a write, a plain read before READ CAPACITY exists). */
const EINVAL = 28;

/**
 * A LUN behind an iSCSI target. On a worker it is only its command slot (`submitted` leaves the command
 * for the I/O side); on the main thread `start` sends it on the target's shared session and completes
 * the slot when the response PDU arrives. The session is taken at the first command, not at open:
 * a spec opened to be checked (a reconfigure that validates) connects nothing.
 */
export class IscsiDevice implements Device {
  readonly blockSize = 512;
  /** Unknown until READ CAPACITY is asked for: plain reads are refused (no checker on this backend does them yet). */
  readonly blockCount = 0;
  private session: IscsiSession | null = null;
  /** The command this device started and the session has not answered yet. */
  private current: ScsiTask | null = null;
  private closed = false;

  private constructor(
    readonly spec: string,
    private readonly target: IscsiSpec,
    readonly io: IoSlot,
  ) {}

  static fromSpec(spec: string): IscsiDevice {
    return new IscsiDevice(spec, parseIscsiSpec(spec), IoSlot.create());
  }

  static fromShared(share: DeviceShare): IscsiDevice {
    return new IscsiDevice(share.spec, parseIscsiSpec(share.spec), new IoSlot(share.io));
  }

  share(): DeviceShare {
    return { spec: this.spec, shared: new SharedArrayBuffer(0), io: this.io.shared };
  }

  /** Nothing to answer locally: every command goes to the target. */
  submitted(): void {}

  start(done: () => void): void {
    const io = this.io;
    if (io.kind !== IoKind.SCSI) {
      io.fail(EINVAL);
      return done();
    }
    const { cdb, dataOut, dataInLength } = io.command();
    if (dataOut.length > 0 || this.closed) {
      io.fail(EINVAL);
      return done();
    }
    this.session ??= iscsiSessions.acquire(this.target);
    const task: ScsiTask = {
      lun: this.target.lun,
      cdb: cdb.slice(),
      dataInLength,
      done: (outcome) => {
        if (this.current === task) this.current = null;
        io.complete(outcome);
        done();
      },
    };
    this.current = task;
    this.session.submit(task);
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
}
