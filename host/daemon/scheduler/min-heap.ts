/**
 * Where a value sits in a {@link MinHeap}. `push` returns it; `remove` and `update` take it, so both
 * are O(log n) with no search. `index` is -1 once the value has left the heap.
 */
export interface HeapHandle<T> {
  readonly value: T;
  readonly index: number;
}

interface Slot<T> {
  readonly value: T;
  index: number;
}

/**
 * A binary min-heap ordered by `less`, with removal and re-keying by handle. The heap keeps each
 * handle's index current as values move, so a handle always says where its value is.
 */
export class MinHeap<T> {
  private readonly items: Slot<T>[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  /** The least value, or undefined when empty. O(1). */
  peek(): T | undefined {
    return this.items[0]?.value;
  }

  /** Add a value. O(log n). */
  push(value: T): HeapHandle<T> {
    const slot: Slot<T> = { value, index: this.items.length };
    this.items.push(slot);
    this.up(slot.index);
    return slot;
  }

  /** Take the least value out. O(log n). */
  pop(): T | undefined {
    const top = this.items[0];
    if (top === undefined) return undefined;
    this.removeAt(0);
    return top.value;
  }

  /** Whether this handle's value is in this heap now. */
  has(handle: HeapHandle<T>): boolean {
    return this.items[handle.index] === handle;
  }

  /** Take a value out wherever it is. O(log n). False if it is not in this heap. */
  remove(handle: HeapHandle<T>): boolean {
    if (!this.has(handle)) return false;
    this.removeAt(handle.index);
    return true;
  }

  /** Restore the order after the handle's value changed its key (either way). O(log n). */
  update(handle: HeapHandle<T>): boolean {
    if (!this.has(handle)) return false;
    this.fix(handle.index);
    return true;
  }

  /** Empty the heap; every handle's index becomes -1. */
  clear(): void {
    for (const slot of this.items) slot.index = -1;
    this.items.length = 0;
  }

  /** The values in heap (array) order, not sorted. */
  values(): T[] {
    return this.items.map((slot) => slot.value);
  }

  private removeAt(i: number): void {
    const items = this.items;
    const gone = items[i]!;
    const last = items.pop()!;
    gone.index = -1;
    if (last === gone) return;
    items[i] = last;
    last.index = i;
    this.fix(i);
  }

  private fix(i: number): void {
    if (i > 0 && this.less(this.items[i]!.value, this.items[(i - 1) >> 1]!.value)) this.up(i);
    else this.down(i);
  }

  private up(i: number): void {
    const items = this.items;
    const slot = items[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.less(slot.value, parent.value)) break;
      items[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    items[i] = slot;
    slot.index = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const slot = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(items[right]!.value, items[left]!.value) ? right : left;
      const childSlot = items[child]!;
      if (!this.less(childSlot.value, slot.value)) break;
      items[i] = childSlot;
      childSlot.index = i;
      i = child;
    }
    items[i] = slot;
    slot.index = i;
  }
}
