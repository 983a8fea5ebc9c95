/**
 * What a simulated device tells commands apart by, for a scenario's per-command programs
 * (scenarios.json `commands`): the command's name, and for INQUIRY VPD and MODE SENSE the page.
 * A scenario keys a program by `NAME` (every page) or `NAME 0xPP` (one page).
 */
export const COMMAND_NAMES = [
  'TEST UNIT READY',
  'INQUIRY',
  'INQUIRY VPD',
  'MODE SENSE(6)',
  'MODE SENSE(10)',
  'MODE SELECT(6)',
  'MODE SELECT(10)',
  'READ CAPACITY(10)',
  'READ CAPACITY(16)',
  'READ(10)',
  'READ(16)',
  'plain read',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Commands whose key may name a page. */
export const PAGED: readonly CommandName[] = ['INQUIRY VPD', 'MODE SENSE(6)', 'MODE SENSE(10)'];

export interface CommandKind {
  /** null: a command no scenario can key (it takes the scenario's default program). */
  readonly name: CommandName | null;
  /** The page of a paged command, else -1. */
  readonly page: number;
  /** Its key with the page (`INQUIRY VPD 0xC9`), or its name; '' for a command no scenario can key. */
  readonly key: string;
}

const OTHER: CommandKind = { name: null, page: -1, key: '' };
const PLAIN_READ: CommandKind = { name: 'plain read', page: -1, key: 'plain read' };
const FIXED = new Map<number, CommandKind>(
  (
    [
      [0x00, 'TEST UNIT READY'],
      [0x15, 'MODE SELECT(6)'],
      [0x55, 'MODE SELECT(10)'],
      [0x25, 'READ CAPACITY(10)'],
      [0x28, 'READ(10)'],
      [0x88, 'READ(16)'],
    ] as const
  ).map(([op, name]) => [op, { name, page: -1, key: name }]),
);
const INQUIRY_KIND: CommandKind = { name: 'INQUIRY', page: -1, key: 'INQUIRY' };
const RC16: CommandKind = { name: 'READ CAPACITY(16)', page: -1, key: 'READ CAPACITY(16)' };
/** One per page, made on first use, so classifying allocates nothing in a steady check. */
const paged = new Map<string, CommandKind>();

function pagedKind(name: CommandName, page: number): CommandKind {
  const key = `${name} ${page}`;
  let k = paged.get(key);
  if (k === undefined) paged.set(key, (k = { name, page, key: pageKey(name, page) }));
  return k;
}

/** The kind of a CDB, by its bytes (`byte(i)`); a plain read is `plainRead()`. */
export function commandKind(byte: (i: number) => number): CommandKind {
  const op = byte(0);
  const fixed = FIXED.get(op);
  if (fixed !== undefined) return fixed;
  switch (op) {
    case 0x12:
      return (byte(1) & 0x01) !== 0 ? pagedKind('INQUIRY VPD', byte(2)) : INQUIRY_KIND;
    case 0x1a:
      return pagedKind('MODE SENSE(6)', byte(2) & 0x3f);
    case 0x5a:
      return pagedKind('MODE SENSE(10)', byte(2) & 0x3f);
    case 0x9e:
      // SERVICE ACTION IN(16): READ CAPACITY(16) is action 0x10.
      return (byte(1) & 0x1f) === 0x10 ? RC16 : OTHER;
    default:
      return OTHER;
  }
}

export function plainRead(): CommandKind {
  return PLAIN_READ;
}

/** The key a scenario writes for `kind` on one page, e.g. `INQUIRY VPD 0xC9`. */
export function pageKey(name: CommandName, page: number): string {
  return `${name} 0x${page.toString(16).toUpperCase().padStart(2, '0')}`;
}
