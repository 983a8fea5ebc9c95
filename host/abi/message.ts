/** Generic message ids and texts (docs/ABI.md "Messages"); checker-specific ids start at FIRST_MSGID. */
export const FIRST_MSGID = 100;
export const MSGID_INVALID = 3;

const GENERIC = [
  '',
  'is disabled',
  'has no usable fd',
  'provided invalid message id',
  'reports path is up',
  'reports path is down',
  'reports path is ghost',
  "doesn't support this device",
  'no access to this device',
  'timed out',
  'still running',
] as const;

/** A class's message table: generic texts plus its own, resolved once at load. */
export class MessageTable {
  /** Every id's full text, made once: a check only indexes this. */
  private readonly formatted: readonly string[];

  constructor(
    readonly checkerName: string,
    private readonly own: readonly string[],
  ) {
    this.formatted = Array.from({ length: 256 }, (_, id) => {
      const text = this.text(id);
      // libmultipath's tables carry their separator; a text starting with ':' brings its own.
      return text === '' ? '' : `${checkerName} checker${text.startsWith(':') ? '' : ' '}${text}`;
    });
  }

  /** The text a user sees, libmultipath style: "<name> checker <text>", or "<name> checker: <text>" for a text starting with ':'. */
  format(msgid: number): string {
    return this.formatted[msgid & 0xff]!;
  }

  private text(msgid: number): string {
    if (msgid < GENERIC.length) return GENERIC[msgid]!;
    const own = this.own[msgid - FIRST_MSGID];
    return own ?? GENERIC[MSGID_INVALID];
  }
}

/** Host-decided messages (docs/ABI.md): not in any plugin's table. */
export const hostMessage = {
  timeout: (checker: string) => `${checker} checker timed out`,
  pending: () => 'checker thread not responding',
  trap: (checker: string, reason: string) => `${checker} checker trapped: ${reason}`,
  invalidState: (checker: string, state: number) => `${checker} checker returned invalid state ${state}`,
  invalidResult: (checker: string, raw: number) => `${checker} checker returned invalid result 0x${(raw >>> 0).toString(16).padStart(8, '0')}: bits 16-30 must be 0`,
  quarantined: (checker: string, reason: string) => `${checker} checker quarantined: ${reason}`,
  badWait: (checker: string, fd: number) => `${checker} checker waited on fd ${fd} with no command outstanding`,
} as const;
