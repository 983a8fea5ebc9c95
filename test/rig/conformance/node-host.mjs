/**
 * The Node host side of the comparison: the built dist/ CheckHost, as the CLI and the daemon check
 * with (a worker pool, the registry, the runner; no plugin code on this thread). It is a resuming host:
 * a check that waits is parked and continued with pc_pending on whichever worker is free.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SetupError } from './setup-error.mjs';
import { median, round } from './stats.mjs';

const NEEDED = ['registry/check-host.js', 'backends/device-spec.js'];

export async function nodeHost(dist) {
  for (const f of NEEDED) if (!existsSync(join(dist, f))) throw new SetupError(`no dist/host/${f}: run \`npm run build\` first`);
  const [{ CheckHost }, { openDevice }] = await Promise.all(NEEDED.map((f) => import(pathToFileURL(join(dist, f)).href)));
  const host = new CheckHost({ size: 2 });
  if (!(await host.pool.ready())) throw new SetupError('the Node host: its worker pool did not start');
  /** Classes by file, each loaded once, as the rig keeps them. */
  const names = new Map();
  return {
    async check(c) {
      if (!names.has(c.file)) names.set(c.file, (await host.registry.load(c.file)).name);
      const name = names.get(c.file);
      const checker = await host.registry.bind(name, openDevice(c.device));
      const times = [];
      const answers = [];
      let first;
      try {
        for (let i = 0; i < c.runs; i++) {
          const r = await host.runner.check(checker, c.timeoutMs);
          first ??= r;
          // r.ms: time spent in plugin calls, device waits included.
          times.push(r.ms * 1000);
          if (c.answers) answers.push(`${r.state}: ${r.message}`);
        }
      } finally {
        host.registry.unbind(checker);
      }
      return { name, state: first.state, code: first.code, message: first.message, us: round(median(times)), ...(c.answers && { answers }) };
    },
    async load(path) {
      try {
        const cls = await host.registry.load(path);
        return { ok: true, name: cls.name };
      } catch (e) {
        if (e?.name !== 'LoadError') throw e;
        return { ok: false, code: e.code, reason: e.message };
      }
    },
    close: () => host.close(),
  };
}
