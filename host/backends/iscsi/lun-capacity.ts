/**
 * A LUN's block size and block count as READ CAPACITY reported them, in shared memory: the I/O side
 * learns them at the LUN's first plain read, and every worker's shim then refuses a read past the end
 * without asking the target. Both read 0 while unknown. The size is stored last and loaded first, so a
 * reader never pairs a new size with an old count; a forget() and set() between its two loads can pair
 * an old size with a new count, which at worst lets one read through to the target, whose 21/00 answer
 * makes the backend ask again (capacityStale).
 */
export class LunCapacity {
  private readonly cells: BigInt64Array;

  constructor(readonly shared: SharedArrayBuffer) {
    this.cells = new BigInt64Array(shared, 0, 2);
  }

  static create(): LunCapacity {
    return new LunCapacity(new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT));
  }

  get blockSize(): number {
    return Number(Atomics.load(this.cells, 0));
  }

  get blockCount(): number {
    return this.blockSize === 0 ? 0 : Number(Atomics.load(this.cells, 1));
  }

  set(blockSize: number, blockCount: bigint): void {
    Atomics.store(this.cells, 1, blockCount);
    Atomics.store(this.cells, 0, BigInt(blockSize));
  }

  /** The target said the capacity changed (or a read fell outside it): ask again at the next read. */
  forget(): void {
    Atomics.store(this.cells, 0, 0n);
  }
}
