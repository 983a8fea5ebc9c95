import { Deadline } from '../deadline.js';
import { isFailure, type Device, type DeviceFailure, type DeviceShare, type ScsiCommand, type ScsiOutcome } from '../device.js';
import { inquiryData } from './inquiry-data.js';
import { MAX_SCENARIO_PARAMS, type Answer, type Program, type Quantity, type Response } from './scenario-file.js';
import { CODES, SCENARIOS, isGood } from './scenario.js';
import { SENSE_FORMATS, senseBytes } from './sense-bytes.js';
import { parseScenarioChange, parseSimSpec } from './sim-spec.js';
import { SimState, type Snapshot } from './sim-state.js';

export { COUNTER_INDEX, RELEASE_INDEX } from './sim-state.js';

const BLOCK_SIZE = 512;
const INQUIRY = 0x12;
/** INQUIRY CDB byte 1 bit 0: a vital product data page is asked for, which a simulated disk has none of. */
const EVPD = 0x01;
const NO_BYTES = new Uint8Array(0);

/** What a hung command answers once released: the `ok` answer. */
const RELEASED: Answer = { kind: 'answer', status: CODES.GOOD, hostStatus: CODES.DID_OK, sense: null, latency: { value: 0 }, readErrno: CODES.EIO };
/** ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00): a target's answer to an EVPD page it does not have. */
const INVALID_FIELD_IN_CDB: Answer = {
  kind: 'answer',
  status: CODES.CHECK_CONDITION,
  hostStatus: CODES.DID_OK,
  sense: { key: CODES.ILLEGAL_REQUEST, asc: 0x24, ascq: 0x00 },
  latency: { value: 0 },
  readErrno: CODES.EIO,
};

/**
 * Outcomes are made once per answer and sense format, so a steady check does not allocate.
 * They are shared: a caller copies bytes out of `sense` and `dataIn` and never writes to them.
 */
const outcomes = new Map<Answer, readonly ScsiOutcome[]>();

function outcomeOf(answer: Answer, senseFormat: number): ScsiOutcome {
  let byFormat = outcomes.get(answer);
  if (byFormat === undefined) {
    byFormat = SENSE_FORMATS.map((format) => ({
      status: answer.status,
      hostStatus: answer.hostStatus,
      driverStatus: 0,
      sense: answer.sense === null ? NO_BYTES : senseBytes(format, answer.sense),
      dataIn: NO_BYTES,
    }));
    outcomes.set(answer, byFormat);
  }
  return byFormat[senseFormat]!;
}

function failure(errno: number): DeviceFailure {
  return { errno };
}

function resolve(q: Quantity, params: Int32Array): number {
  return 'value' in q ? q.value : params[q.slot]!;
}

/**
 * The response to the scenario's command number `k`. k < 0 only for a command counted just before a
 * concurrent scenario change that then read the new setting: it is placed inside the new program.
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
 * A hard hang ignores the caller's deadline and cancellation: it blocks its thread, as a device stuck
 * in the kernel would, so the host must terminate the thread. Bounded all the same, so that nothing
 * (an in-thread `pathcheck check`, say) can block forever.
 */
const HARD_HANG_MS = 600_000;

function hardHang(): Deadline {
  return Deadline.after(HARD_HANG_MS);
}

/**
 * A simulated SCSI disk running a scenario from scenarios.json. All mutable state is in `shared`, so
 * SimDevice objects on several threads (fromShared) are one device, and setScenario/release from any
 * thread affect commands running on the others.
 */
export class SimDevice implements Device {
  readonly blockSize = BLOCK_SIZE;
  /** Scratch for reading the shared setting: one thread's calls on this object never overlap. */
  private readonly snapshot: Snapshot = { scenario: 0, sense: 0, base: 0 };
  private readonly params = new Int32Array(MAX_SCENARIO_PARAMS);

  private constructor(
    readonly spec: string,
    readonly blockCount: number,
    private readonly state: SimState,
  ) {}

  /** A new device; throws SimSpecError for a bad spec. */
  static fromSpec(spec: string): SimDevice {
    const parsed = parseSimSpec(spec);
    const setting = { scenario: parsed.scenario.index, sense: SENSE_FORMATS.indexOf(parsed.sense), params: parsed.params };
    return new SimDevice(spec, parsed.blocks, SimState.create(setting));
  }

  /** Attach to the device whose state is `shared` (made by fromSpec with the same spec, maybe on another thread). */
  static fromShared(spec: string, shared: SharedArrayBuffer): SimDevice {
    return new SimDevice(spec, parseSimSpec(spec).blocks, new SimState(shared));
  }

  get shared(): SharedArrayBuffer {
    return this.state.shared;
  }

  share(): DeviceShare {
    return { spec: this.spec, shared: this.state.shared };
  }

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
   * scenario's defaults; the sense format is kept unless given; id and blocks cannot change.
   */
  setScenario(scenarioSpec: string): void {
    const change = parseScenarioChange(scenarioSpec);
    const sense = change.sense === undefined ? undefined : SENSE_FORMATS.indexOf(change.sense);
    this.state.write({ scenario: change.scenario.index, sense, params: change.params });
  }

  /** Wake every command hung at this moment; each answers like `ok`. */
  release(): void {
    this.state.release();
  }

  scsi(command: ScsiCommand, deadline: Deadline): ScsiOutcome | DeviceFailure {
    const answer = this.respond(deadline);
    if (isFailure(answer)) return answer;
    const { scenario, sense } = this.snapshot;
    if (command.cdb[0] === INQUIRY && isGood(answer)) {
      if ((command.cdb[1]! & EVPD) !== 0) return outcomeOf(INVALID_FIELD_IN_CDB, sense);
      const data = inquiryData(SCENARIOS[scenario]!.name);
      return { ...outcomeOf(answer, sense), dataIn: data.subarray(0, Math.min(data.length, command.dataInLength)) };
    }
    return outcomeOf(answer, sense);
  }

  /** A read not wholly inside the device fails with EINVAL before it reaches the target, uncounted. */
  read(offset: number, length: number, deadline: Deadline): Uint8Array | DeviceFailure {
    const inside = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
    if (!inside || offset + length > this.blockCount * BLOCK_SIZE) return failure(CODES.EINVAL);
    const answer = this.respond(deadline);
    if (isFailure(answer)) return answer;
    if (!isGood(answer)) return failure(answer.readErrno);
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = (offset + i) & 0xff;
    return data;
  }

  /** Count the command, pick its response and wait out its latency or hang. Leaves the setting used in `snapshot`. */
  private respond(deadline: Deadline): Answer | DeviceFailure {
    const n = this.state.count();
    // Read before the setting, so a release that comes while this command hangs is never missed.
    const seen = this.state.releaseGeneration;
    this.state.read(this.snapshot, this.params);
    const response = pick(SCENARIOS[this.snapshot.scenario]!.program, (n - this.snapshot.base) | 0, this.params);
    switch (response.kind) {
      case 'hang':
        return this.state.waitRelease(seen, response.hard ? hardHang() : deadline) ? RELEASED : failure(CODES.ETIMEDOUT);
      case 'fail':
        return this.delay(response.latency, deadline) ? failure(response.errno) : failure(CODES.ETIMEDOUT);
      case 'answer':
        return this.delay(response.latency, deadline) ? response : failure(CODES.ETIMEDOUT);
    }
  }

  /** False when the deadline cut the latency short. */
  private delay(latency: Quantity, deadline: Deadline): boolean {
    const ms = resolve(latency, this.params);
    return ms === 0 || deadline.sleep(ms);
  }
}
