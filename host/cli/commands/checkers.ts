import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckHost } from '../../registry/check-host.js';
import { CHECKERS_DIR } from '../package-paths.js';
import { parseOptions } from '../parse-options.js';
import { formatTable } from '../table.js';
import { UsageError } from '../usage-error.js';
import { cell } from './render-result.js';

export const CHECKERS_HELP = `usage: pathcheck checkers [--json]

List the built checkers (${'build/checkers/*.wasm'}) with ABI version, size and sha256.
Each is loaded and validated as the daemon would load it.`;

export async function checkersCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseOptions('checkers', args, {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    out(CHECKERS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`checkers: unexpected argument '${positionals[0]}'`);
  let files: string[];
  try {
    files = (await readdir(CHECKERS_DIR)).filter((f) => f.endsWith('.wasm')).sort();
  } catch {
    throw new UsageError(`checkers: no built checkers in ${CHECKERS_DIR} (run npm run build:checkers)`);
  }
  // Loaded as the daemon loads them: the metadata exports run on a pool worker.
  const host = new CheckHost({ size: 1, maxStuck: 1 });
  const rows = [];
  try {
    for (const file of files) {
      const cls = await host.registry.load(join(CHECKERS_DIR, file));
      rows.push({ name: cls.name, abi: cls.abiVersion, bytes: cls.validated.bytes, sha256: cls.sha256, file: join(CHECKERS_DIR, file) });
      host.registry.unload(cls.name);
    }
  } finally {
    await host.close();
  }
  if (values.json) {
    out(JSON.stringify(rows));
  } else {
    const cells = rows.map((r) => [r.name, String(r.abi), `${(r.bytes / 1024).toFixed(1)} KiB`, r.sha256, r.file].map(cell));
    for (const line of formatTable(['NAME', 'ABI', 'SIZE', 'SHA256', 'FILE'], cells, ['ABI', 'SIZE'])) out(line);
  }
  return 0;
}
