/**
 * A test-side reading of an initiator PDU by RFC 7143 11.2.1's offsets, independent of the codec: the
 * encoders' output is read back through it, and so is libiscsi's own (fixtures/tgtd-*.json).
 */
export interface InitiatorFields {
  readonly immediate: boolean;
  readonly opcode: number;
  readonly byte1: number;
  readonly byte2: number;
  readonly byte3: number;
  readonly totalAhsLength: number;
  readonly dataSegmentLength: number;
  /** Bytes 8-15: LUN, or ISID + TSIH in a Login Request. */
  readonly bytes8: Uint8Array;
  readonly itt: number;
  readonly word20: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  /** Bytes 32-47: the CDB of a SCSI Command, reserved elsewhere. */
  readonly bytes32: Uint8Array;
  readonly data: Uint8Array;
  /** Bytes after the data segment: its padding. */
  readonly padding: Uint8Array;
}

export function readInitiatorPdu(b: Uint8Array): InitiatorFields {
  if (b.length < 48) throw new Error(`${b.length} bytes is no PDU`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const dsl = (b[5]! << 16) | (b[6]! << 8) | b[7]!;
  return {
    immediate: (b[0]! & 0x40) !== 0,
    opcode: b[0]! & 0x3f,
    byte1: b[1]!,
    byte2: b[2]!,
    byte3: b[3]!,
    totalAhsLength: b[4]!,
    dataSegmentLength: dsl,
    bytes8: b.slice(8, 16),
    itt: v.getUint32(16),
    word20: v.getUint32(20),
    cmdSN: v.getUint32(24),
    expStatSN: v.getUint32(28),
    bytes32: b.slice(32, 48),
    data: b.slice(48, 48 + dsl),
    padding: b.slice(48 + dsl),
  };
}

/** Cuts a stream of initiator PDUs (no AHS, no digests) into PDUs. */
export function splitInitiatorStream(stream: Uint8Array): Uint8Array[] {
  const pdus: Uint8Array[] = [];
  for (let at = 0; at < stream.length; ) {
    const dsl = (stream[at + 5]! << 16) | (stream[at + 6]! << 8) | stream[at + 7]!;
    const length = 48 + stream[at + 4]! * 4 + ((dsl + 3) & ~3);
    pdus.push(stream.subarray(at, at + length));
    at += length;
  }
  return pdus;
}
