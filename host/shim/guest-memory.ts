/**
 * Bounds-checked access to a plugin's memory. Views are cached and re-made only when an access falls
 * past their end, because a shared memory may have grown in another thread since they were made.
 */
export class GuestMemory {
  private u8!: Uint8Array;
  private dv!: DataView;

  constructor(readonly memory: WebAssembly.Memory) {
    this.refresh();
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
  }

  /** Whether [ptr, ptr + len) lies inside memory; wasm passes pointers as signed i32, so ptr is taken unsigned. */
  inBounds(ptr: number, len: number): boolean {
    const start = ptr >>> 0;
    if (len < 0) return false;
    const end = start + len;
    if (end <= this.u8.length) return true;
    this.refresh();
    return end <= this.u8.length;
  }

  u32(ptr: number): number {
    return this.dv.getUint32(ptr >>> 0, true);
  }

  setU8(ptr: number, value: number): void {
    this.dv.setUint8(ptr >>> 0, value);
  }

  setU16(ptr: number, value: number): void {
    this.dv.setUint16(ptr >>> 0, value, true);
  }

  setU32(ptr: number, value: number): void {
    this.dv.setUint32(ptr >>> 0, value, true);
  }

  setU64(ptr: number, value: bigint): void {
    this.dv.setBigUint64(ptr >>> 0, value, true);
  }

  /** A live view (no copy) of guest bytes; check inBounds first (which also catches up with a grown memory). */
  bytes(ptr: number, len: number): Uint8Array {
    const start = ptr >>> 0;
    if (start + len > this.u8.length) this.refresh();
    return this.u8.subarray(start, start + len);
  }
}
