import { BHS_LENGTH, MAX_DATA_SEGMENT_LENGTH, dataSegmentLength, padded, totalAhsBytes } from './bhs.js';
import { checkTargetBhs, decodeTargetPdu } from './pdu-decode.js';
import { PduError } from './pdu-error.js';
import { opcodeName } from './pdu-opcode.js';
import type { TargetPdu } from './target-pdu.js';

/**
 * RFC 7143 defines no AHS a target sends; a few words are skipped, more is a broken stream. The bound
 * keeps the buffer at one PDU: 48 + AHS + the negotiated data segment + padding.
 */
export const MAX_AHS_BYTES = 64;
/** RFC 7143 13.12: MaxRecvDataSegmentLength is 512 to 2^24 - 1; 8192 until the initiator declares one. */
export const MIN_RECV_DATA_SEGMENT_LENGTH = 512;
export const DEFAULT_RECV_DATA_SEGMENT_LENGTH = 8192;

export interface PduReaderOptions {
  /** The MaxRecvDataSegmentLength the initiator declared: no target PDU may carry more data. */
  readonly maxRecvDataSegmentLength?: number;
}

/**
 * The byte stream from the target cut into PDUs, whatever the chunking. It never holds more than the
 * PDU being read; its header is checked (pdu-decode checkTargetBhs, AHS bound, data segment limit)
 * before the rest is read. The first PduError kills the reader: every later push throws it again, for
 * the session drops the connection (RFC 7143 gives no way to resynchronise a stream without markers).
 * PDUs the failing chunk completed before the error go down with the connection.
 */
export class PduReader {
  #maxData: number;
  readonly #bhs = new Uint8Array(BHS_LENGTH);
  #bhsHave = 0;
  /** The AHS, data segment and padding of the PDU whose BHS is in; undefined while reading a BHS. */
  #rest: Uint8Array | undefined;
  #restHave = 0;
  #error: PduError | undefined;

  constructor(options: PduReaderOptions = {}) {
    this.#maxData = checkLimit(options.maxRecvDataSegmentLength ?? DEFAULT_RECV_DATA_SEGMENT_LENGTH);
  }

  /** A new limit (the operational value the initiator declared), for every PDU whose BHS is not complete yet. */
  setMaxRecvDataSegmentLength(n: number): void {
    this.#maxData = checkLimit(n);
  }

  /** Bytes held of the PDU being read. */
  get buffered(): number {
    return this.#rest === undefined ? this.#bhsHave : BHS_LENGTH + this.#restHave;
  }

  /** Bytes from the target, any amount: the PDUs they complete, in order. */
  push(chunk: Uint8Array): TargetPdu[] {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#take(chunk);
    } catch (e) {
      if (e instanceof PduError) this.#error = e;
      throw e;
    }
  }

  #take(chunk: Uint8Array): TargetPdu[] {
    const pdus: TargetPdu[] = [];
    let at = 0;
    for (;;) {
      if (this.#rest === undefined) {
        const n = Math.min(BHS_LENGTH - this.#bhsHave, chunk.length - at);
        this.#bhs.set(chunk.subarray(at, at + n), this.#bhsHave);
        this.#bhsHave += n;
        at += n;
        if (this.#bhsHave < BHS_LENGTH) return pdus;
        this.#rest = new Uint8Array(this.#restLength());
      }
      const n = Math.min(this.#rest.length - this.#restHave, chunk.length - at);
      this.#rest.set(chunk.subarray(at, at + n), this.#restHave);
      this.#restHave += n;
      at += n;
      if (this.#restHave < this.#rest.length) return pdus;
      pdus.push(this.#finish(this.#rest));
    }
  }

  /** Checks the BHS just completed; how many bytes follow it. */
  #restLength(): number {
    const name = opcodeName(checkTargetBhs(this.#bhs));
    const ahs = totalAhsBytes(this.#bhs);
    if (ahs > MAX_AHS_BYTES) throw new PduError(`${name}: TotalAHSLength ${ahs / 4} words over the ${MAX_AHS_BYTES / 4} allowed`);
    const length = dataSegmentLength(this.#bhs);
    if (length > this.#maxData) throw new PduError(`${name}: DataSegmentLength ${length} over the ${this.#maxData} negotiated`);
    return ahs + padded(length);
  }

  #finish(rest: Uint8Array): TargetPdu {
    const ahs = totalAhsBytes(this.#bhs);
    const pdu = decodeTargetPdu(this.#bhs, rest.subarray(ahs, ahs + dataSegmentLength(this.#bhs)));
    this.#rest = undefined;
    this.#bhsHave = 0;
    this.#restHave = 0;
    return pdu;
  }
}

function checkLimit(n: number): number {
  if (!Number.isInteger(n) || n < MIN_RECV_DATA_SEGMENT_LENGTH || n > MAX_DATA_SEGMENT_LENGTH) {
    throw new RangeError(`MaxRecvDataSegmentLength ${n} is not an integer in ${MIN_RECV_DATA_SEGMENT_LENGTH}..${MAX_DATA_SEGMENT_LENGTH}`);
  }
  return n;
}
