/** The index mask of a ring of `capacity` cells; positions wrap with `pos & mask`, so it must be a power of two. */
export function ringMask(capacity: number, what: string): number {
  if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`${what} capacity ${capacity} is not a power of two`);
  return capacity - 1;
}
