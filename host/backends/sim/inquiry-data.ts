/** Standard INQUIRY data (SPC-4 6.6.2) of a simulated disk: the 36 bytes every SCSI host reads first. */
const LENGTH = 36;
const VENDOR = 'PATHCHK ';
const REVISION = '0001';
/** Peripheral device type 0: direct-access block device, qualifier 0 (connected). */
const DIRECT_ACCESS = 0x00;
const VERSION_SPC4 = 0x06;
const RESPONSE_FORMAT_2 = 0x02;

/** Made once per scenario: a steady INQUIRY poll does not allocate its data. */
const made = new Map<string, Uint8Array>();

/** INQUIRY data naming the scenario in the product field (`SIM <scenario>`, space-padded or cut to 16). */
export function inquiryData(scenario: string): Uint8Array {
  let data = made.get(scenario);
  if (data === undefined) {
    data = new Uint8Array(LENGTH);
    data[0] = DIRECT_ACCESS;
    data[2] = VERSION_SPC4;
    data[3] = RESPONSE_FORMAT_2;
    data[4] = LENGTH - 5;
    putAscii(data, 8, 8, VENDOR);
    putAscii(data, 16, 16, `SIM ${scenario}`);
    putAscii(data, 32, 4, REVISION);
    made.set(scenario, data);
  }
  return data;
}

/** INQUIRY text fields are printable ASCII, left-aligned and padded with spaces. */
function putAscii(data: Uint8Array, offset: number, width: number, text: string): void {
  const field = text.padEnd(width, ' ').slice(0, width);
  for (let i = 0; i < width; i++) data[offset + i] = field.charCodeAt(i) & 0x7f;
}
