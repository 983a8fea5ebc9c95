/**
 * Typed reads of an untrusted JSON document. Each throws an Error whose message starts with the JSON path
 * (`$.scenarios.flap.every`) so a bad file is fixed without a debugger.
 */
export type JsonObject = Readonly<Record<string, unknown>>;

export function object(v: unknown, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: must be an object`);
  return v as JsonObject;
}

/** The path of member `key` of the object at `path` (`$.scenarios.flap`): a key from the document never breaks the line. */
export function member(path: string, key: string): string {
  return `${path}.${shown(key)}`;
}

/** A document's text in a message: control characters (line breaks too) shown escaped. */
export function shown(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A present key's value. */
export function field(o: JsonObject, path: string, key: string): unknown {
  if (!(key in o)) throw new Error(`${path}: missing '${key}'`);
  return o[key];
}

/** Unknown keys are errors: a misspelt optional key would otherwise be silently ignored. */
export function onlyKeys(o: JsonObject, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw new Error(`${member(path, key)}: unknown key (allowed: ${allowed.join(', ')})`);
  }
}

export function string(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new Error(`${path}: must be a string`);
  return v;
}

export function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${path}: must be true or false`);
  return v;
}

export function integer(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${path}: must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** A byte written as in the SCSI standards' tables: '0x3A'. */
export function hexByte(v: unknown, path: string): number {
  if (typeof v !== 'string' || !/^0x[0-9A-Fa-f]{2}$/.test(v)) throw new Error(`${path}: must be a byte written '0xNN'`);
  return parseInt(v.slice(2), 16);
}

export function list(v: unknown, path: string, minLength: number): readonly unknown[] {
  if (!Array.isArray(v) || v.length < minLength) throw new Error(`${path}: must be a list of at least ${minLength}`);
  return v;
}
