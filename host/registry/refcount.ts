/**
 * A class's reference count, in shared memory so that every host thread sees one number
 * (DESIGN.md invariant 1). Only `unref` reaching exactly zero triggers the owner's unload; a count
 * below zero is reported and never unloads again.
 */
export class RefCount {
  readonly cells: Int32Array;

  constructor(
    private readonly onZero: () => void,
    private readonly onNegative: (count: number) => void,
    cells?: Int32Array,
  ) {
    this.cells = cells ?? new Int32Array(new SharedArrayBuffer(4));
  }

  get count(): number {
    return Atomics.load(this.cells, 0);
  }

  ref(): number {
    return Atomics.add(this.cells, 0, 1) + 1;
  }

  unref(): number {
    const count = Atomics.sub(this.cells, 0, 1) - 1;
    if (count === 0) this.onZero();
    else if (count < 0) this.onNegative(count);
    return count;
  }
}
