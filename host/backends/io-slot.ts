import type { ScsiCommand, ScsiOutcome } from './device.js';

/**
 * The one command a device has outstanding (the sg v2 default queue of one), in shared memory so that
 * every thread sees the same command: the worker that submits it, the I/O side (main thread) that
 * runs it, and the worker that later reads its reply, which may be another one.
 *
 * States: IDLE -> FILLING (a submitter won the slot by CAS and writes the command) -> SUBMITTED ->
 * STARTED (the I/O side claimed it by CAS) -> COMPLETE (the reply is readable) -> IDLE (read, or
 * discarded). A device that can answer at once goes from SUBMITTED straight to COMPLETE on the submitting
 * thread. Entering FILLING and STARTED are CASes, so in every other state exactly one party writes; the
 * state cell is stored last and loaded first (release/acquire). OWNER is the pool job whose plugin call
 * submitted the command: only that job may settle it, because several bindings of one device (a path
 * across a hot reload) share the slot.
 */
export const IoState = { IDLE: 0, SUBMITTED: 1, STARTED: 2, COMPLETE: 3, FILLING: 4 } as const;
export const IoKind = { SCSI: 1, READ: 2 } as const;

const Cell = {
  STATE: 0,
  KIND: 1,
  CDB_LEN: 2,
  DATA_OUT_LEN: 3,
  DATA_IN_LEN: 4,
  /** The sg frame's pack_id and reply_len, echoed in the reply: per-command, so here. */
  PACK_ID: 5,
  REPLY_LEN: 6,
  READ_LENGTH: 7,
  ERRNO: 8,
  STATUS: 9,
  HOST: 10,
  DRIVER: 11,
  SENSE_LEN: 12,
  DATA_LEN: 13,
  /** For the backend's own use while the command is outstanding (the sim keeps its plan here). */
  PLAN: 14,
  PLAN_ARG: 15,
  OWNER: 16,
  /** Commands ever submitted (wraps): tells one outstanding command from the next. */
  SERIAL: 17,
} as const;
const CELLS = 18;
/** Float64 cells after the Int32 ones: the read offset, and a backend time (the sim's due time). */
const F64_BASE = CELLS * 4;
const F64 = { READ_OFFSET: 0, DUE_AT: 1 } as const;
const F64_CELLS = 2;
const CDB_AT = F64_BASE + F64_CELLS * 8;
const CDB_MAX = 16;
const SENSE_AT = CDB_AT + CDB_MAX;
/** Sense bytes a slot keeps: more than the sg header carries (16), as a transport may send more. */
export const IO_SENSE_MAX = 96;
const CONTROL_BYTES = SENSE_AT + IO_SENSE_MAX;
/** Largest data-out or data-in of one command: what one sg frame may carry. */
export const IO_DATA_MAX = 65536;
/** Data bytes committed at first: INQUIRY and a 512-byte block fit; grows to the largest transfer. */
const INITIAL_DATA = 1024;

/**
 * The two buffers of a slot, structured-clonable: fixed cells, CDB and sense (every command touches
 * them, so they are in a plain SharedArrayBuffer, fast for Atomics), and data-out/data-in in a growable
 * one (only commands that move data touch it).
 */
export interface IoShare {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

/** How a backend plans to finish a command it could not finish at once (PLAN cell). */
export const IoPlan = { NONE: 0, TIMER: 1, HANG: 2 } as const;

export class IoSlot {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;
  /** Length-tracking: follows the data buffer when any thread grows it. */
  private readonly bytes: Uint8Array;
  private readonly dataBuffer: SharedArrayBuffer;

  constructor(readonly shared: IoShare) {
    const { control, data } = shared;
    if (control.byteLength !== CONTROL_BYTES) throw new Error(`io slot control buffer must be ${CONTROL_BYTES} bytes`);
    if (!data.growable || data.maxByteLength < IO_DATA_MAX) throw new Error('io slot data buffer must be a growable SharedArrayBuffer');
    this.i32 = new Int32Array(control, 0, CELLS);
    this.f64 = new Float64Array(control, F64_BASE, F64_CELLS);
    this.u8 = new Uint8Array(control);
    this.bytes = new Uint8Array(data);
    this.dataBuffer = data;
  }

  static create(): IoSlot {
    return new IoSlot({ control: new SharedArrayBuffer(CONTROL_BYTES), data: new SharedArrayBuffer(INITIAL_DATA, { maxByteLength: IO_DATA_MAX }) });
  }

  get state(): number {
    return Atomics.load(this.i32, Cell.STATE);
  }

  /** A command is outstanding or its reply unread: nothing else may be sent to the device. */
  get busy(): boolean {
    return this.state !== IoState.IDLE;
  }

  get kind(): number {
    return this.i32[Cell.KIND]!;
  }

  private room(bytes: number): void {
    if (this.dataBuffer.byteLength < bytes) this.dataBuffer.grow(bytes);
  }

  get serial(): number {
    return this.i32[Cell.SERIAL]!;
  }

  /** The job that submitted the outstanding command (0: none or not a pool job). */
  get owner(): number {
    return this.i32[Cell.OWNER]!;
  }

  /** Win the idle slot for a new command; false (EBUSY) when something is outstanding or unread. */
  private begin(owner: number): boolean {
    if (Atomics.compareExchange(this.i32, Cell.STATE, IoState.IDLE, IoState.FILLING) !== IoState.IDLE) return false;
    this.i32[Cell.OWNER] = owner;
    this.i32[Cell.SERIAL] = (this.i32[Cell.SERIAL]! + 1) | 0;
    return true;
  }

  /** Submit a SCSI command (sizes within the maxima); false when the slot is not idle. */
  submitScsi(cdb: Uint8Array, dataOut: Uint8Array, dataInLength: number, packId: number, replyLen: number, owner = 0): boolean {
    if (!this.begin(owner)) return false;
    const c = this.i32;
    this.room(Math.max(dataOut.length, dataInLength));
    this.u8.set(cdb, CDB_AT);
    if (dataOut.length > 0) this.bytes.set(dataOut, 0);
    c[Cell.KIND] = IoKind.SCSI;
    c[Cell.CDB_LEN] = cdb.length;
    c[Cell.DATA_OUT_LEN] = dataOut.length;
    c[Cell.DATA_IN_LEN] = dataInLength;
    c[Cell.PACK_ID] = packId;
    c[Cell.REPLY_LEN] = replyLen;
    this.submitted();
    return true;
  }

  /** Submit a plain read of `length` bytes at byte `offset`; false when the slot is not idle. */
  submitRead(offset: number, length: number, owner = 0): boolean {
    if (!this.begin(owner)) return false;
    this.room(length);
    this.i32[Cell.KIND] = IoKind.READ;
    this.i32[Cell.READ_LENGTH] = length;
    this.f64[F64.READ_OFFSET] = offset;
    this.submitted();
    return true;
  }

  private submitted(): void {
    const c = this.i32;
    c[Cell.ERRNO] = 0;
    c[Cell.DATA_LEN] = 0;
    c[Cell.SENSE_LEN] = 0;
    c[Cell.PLAN] = IoPlan.NONE;
    Atomics.store(c, Cell.STATE, IoState.SUBMITTED);
  }

  /** The outstanding SCSI command, as a backend runs it (views into the slot: read before completing). */
  command(): ScsiCommand {
    const c = this.i32;
    return {
      cdb: this.u8.subarray(CDB_AT, CDB_AT + c[Cell.CDB_LEN]!),
      dataOut: this.bytes.subarray(0, c[Cell.DATA_OUT_LEN]!),
      dataInLength: c[Cell.DATA_IN_LEN]!,
    };
  }

  /** Byte `i` of the outstanding command's CDB, without making views (a backend's hot path). */
  cdbByte(i: number): number {
    return this.u8[CDB_AT + i]!;
  }

  get readOffset(): number {
    return this.f64[F64.READ_OFFSET]!;
  }

  get readLength(): number {
    return this.i32[Cell.READ_LENGTH]!;
  }

  get packId(): number {
    return this.i32[Cell.PACK_ID]!;
  }

  get replyLen(): number {
    return this.i32[Cell.REPLY_LEN]!;
  }

  /** The I/O side takes a submitted command; false if it was not SUBMITTED (someone else has it). */
  claim(): boolean {
    return Atomics.compareExchange(this.i32, Cell.STATE, IoState.SUBMITTED, IoState.STARTED) === IoState.SUBMITTED;
  }

  /** Write a SCSI outcome without making it readable yet (a backend that answers later). */
  stage(outcome: ScsiOutcome): void {
    const c = this.i32;
    const data = Math.min(outcome.dataIn.length, c[Cell.DATA_IN_LEN]!);
    const sense = Math.min(outcome.sense.length, IO_SENSE_MAX);
    // Most answers carry neither: no views made for them.
    if (sense > 0) this.u8.set(outcome.sense.subarray(0, sense), SENSE_AT);
    if (data > 0) this.bytes.set(outcome.dataIn.subarray(0, data), 0);
    c[Cell.ERRNO] = 0;
    c[Cell.STATUS] = outcome.status;
    c[Cell.HOST] = outcome.hostStatus;
    c[Cell.DRIVER] = outcome.driverStatus;
    c[Cell.SENSE_LEN] = sense;
    c[Cell.DATA_LEN] = data;
  }

  /** Write the data of a plain read (at most the length asked for). */
  stageData(data: Uint8Array): void {
    const n = Math.min(data.length, this.readLength);
    this.bytes.set(data.subarray(0, n), 0);
    this.i32[Cell.ERRNO] = 0;
    this.i32[Cell.DATA_LEN] = n;
  }

  /** The device could not be reached: the read (fd_read or fd_pread) answers this WASI errno. */
  stageFailure(errno: number): void {
    this.i32[Cell.ERRNO] = errno;
    this.i32[Cell.DATA_LEN] = 0;
    this.i32[Cell.SENSE_LEN] = 0;
  }

  /** Make the staged outcome readable. */
  ready(): void {
    Atomics.store(this.i32, Cell.STATE, IoState.COMPLETE);
  }

  complete(outcome: ScsiOutcome): void {
    this.stage(outcome);
    this.ready();
  }

  fail(errno: number): void {
    this.stageFailure(errno);
    this.ready();
  }

  /** Reply fields, valid in COMPLETE. */
  get errno(): number {
    return this.i32[Cell.ERRNO]!;
  }
  get status(): number {
    return this.i32[Cell.STATUS]!;
  }
  get hostStatus(): number {
    return this.i32[Cell.HOST]!;
  }
  get driverStatus(): number {
    return this.i32[Cell.DRIVER]!;
  }
  get sense(): Uint8Array {
    return this.u8.subarray(SENSE_AT, SENSE_AT + this.i32[Cell.SENSE_LEN]!);
  }
  get senseLength(): number {
    return this.i32[Cell.SENSE_LEN]!;
  }
  get data(): Uint8Array {
    return this.bytes.subarray(0, this.i32[Cell.DATA_LEN]!);
  }
  get dataLength(): number {
    return this.i32[Cell.DATA_LEN]!;
  }

  /** The reply was read (or is discarded): the device may take the next command. */
  release(): void {
    this.i32[Cell.OWNER] = 0;
    Atomics.store(this.i32, Cell.STATE, IoState.IDLE);
  }

  /** The backend's plan for finishing the command later: what, an argument, and when. */
  setPlan(plan: number, arg: number, dueAt: number): void {
    this.i32[Cell.PLAN] = plan;
    this.i32[Cell.PLAN_ARG] = arg;
    this.f64[F64.DUE_AT] = dueAt;
  }
  get plan(): number {
    return this.i32[Cell.PLAN]!;
  }
  get planArg(): number {
    return this.i32[Cell.PLAN_ARG]!;
  }
  get dueAt(): number {
    return this.f64[F64.DUE_AT]!;
  }
}
