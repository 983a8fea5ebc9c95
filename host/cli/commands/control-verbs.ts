import { ControlClient, ControlConnectError, ControlRequestError, watch } from '../../control/control-client.js';
import { defaultSocketPath } from '../../daemon/socket-path.js';
import { BOUNDS } from '../../daemon/bounds.js';
import { boundedInt, parseOptions } from '../parse-options.js';
import { UsageError } from '../usage-error.js';
import { cell, renderResult } from './render-result.js';

export const CONTROL_HELP = `usage: pathcheck [--socket PATH] <verb...> [--json]

Talk to a running pathcheckd over its control socket (default ${defaultSocketPath()}).

  show paths                       every path: device, checker, state, message, interval, last/next check
  show checkers                    checker classes: version, ABI, state, refcount, paths, contexts, in-flight,
                                   strikes, release pending, sha256, quarantine reason
  show stats                       counters
  show metrics                     Prometheus text
  add path <spec> [--checker C]    start checking a path
  del path <spec>                  stop checking a path
  fault <sim-device> <scenario>    change a simulated device's behaviour, e.g. fault sim:ok?id=a standby
  reconfigure                      re-read the daemon's config (changed checkers are hot-reloaded)
  reload checker <name>            hot-reload a checker: new version at once, the old one drains
  unload checker <name>            unload a checker no path uses (it goes once its checks end)
  watch [--reconnect]              stream events; with --reconnect, survive daemon restarts
  shutdown                         stop the daemon

  --timeout MS                     wait at most MS (1..2147483647) for the answer (default 4000 for show, 60000 for the rest)

Exit status: 0 ok, 1 cannot reach the daemon, 2 bad usage or the daemon refused the command.`;

/** How long the client waits for an answer: multipathd's uxsock_timeout default for `show`, which the
 * daemon answers from its state at once; longer for a change, which may wait for pc_init calls. */
const SHOW_TIMEOUT_MS = 4000;
const CHANGE_TIMEOUT_MS = 60_000;

/** A failure to reach the daemon: exit 1 (the command itself may be fine). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

type Out = (line: string) => void;

interface Parsed {
  readonly command: string;
  readonly args: Record<string, string>;
}

/** Map CLI words onto a control request. */
function request(words: string[], checker: string | undefined): Parsed {
  const [a, b, ...rest] = words;
  const need = (n: number, usage: string) => {
    if (words.length !== n) throw new UsageError(`usage: pathcheck ${usage}`);
  };
  switch (a) {
    case 'show':
      if (b !== 'paths' && b !== 'checkers' && b !== 'stats' && b !== 'metrics') throw new UsageError(`show: expected paths, checkers, stats or metrics, got '${b ?? ''}'`);
      need(2, `show ${b}`);
      return { command: `show ${b}`, args: {} };
    case 'add':
    case 'del':
      if (b !== 'path') throw new UsageError(`${a}: expected 'path', got '${b ?? ''}'`);
      need(3, `${a} path <spec>`);
      return { command: `${a} path`, args: { spec: rest[0]!, ...(a === 'add' && checker !== undefined && { checker }) } };
    case 'fault':
      need(3, 'fault <sim-device> <scenario>');
      return { command: 'fault', args: { spec: b!, scenario: rest[0]! } };
    case 'reload':
    case 'unload':
      if (b !== 'checker') throw new UsageError(`${a}: expected 'checker', got '${b ?? ''}'`);
      need(3, `${a} checker <name>`);
      return { command: `${a} checker`, args: { name: rest[0]! } };
    case 'reconfigure':
    case 'shutdown':
      need(1, a);
      return { command: a, args: {} };
    default:
      throw new UsageError(`unknown command '${a}' (commands: check, checkers, show, add, del, fault, reconfigure, reload, unload, watch, shutdown)`);
  }
}

/** A socket path that can never work (empty, too long) is bad usage (exit 2), not a daemon that is away (exit 1). */
function connectFailure(e: unknown): Error {
  if (e instanceof ControlConnectError && e.code === 'EINVAL') return new UsageError(e.message);
  return new UnreachableError((e as Error).message);
}

/** Options only some verbs take: given to another verb they are a mistake, not something to ignore. */
const ONLY_FOR: Record<string, { readonly verbs: readonly string[]; readonly usage: string }> = {
  checker: { verbs: ['add path'], usage: 'add path' },
  reconnect: { verbs: ['watch'], usage: 'watch' },
  timeout: { verbs: ['show', 'add', 'del', 'fault', 'reconfigure', 'reload', 'unload', 'shutdown'], usage: 'a verb that waits for an answer (not watch)' },
};

function refuseUnused(words: readonly string[], values: Record<string, unknown>): void {
  const verb = words.slice(0, words[0] === 'add' ? 2 : 1).join(' ');
  for (const [option, only] of Object.entries(ONLY_FOR)) {
    const given = values[option] !== undefined && values[option] !== false;
    if (given && !only.verbs.includes(verb)) throw new UsageError(`--${option} applies only to ${only.usage}, not to '${verb}'`);
  }
}

async function connect(socket: string): Promise<ControlClient> {
  try {
    return await ControlClient.connect(socket, { timeoutMs: 5000 });
  } catch (e) {
    throw connectFailure(e);
  }
}

export async function controlCommand(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseOptions('', argv, {
    socket: { type: 'string' },
    json: { type: 'boolean', default: false },
    checker: { type: 'string' },
    reconnect: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    out(CONTROL_HELP);
    return 0;
  }
  refuseUnused(positionals, values);
  const socket = values.socket ?? defaultSocketPath();
  const timeoutMs = values.timeout === undefined ? undefined : boundedInt('', '--timeout', values.timeout, BOUNDS.replyTimeoutMs);
  if (positionals[0] === 'watch') {
    if (positionals.length !== 1) throw new UsageError('usage: pathcheck watch [--reconnect]');
    return watchCommand(socket, values.reconnect, values.json, out);
  }
  const req = request(positionals, values.checker);
  const client = await connect(socket);
  try {
    // A daemon that accepts and never answers must not hold the admin's shell (multipathd's uxsock_timeout).
    const limit = timeoutMs ?? (req.command.startsWith('show ') ? SHOW_TIMEOUT_MS : CHANGE_TIMEOUT_MS);
    const result = await client.request(req.command, req.args, { timeoutMs: limit }).catch((e: Error) => {
      // The daemon refused the command: bad input, exit 2. Anything else (it went away): exit 1.
      throw e instanceof ControlRequestError ? new UsageError(`${req.command}: ${e.message}`) : new UnreachableError(e.message);
    });
    for (const line of values.json ? [JSON.stringify(result)] : renderResult(req.command, result)) out(line);
    return 0;
  } finally {
    await client.close();
  }
}

async function watchCommand(socket: string, reconnect: boolean, json: boolean, out: Out): Promise<number> {
  const say = (line: string): boolean => process.stderr.write(`pathcheck: watch${line}\n`);
  // Human output: the snapshot as one line per path, `#N` the event it is as of (a gap: after).
  const show = (e: Record<string, unknown>): void => {
    if (e.type === 'snapshot' && Array.isArray(e.paths)) {
      const asOf = { time: e.time, seq: e.through ?? '-', type: 'snapshot' };
      if (e.paths.length === 0) out(describeEvent({ ...asOf, paths: 0 }));
      for (const p of e.paths as Record<string, unknown>[]) out(describeEvent({ ...asOf, path: p.device, checker: p.checker, state: p.state, message: p.message }));
    } else if (e.type === 'gap') {
      const { after, ...rest } = e;
      out(describeEvent({ ...rest, seq: after ?? '-' }));
    } else {
      out(describeEvent(e));
    }
  };
  // Each new reason to retry is said once, at once; the backoff goes on quietly.
  let retrying = '';
  const handle = watch(socket, (e) => (json ? out(JSON.stringify(e)) : show(e as Record<string, unknown>)), {
    reconnect,
    resync: true,
    onState: (s, err, retry) => {
      if (s !== 'retrying') {
        retrying = err?.message ?? ''; // a retry for the reason just given goes without saying
        say(` ${s}${err ? `: ${err.message}` : ''}`);
        return;
      }
      const why = err instanceof ControlConnectError ? `daemon not reachable at ${socket} (${err.code ?? err.message})` : (err?.message ?? 'connection lost');
      if (why === retrying) return;
      retrying = why;
      say(`: ${why}, retrying (next in ${retry!.delayMs / 1000} s, backing off to every ${retry!.maxDelayMs / 1000} s)`);
    },
  });
  const stop = () => void handle.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await handle.done;
    return 0;
  } catch (e) {
    throw connectFailure(e);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** One event as one readable line: time, type, then its fields. */
export function describeEvent(e: Record<string, unknown>): string {
  const { seq, time, type, ...rest } = e;
  const fields = Object.entries(rest).map(([k, v]) => `${cell(k)}=${cell(v)}`);
  return [cell(time ?? ''), `#${cell(seq ?? '')}`, cell(type), ...fields].join(' ');
}
