import { crossThreadNow } from '../cross-thread-now.js';
import type { Device, DeviceShare, ScsiOutcome } from '../device.js';
import { IoKind, IoPlan, IoSlot } from '../io-slot.js';
import { commandKind, plainRead, type CommandKind } from './command-kind.js';
import { LBA_OUT_OF_RANGE, SIM_BLOCK_SIZE, blockPattern, capacityData, readRange, serialOf, vpdPage } from './disk-data.js';
import { inquiryData } from './inquiry-data.js';
import { MAX_SCENARIO_PARAMS, type Answer, type Program, type Quantity, type Response, type Scenario } from './scenario-file.js';
import { CODES, SCENARIOS, isGood } from './scenario.js';
import { SENSE_FORMATS, senseBytes, type SenseData } from '../sense-bytes.js';
import { parseScenarioChange, parseSimSpec } from './sim-spec.js';
import { SimState, type Snapshot } from './sim-state.js';

export { COUNTER_INDEX, RELEASE_INDEX } from './sim-state.js';

const NO_BYTES = new Uint8Array(0);

const GOOD: Answer = { kind: 'answer', status: CODES.GOOD, hostStatus: CODES.DID_OK, sense: null, senseFormat: null, senseLength: null, data: null, latency: { value: 0 }, readErrno: CODES.EIO };
/** What a hung command answers once released: the `ok` answer. */
const RELEASED = GOOD;
const illegalRequest = (sense: SenseData): Answer => ({ ...GOOD, status: CODES.CHECK_CONDITION, sense: { ...sense, key: CODES.ILLEGAL_REQUEST } });
/** ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00): a target's answer to a VPD or mode page it does not have. */
const INVALID_FIELD_IN_CDB = illegalRequest({ key: 0, asc: 0x24, ascq: 0x00 });
const OUT_OF_RANGE = illegalRequest(LBA_OUT_OF_RANGE);

/**
 * Outcomes are made once per answer and sense format, so a steady check does not allocate.
 * They are shared: a caller copies bytes out of `sense` and `dataIn` and never writes to them.
 */
const outcomes = new Map<Answer, readonly ScsiOutcome[]>();

function outcomeOf(answer: Answer, senseFormat: number): ScsiOutcome {
  let byFormat = outcomes.get(answer);
  if (byFormat === undefined) {
    byFormat = SENSE_FORMATS.map((_, format) => ({
      status: answer.status,
      hostStatus: answer.hostStatus,
      driverStatus: 0,
      sense: senseOf(answer, format),
      dataIn: answer.data ?? NO_BYTES,
    }));
    outcomes.set(answer, byFormat);
  }
  return byFormat[senseFormat]!;
}

/** The answer's sense bytes in its own format if it names one, else the device's; cut or zero-filled to its length. */
function senseOf(answer: Answer, deviceFormat: number): Uint8Array {
  if (answer.sense === null) return NO_BYTES;
  const bytes = senseBytes(SENSE_FORMATS[answer.senseFormat ?? deviceFormat]!, answer.sense);
  if (answer.senseLength === null) return bytes;
  const sized = new Uint8Array(answer.senseLength);
  sized.set(bytes.subarray(0, answer.senseLength));
  return sized;
}

/** The scenario's program for a command: the one keyed for its page, else for its name, else the default. */
function programFor(scenario: Scenario, kind: CommandKind): number {
  if (kind.name === null) return 0;
  return scenario.commands.get(kind.key) ?? (kind.page >= 0 ? scenario.commands.get(kind.name) : undefined) ?? 0;
}

function resolve(q: Quantity, params: Int32Array): number {
  return 'value' in q ? q.value : params[q.slot]!;
}

/**
 * The response to the program's command number `k` (never negative: a command counted across a
 * scenario change is counted again under the new setting).
 */
function pick(program: Program, k: number, params: Int32Array): Response {
  switch (program.kind) {
    case 'repeat':
      return program.response;
    case 'sequence':
      return program.responses[Math.min(Math.max(k, 0), program.responses.length - 1)]!;
    case 'alternate': {
      const every = resolve(program.every, params);
      const period = every * program.responses.length;
      return program.responses[Math.floor((((k % period) + period) % period) / every)]!;
    }
  }
}

/**
 * A hard hang blocks the submitting thread, as a call stuck in a driver would, so the host must
 * terminate the thread. Bounded all the same, so that nothing can block forever.
 */
const HARD_HANG_MS = 600_000;


/**
 * A simulated SCSI disk running a scenario from scenarios.json. All mutable state is in `shared` (and
 * the command slot in `io`), so SimDevice objects on several threads (fromShared) are one device, and
 * setScenario/release from any thread affect commands outstanding on the others.
 *
 * Completion (DESIGN.md "Devices complete asynchronously"): the submitting worker picks the response;
 * an immediate one is readable before fd_write returns, a `latency=` one is staged and made readable by
 * a main-thread timer, a `hang` one when a release comes; `hang-hard` blocks the submitting thread.
 */
export class SimDevice implements Device {
  readonly blockSize = SIM_BLOCK_SIZE;
  /** Scratch for reading the shared setting: one thread's calls on this object never overlap. */
  private readonly snapshot: Snapshot = { scenario: 0, sense: 0, seq: 0 };
  private readonly params = new Int32Array(MAX_SCENARIO_PARAMS);
  private readonly cdbByte = (i: number): number => this.io.cdbByte(i);
  /** READ CAPACITY (10) and (16) data, made at first use. */
  private capacity: [Uint8Array, Uint8Array] | null = null;
  /** VPD pages by page code (null: none), made at first use. */
  private readonly vpd = new Map<number, Uint8Array | null>();

  private constructor(
    readonly spec: string,
    readonly blockCount: number,
    private readonly serial: string,
    private readonly state: SimState,
    readonly io: IoSlot,
  ) {}

  /** A new device; throws SimSpecError for a bad spec. */
  static fromSpec(spec: string): SimDevice {
    const parsed = parseSimSpec(spec);
    const setting = { scenario: parsed.scenario.index, sense: SENSE_FORMATS.indexOf(parsed.sense), params: parsed.params };
    return new SimDevice(spec, parsed.blocks, serialOf(parsed.id), SimState.create(setting), IoSlot.create());
  }

  /** Attach to the device whose state is `share` (made by fromSpec with the same spec, maybe on another thread). */
  static fromShared(share: DeviceShare): SimDevice {
    const parsed = parseSimSpec(share.spec);
    return new SimDevice(share.spec, parsed.blocks, serialOf(parsed.id), new SimState(share.shared), new IoSlot(share.io));
  }

  get shared(): SharedArrayBuffer {
    return this.state.shared;
  }

  share(): DeviceShare {
    return { spec: this.spec, shared: this.state.shared, io: this.io.shared };
  }

  /** A simulated hang stands for a device that answers nothing, an abort included: the command stays. */
  abandon(): void {}

  /** A simulated disk holds nothing outside its shared memory. */
  close(): void {}

  get scenarioName(): string {
    this.state.read(this.snapshot, this.params);
    return SCENARIOS[this.snapshot.scenario]!.name;
  }

  /** Commands (SCSI and reads) this device has received, on all threads. */
  get commandCount(): number {
    return this.state.commandCount;
  }

  /**
   * Switch scenario at run time, e.g. `standby` or `flap?every=3`. Parameters not given take the
   * scenario's defaults; the sense format is kept unless given; id and blocks cannot change. Commands
   * hung at this moment are released (they answer like `ok`), as a device that recovers answers what it
   * had outstanding: otherwise a path abandoned on a hung command would stay pending for good.
   */
  setScenario(scenarioSpec: string): void {
    const change = parseScenarioChange(scenarioSpec);
    const sense = change.sense === undefined ? undefined : SENSE_FORMATS.indexOf(change.sense);
    this.state.write({ scenario: change.scenario.index, sense, params: change.params });
    this.state.release();
  }

  /** Answer every command hung at this moment; each answers like `ok`. */
  release(): void {
    this.state.release();
  }

  /** Count the command, pick its response, and complete it now or plan how it completes later. */
  submitted(): void {
    const io = this.io;
    // Read before the setting, so a release that comes while this command hangs is never missed.
    const seen = this.state.releaseGeneration;
    const kind = io.kind === IoKind.READ ? plainRead() : commandKind(this.cdbByte);
    // The program depends on the setting, and its count on the program: counted under a setting that
    // changed meanwhile, a command is taken back and placed in the new one (as its command 0 onwards).
    let scenario;
    let program;
    let count;
    for (;;) {
      this.state.read(this.snapshot, this.params);
      scenario = SCENARIOS[this.snapshot.scenario]!;
      program = programFor(scenario, kind);
      count = this.state.count(program);
      if (this.state.unchanged(this.snapshot.seq)) break;
      this.state.uncount(program, count);
    }
    const response = pick(scenario.programs[program]!, this.state.numberIn(program, count), this.params);
    switch (response.kind) {
      case 'hang':
        if (response.hard) {
          if (this.state.waitRelease(seen, HARD_HANG_MS)) this.stageAnswer(RELEASED, kind);
          else io.stageFailure(CODES.ETIMEDOUT);
          io.ready();
          return;
        }
        this.stageAnswer(RELEASED, kind);
        io.setPlan(IoPlan.HANG, seen, 0);
        return;
      case 'fail':
        io.stageFailure(response.errno);
        return this.after(resolve(response.latency, this.params));
      case 'answer':
        this.stageAnswer(response, kind);
        return this.after(resolve(response.latency, this.params));
    }
  }

  start(done: () => void): void {
    const io = this.io;
    const finish = () => {
      io.ready();
      done();
    };
    switch (io.plan) {
      case IoPlan.TIMER:
        setTimeout(finish, Math.max(0, io.dueAt - crossThreadNow())).unref();
        return;
      case IoPlan.HANG: {
        const wait = this.state.releaseWait(io.planArg);
        if (wait === null) finish();
        else void wait.then(finish);
        return;
      }
      default:
        // Submitted but never picked (its thread died in between): the command is lost, as on a bus reset.
        io.stageFailure(CODES.EIO);
        finish();
    }
  }

  /** Readable now, or at a time a main-thread timer keeps. */
  private after(latencyMs: number): void {
    if (latencyMs === 0) this.io.ready();
    else this.io.setPlan(IoPlan.TIMER, 0, crossThreadNow() + latencyMs);
  }

  private stageAnswer(answer: Answer, kind: CommandKind): void {
    const io = this.io;
    const { scenario, sense } = this.snapshot;
    if (io.kind === IoKind.READ) {
      if (!isGood(answer)) return io.stageFailure(answer.readErrno);
      return io.stageData(blockPattern(io.readOffset, io.readLength));
    }
    if (!isGood(answer) || answer.data !== null) return io.stage(outcomeOf(answer, sense));
    const good = outcomeOf(answer, sense);
    switch (kind.name) {
      case 'INQUIRY':
        return io.stage({ ...good, dataIn: inquiryData(SCENARIOS[scenario]!.name) });
      case 'INQUIRY VPD': {
        if (!this.vpd.has(kind.page)) this.vpd.set(kind.page, vpdPage(kind.page, this.serial));
        const page = this.vpd.get(kind.page)!;
        return io.stage(page === null ? outcomeOf(INVALID_FIELD_IN_CDB, sense) : { ...good, dataIn: page });
      }
      case 'MODE SENSE(6)':
      case 'MODE SENSE(10)':
        return io.stage(outcomeOf(INVALID_FIELD_IN_CDB, sense));
      case 'READ CAPACITY(10)':
      case 'READ CAPACITY(16)':
        this.capacity ??= [capacityData(this.blockCount, false), capacityData(this.blockCount, true)];
        return io.stage({ ...good, dataIn: this.capacity[kind.name === 'READ CAPACITY(16)' ? 1 : 0] });
      case 'READ(10)':
      case 'READ(16)': {
        const { lba, count } = readRange(kind, this.cdbByte);
        if (lba + count > this.blockCount) return io.stage(outcomeOf(OUT_OF_RANGE, sense));
        return io.stage({ ...good, dataIn: blockPattern(lba * SIM_BLOCK_SIZE, Math.min(count * SIM_BLOCK_SIZE, io.command().dataInLength)) });
      }
      default:
        return io.stage(good);
    }
  }
}
