import { openDevice } from '../../backends/device-spec.js';
import { isUsable } from '../../abi/path-state.js';
import { CheckHost } from '../../registry/check-host.js';
import type { CheckerClass } from '../../registry/checker-class.js';
import { iscsiSessions } from '../../backends/iscsi/iscsi-sessions.js';
import { BOUNDS } from '../../daemon/bounds.js';
import { chapFor, loadConfig } from '../../daemon/config/daemon-config.js';
import { loadScenarios } from '../../daemon/load-scenarios.js';
import { boundedInt, parseOptions } from '../parse-options.js';
import { resolveChecker } from '../resolve-checker.js';
import { UsageError } from '../usage-error.js';

export const CHECK_HELP = `usage: pathcheck check <device> [--checker <name|path.wasm>] [--timeout <ms>] [--config <file>] [--scenarios <file>] [--json]

Check one path once and print its state.

  <device>            a device spec, e.g. sim:ok, sim:standby, sim:slow?latency=200
  --checker <c>       a built checker name (default tur) or a path to a checker .wasm
  --timeout <ms>      checker_timeout for this check, 1..3600000 (default 30000)
  --config <file>     a pathcheckd config: an iscsi:// device logs in with the CHAP credentials of its
                      targets{} section (secrets stay off the command line); nothing else of it is used
  --scenarios <file>  sim scenarios of your own (scenarios.json's schema), added to the built-in ones
  --json              print {"device","checker","state","code","message","ms"}

Exit status: 0 when the path is up or ghost, 1 for any other state or when the checker cannot be set
up for the path (pc_init failed), 2 for bad usage or input.`;

const DEFAULT_TIMEOUT_MS = 30_000;

/** Until the context's pc_free has ended (its slot is back), or `ms`: the pool must not close under it. */
async function freed(cls: CheckerClass, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (cls.contexts.inUse > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 1));
}

export async function checkCommand(args: string[], out: (line: string) => void, err: (line: string) => void = out): Promise<number> {
  const { values, positionals } = parseOptions('check', args, {
    checker: { type: 'string', default: 'tur' },
    timeout: { type: 'string' },
    config: { type: 'string' },
    scenarios: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    out(CHECK_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`check: expected exactly one device, got ${positionals.length}`);
  const spec = positionals[0]!;
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : boundedInt('check', '--timeout', values.timeout, BOUNDS.checkTimeoutMs);
  // Before the device is opened and the worker starts: both must know the scenarios.
  if (values.scenarios !== undefined) await loadScenarios(values.scenarios).catch((e: Error) => Promise.reject(new UsageError(e.message)));
  const device = openDevice(spec);
  if (values.config !== undefined) {
    const config = await loadConfig(values.config);
    iscsiSessions.credentials = (target) => chapFor(config, target);
  }
  // Through a one-worker pool, as the daemon checks: a device that blocks its thread still times out.
  const host = new CheckHost({ size: 1, maxStuck: 1, callTimeoutMs: timeoutMs });
  // A failed pc_free does not change the result, but it is said (one line on stderr).
  host.registry.on('event', (e) => {
    if (e.type === 'call-failed') err(`pathcheck: warning: ${e.message}`);
  });
  let res;
  let cls;
  try {
    // Worker start-up (tens of ms) is not the check's: its deadline starts once the workers take jobs.
    await host.pool.ready();
    cls = await host.registry.load(resolveChecker(values.checker));
    const checker = await host.registry.bind(cls.name, device, timeoutMs);
    res = await host.runner.check(checker, timeoutMs);
    host.registry.unbind(checker);
    // A check still running past its deadline holds the context: nothing to wait for then.
    if (!checker.running) await freed(cls, timeoutMs);
  } finally {
    await host.close();
    // An iSCSI device logs its session out: nothing of it keeps the process alive.
    device.close();
  }
  const ms = Math.round(res.ms * 1000) / 1000;
  if (values.json) {
    out(JSON.stringify({ device: spec, checker: cls.name, state: res.state, code: res.code, message: res.message, ms }));
  } else {
    out(`${spec}  ${cls.name}  ${res.state}  ${res.message}  (${ms} ms)`);
  }
  return isUsable(res.code) ? 0 : 1;
}
