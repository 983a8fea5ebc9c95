/** The wasmtime rig side: one Python process per mode for the whole matrix (test/rig/cli.py batch mode). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SetupError } from './setup-error.mjs';

export function runRig({ python, rig, cwd, mode, requests }) {
  if (!existsSync(python)) throw new SetupError(`wasmtime rig: no ${python}; run \`npm run rig:setup\` (a venv with the wasmtime package)`);
  const r = spawnSync(python, [rig, '--mode', mode, '--json'], { cwd, input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new SetupError(`wasmtime rig: cannot run ${python}: ${r.error.message}`);
  if (r.status !== 0) throw new SetupError(`wasmtime rig (${mode}) exited with status ${r.status}: ${r.stderr.trim() || '(no output)'}`);
  if (r.stderr.trim() !== '') process.stderr.write(r.stderr);
  const out = JSON.parse(r.stdout);
  if (!Array.isArray(out.results) || out.results.length !== requests.length) {
    throw new SetupError(`wasmtime rig (${mode}) answered ${out.results?.length} results for ${requests.length} cases`);
  }
  if (out.engine?.mode !== mode) throw new SetupError(`wasmtime rig ran in mode ${out.engine?.mode}, not ${mode}`);
  return out;
}
