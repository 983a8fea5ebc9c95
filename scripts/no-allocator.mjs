// The no-allocator check (docs/ABI.md, "Memory layout and the no-allocation rule").
//
// A checker module must not contain a heap allocator or grow memory: many instances share one
// class memory, and only the host lays it out. The check reads the module's text format as asc
// emits it (names kept) and reports the first offending symbol.

/** Substrings that give an allocator away, in the order they are reported. */
export const ALLOCATOR_MARKERS = ['memory.grow', '~lib/rt/', '__new', '__alloc', '__renew'];

/** The whole token (e.g. `$~lib/rt/stub/__alloc`) around position `at` of `line`. */
function tokenAt(line, at, length) {
  const stop = /[\s()"]/;
  let start = at;
  let end = at + length;
  while (start > 0 && !stop.test(line[start - 1])) start--;
  while (end < line.length && !stop.test(line[end])) end++;
  return line.slice(start, end);
}

/**
 * Returns the first allocator symbol found in `watText` (a memory definition other than the
 * `env.memory` import is reported as `(memory ...)` text), or null when the module is clean.
 * Data segment contents are not searched: their bytes are data, not code.
 */
export function findAllocator(watText) {
  const lines = String(watText).split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('(data')) continue;
    const memAt = line.indexOf('(memory ');
    if (memAt >= 0) {
      const isEnvImport = /^\(import\s+"env"\s+"memory"\s+\(memory\s/.test(line);
      const isExport = /^\(export\s+"[^"]*"\s+\(memory\s+[^\s()]+\)\)$/.test(line);
      if (!isEnvImport && !isExport) {
        const close = line.indexOf(')', memAt);
        return close >= 0 ? line.slice(memAt, close + 1) : line.slice(memAt);
      }
    }
    for (const marker of ALLOCATOR_MARKERS) {
      const at = line.indexOf(marker);
      if (at >= 0) return tokenAt(line, at, marker.length);
    }
  }
  return null;
}
