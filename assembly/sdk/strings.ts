// ABI strings (docs/ABI.md, "Strings"): UTF-16LE pointer + byte length of a string *literal*,
// which lives in the module's static data. Never pass a built string: there is no allocator.

// @ts-ignore: decorator
@inline
export function strPtr(s: string): usize {
  return changetype<usize>(s);
}

// @ts-ignore: decorator
@inline
export function strBytes(s: string): i32 {
  return s.length << 1;
}
