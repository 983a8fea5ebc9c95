import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../host/cli/package-paths.js';

/** DESIGN.md layers, bottom first: a module may import its own layer or a lower one, never a higher one. */
const LAYERS = ['abi', 'backends', 'shim', 'pool', 'registry', 'daemon', 'control', 'cli'];
const HOST = join(PACKAGE_ROOT, 'host');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (file: string) => LAYERS.indexOf(relative(HOST, file).split('/')[0]!);

describe('layers import downward only', () => {
  it('no host module imports a higher layer', () => {
    const violations: string[] = [];
    for (const file of files(HOST)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        const target = resolve(dirname(file), m[1]!);
        if (layerOf(target) > layerOf(file)) violations.push(`${relative(HOST, file)} imports ${relative(HOST, target)}`);
      }
    }
    expect(layerOf(join(HOST, 'cli', 'x.ts'))).toBe(LAYERS.length - 1);
    expect(violations).toEqual([]);
  });
});
