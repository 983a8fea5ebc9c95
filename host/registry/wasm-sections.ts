/**
 * The few facts about a module's binary that the JS API does not expose: memory limits and the
 * shared flag of imports, whether it defines a memory, and where its active data ends. Only called on
 * bytes that already compiled, so malformed input here means an unusual but valid encoding we refuse.
 */
export interface MemoryLimits {
  readonly min: number;
  readonly max: number | null;
  readonly shared: boolean;
}

export interface ModuleFacts {
  readonly memoryImports: readonly { module: string; name: string; limits: MemoryLimits }[];
  readonly definedMemories: number;
  /** End (exclusive) of the highest active data segment with a constant offset; 0 when none. */
  readonly dataEnd: number;
  /** Active data segments whose offset is not a constant (we cannot place memory around those). */
  readonly dynamicDataSegments: number;
  /** The module has a start function (code that would run whenever any thread instantiates it). */
  readonly hasStart: boolean;
  /** Each exported function's signature, e.g. `(i32, i32, i32) -> i32`, by export name. */
  readonly exportSignatures: ReadonlyMap<string, string>;
}

const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_FUNCTION = 3;
const SECTION_MEMORY = 5;
const SECTION_EXPORT = 7;
const SECTION_START = 8;
const SECTION_DATA = 11;
const KIND_FUNC = 0;
const KIND_TABLE = 1;
const KIND_MEMORY = 2;
const KIND_GLOBAL = 3;
const KIND_TAG = 4;
const FUNC_TYPE = 0x60;
const VALUE_TYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;

class Reader {
  pos: number;
  constructor(
    private readonly b: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) throw new RangeError('unexpected end of section');
    return this.b[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new RangeError('LEB128 too long');
    }
  }

  i32(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.byte();
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    if (shift < 32 && byte & 0x40) result |= -1 << shift;
    return result;
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new RangeError('name past end of section');
    const s = Buffer.from(this.b.subarray(this.pos, this.pos + len)).toString('utf8');
    this.pos += len;
    return s;
  }

  limits(): MemoryLimits {
    const flags = this.byte();
    const min = this.u32();
    const max = flags & 1 ? this.u32() : null;
    return { min, max, shared: (flags & 2) !== 0 };
  }

  skip(n: number): void {
    this.pos += n;
  }
}

export function moduleFacts(bytes: Uint8Array): ModuleFacts {
  const memoryImports: { module: string; name: string; limits: MemoryLimits }[] = [];
  let definedMemories = 0;
  let dataEnd = 0;
  let dynamicDataSegments = 0;
  let hasStart = false;
  const types: string[] = [];
  /** The type of every function by index: imported ones first, then the module's own. */
  const funcTypes: number[] = [];
  const exportedFuncs = new Map<string, number>();
  const top = new Reader(bytes, 8, bytes.length);
  while (top.pos < bytes.length) {
    const id = top.byte();
    const size = top.u32();
    const r = new Reader(bytes, top.pos, top.pos + size);
    top.skip(size);
    if (id === SECTION_TYPE) {
      for (let n = r.u32(); n > 0; n--) types.push(funcType(r));
    } else if (id === SECTION_IMPORT) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        if (kind === KIND_MEMORY) memoryImports.push({ module, name, limits: r.limits() });
        else if (kind === KIND_FUNC) funcTypes.push(r.u32());
        else skipImportDesc(r, kind);
      }
    } else if (id === SECTION_FUNCTION) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
    } else if (id === SECTION_EXPORT) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        if (kind === KIND_FUNC) exportedFuncs.set(name, index);
      }
    } else if (id === SECTION_START) {
      hasStart = true;
    } else if (id === SECTION_MEMORY) {
      definedMemories = r.u32();
    } else if (id === SECTION_DATA) {
      for (let n = r.u32(); n > 0; n--) {
        const seg = dataSegment(r);
        if (seg === 'dynamic') dynamicDataSegments++;
        else if (seg !== 'passive') dataEnd = Math.max(dataEnd, seg);
      }
    }
  }
  const exportSignatures = new Map<string, string>();
  for (const [name, index] of exportedFuncs) {
    const type = types[funcTypes[index] ?? -1];
    if (type === undefined) throw new RangeError(`export ${name} names no function type`);
    exportSignatures.set(name, type);
  }
  return { memoryImports, definedMemories, dataEnd, dynamicDataSegments, hasStart, exportSignatures };
}

/** One function type of the type section, written `(i32, i32) -> i32`; other type forms are refused. */
function funcType(r: Reader): string {
  if (r.byte() !== FUNC_TYPE) throw new RangeError('a type section entry that is not a plain function type');
  const list = () => Array.from({ length: r.u32() }, () => VALUE_TYPES[r.byte()] ?? 'unknown');
  const params = list();
  const results = list();
  return `(${params.join(', ')}) -> ${results.length === 0 ? '()' : results.join(', ')}`;
}

function skipImportDesc(r: Reader, kind: number): void {
  switch (kind) {
    case KIND_FUNC:
      r.u32();
      return;
    case KIND_TABLE:
      r.byte();
      r.limits();
      return;
    case KIND_GLOBAL:
      r.byte();
      r.byte();
      return;
    case KIND_TAG:
      r.byte();
      r.u32();
      return;
    default:
      throw new RangeError(`unknown import kind ${kind}`);
  }
}

/** An active segment's end offset, or 'passive', or 'dynamic' when its offset is not an i32.const. */
function dataSegment(r: Reader): number | 'passive' | 'dynamic' {
  const flags = r.u32();
  if (flags === 1) {
    r.skip(r.u32());
    return 'passive';
  }
  if (flags === 2) r.u32();
  let offset: number | null = null;
  if (r.byte() === OP_I32_CONST) {
    offset = r.i32() >>> 0;
    if (r.byte() !== OP_END) offset = null;
  }
  if (offset === null) {
    while (r.byte() !== OP_END);
  }
  const len = r.u32();
  r.skip(len);
  return offset === null ? 'dynamic' : offset + len;
}
