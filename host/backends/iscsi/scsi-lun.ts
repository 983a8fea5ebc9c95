import { PduError } from './pdu-error.js';

/**
 * SAM-5 LUN structure (4.7) as the 8-byte LUN field carries it, single level only: peripheral device
 * addressing (method 00b, bus 0) for LUNs 0-255, flat space addressing (method 01b) for 256-16383, as
 * Linux's int_to_scsilun and tgtd write them.
 */
export const LUN_LENGTH = 8;
export const MAX_LUN = 0x3fff;

const PERIPHERAL_MAX = 0xff;
const METHOD_SHIFT = 6;
const PERIPHERAL = 0b00;
const FLAT_SPACE = 0b01;
const METHOD_NAMES = ['peripheral device', 'flat space', 'logical unit', 'extended logical unit'];

export function encodeLun(lun: number): Uint8Array {
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) throw new PduError(`LUN ${lun} is not an integer in 0..${MAX_LUN}`);
  const b = new Uint8Array(LUN_LENGTH);
  if (lun <= PERIPHERAL_MAX) {
    b[1] = lun;
  } else {
    b[0] = (FLAT_SPACE << METHOD_SHIFT) | (lun >>> 8);
    b[1] = lun & 0xff;
  }
  return b;
}

/** The LUN an 8-byte field names; other address methods, a bus number or a second level are refused. */
export function decodeLun(b: Uint8Array): number {
  if (b.length !== LUN_LENGTH) throw new PduError(`LUN field of ${b.length} bytes, must be ${LUN_LENGTH}`);
  const method = b[0]! >>> METHOD_SHIFT;
  const shown = () => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
  if (method !== PERIPHERAL && method !== FLAT_SPACE) {
    throw new PduError(`LUN ${shown()}: ${METHOD_NAMES[method]} addressing (method ${method}) not supported`);
  }
  if (method === PERIPHERAL && b[0] !== 0) throw new PduError(`LUN ${shown()}: peripheral device addressing with bus ${b[0]! & 0x3f} not supported`);
  if (b.subarray(2).some((x) => x !== 0)) throw new PduError(`LUN ${shown()}: second-level addressing (bytes 2-7) not supported`);
  return ((b[0]! & 0x3f) << 8) | b[1]!;
}
