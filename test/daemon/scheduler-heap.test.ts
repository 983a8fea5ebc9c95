import { describe, expect, it } from 'vitest';
import { MinHeap, type HeapHandle } from '../../host/daemon/scheduler/min-heap.js';
import { prng } from '../helpers/prng.js';

interface Item {
  key: number;
  readonly id: number;
}


const less = (a: Item, b: Item): boolean => a.key < b.key;

function assertHeapOrder(heap: MinHeap<Item>): void {
  const v = heap.values();
  for (let i = 1; i < v.length; i++) expect(less(v[i]!, v[(i - 1) >> 1]!)).toBe(false);
}

describe('MinHeap', () => {
  it('pops in order, and an empty heap answers undefined', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
    for (const n of [5, 3, 9, 1, 7, 3, 0]) heap.push(n);
    expect(heap.size).toBe(7);
    expect(heap.peek()).toBe(0);
    const out: number[] = [];
    for (let n = heap.pop(); n !== undefined; n = heap.pop()) out.push(n);
    expect(out).toEqual([0, 1, 3, 3, 5, 7, 9]);
  });

  it('handles: index kept current, -1 once out; remove twice or from another heap is refused', () => {
    const heap = new MinHeap<Item>(less);
    const other = new MinHeap<Item>(less);
    const hs = [4, 2, 8, 6].map((key, id) => heap.push({ key, id }));
    for (const h of hs) expect(heap.values()[h.index]).toBe(h.value);
    const foreign = other.push({ key: 1, id: 99 });
    expect(heap.remove(foreign)).toBe(false);
    expect(heap.update(foreign)).toBe(false);
    expect(heap.remove(hs[1]!)).toBe(true);
    expect(hs[1]!.index).toBe(-1);
    expect(heap.has(hs[1]!)).toBe(false);
    expect(heap.remove(hs[1]!)).toBe(false);
    expect(heap.pop()!.key).toBe(4);
    expect(hs[0]!.index).toBe(-1);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(hs[2]!.index).toBe(-1);
    expect(other.size).toBe(1);
  });

  it('update moves a value up or down after its key changed', () => {
    const heap = new MinHeap<Item>(less);
    const hs = [10, 20, 30, 40, 50].map((key, id) => heap.push({ key, id }));
    hs[4]!.value.key = 5;
    heap.update(hs[4]!);
    expect(heap.peek()!.id).toBe(4);
    hs[4]!.value.key = 45;
    heap.update(hs[4]!);
    expect(heap.peek()!.id).toBe(0);
    const keys: number[] = [];
    for (let it = heap.pop(); it !== undefined; it = heap.pop()) keys.push(it.key);
    expect(keys).toEqual([10, 20, 30, 40, 45]);
  });

  it('random push / pop / remove / update agree with a sorted array (20,000 operations)', () => {
    const rand = prng(0x5eed);
    const heap = new MinHeap<Item>(less);
    const live: { item: Item; handle: HeapHandle<Item> }[] = [];
    let nextId = 0;
    const sortedKeys = (): number[] => live.map((l) => l.item.key).sort((a, b) => a - b);
    for (let op = 0; op < 20_000; op++) {
      const r = rand();
      if (r < 0.4 || live.length === 0) {
        const item = { key: Math.floor(rand() * 200), id: nextId++ };
        live.push({ item, handle: heap.push(item) });
      } else if (r < 0.6) {
        const min = sortedKeys()[0];
        const popped = heap.pop()!;
        expect(popped.key).toBe(min);
        live.splice(
          live.findIndex((l) => l.item === popped),
          1,
        );
      } else if (r < 0.8) {
        const i = Math.floor(rand() * live.length);
        const [gone] = live.splice(i, 1);
        expect(heap.remove(gone!.handle)).toBe(true);
        expect(gone!.handle.index).toBe(-1);
      } else {
        const l = live[Math.floor(rand() * live.length)]!;
        l.item.key = Math.floor(rand() * 200);
        expect(heap.update(l.handle)).toBe(true);
      }
      expect(heap.size).toBe(live.length);
      if (live.length > 0) expect(heap.peek()!.key).toBe(sortedKeys()[0]);
      if (op % 500 === 0) {
        assertHeapOrder(heap);
        for (const l of live) expect(heap.values()[l.handle.index]).toBe(l.item);
      }
    }
    const expected = sortedKeys();
    const drained: number[] = [];
    for (let it = heap.pop(); it !== undefined; it = heap.pop()) drained.push(it.key);
    expect(drained).toEqual(expected);
  });
});
