import { escapeControls } from '../../daemon/logger.js';
import { formatTable } from '../table.js';

type Row = Record<string, unknown>;

/** A cell as text that cannot move the cursor or break a line: device specs and messages come from clients and plugins. */
export function cell(v: unknown): string {
  return escapeControls(v === undefined || v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
}

export function mib(bytes: unknown): string {
  return typeof bytes === 'number' ? `${(bytes / 1048576).toFixed(1)} MiB` : cell(bytes);
}

function clock(iso: unknown): string {
  return typeof iso === 'string' ? cell(iso.slice(11, 19)) : '-';
}

/** `up 16, ghost 16` from `{up: 16, ghost: 16}`. */
function counts(by: unknown): string {
  const entries = Object.entries((by ?? {}) as Record<string, unknown>);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${cell(k)} ${cell(v)}`).join(', ');
}

function showPaths(result: Row[]): string[] {
  const rows = result.map((p) => [cell(p.device), cell(p.checker), cell(p.state), cell(p.message), `${cell(p.interval)}s`, clock(p.lastCheck), clock(p.nextCheck)]);
  return formatTable(['DEVICE', 'CHECKER', 'STATE', 'MESSAGE', 'INTERVAL', 'LAST CHECK', 'NEXT CHECK'], rows, ['INTERVAL']);
}

function showCheckers(result: Row[]): string[] {
  const rows = result.map((c) =>
    [c.name, c.version, c.abiVersion, c.state, c.refcount, c.checkers, c.contexts, c.inFlight, c.strikes, c.releasePending, String(c.sha256).slice(0, 16), c.quarantine].map(cell),
  );
  // The quarantine reason last: it is the one long cell (--json has every field in full).
  const head = ['NAME', 'VERSION', 'ABI', 'STATE', 'REFCOUNT', 'PATHS', 'CONTEXTS', 'IN-FLIGHT', 'STRIKES', 'RELEASE PENDING', 'SHA256', 'QUARANTINE'];
  return formatTable(head, rows, ['VERSION', 'ABI', 'REFCOUNT', 'PATHS', 'CONTEXTS', 'IN-FLIGHT', 'STRIKES', 'RELEASE PENDING']);
}

/** The daemon's counters as `name  value` lines, grouped as an admin reads them; fields this client does not know are shown as they come. */
function showStats(s: Row): string[] {
  const pool = (s.pool ?? {}) as Row;
  const out = (s.pluginOutput ?? {}) as Row;
  const mem = (s.memory ?? {}) as Row;
  const known: [string, string, readonly string[]][] = [
    ['uptime', `${cell(s.uptimeSeconds)} s`, ['uptimeSeconds']],
    ['paths', `${cell(s.paths)} (${counts(s.pathsByState)})`, ['paths', 'pathsByState']],
    ['checks', `${cell(s.checks)} (${counts(s.checksByState)})`, ['checks', 'checksByState']],
    ['state changes', cell(s.stateChanges), ['stateChanges']],
    ['workers', `${cell(pool.workers)} (${cell(pool.busy)} busy, ${cell(pool.stuck)} stuck, ${cell(pool.replaced)} replaced)`, []],
    ['jobs', `${cell(pool.queued)} queued, ${cell(pool.inFlight)} in flight, ${cell(pool.parked)} parked on a device`, ['pool']],
    ['checker classes', `${cell(s.classes)} loaded, ${cell(s.classesQuarantined)} quarantined, ${cell(s.classesUnloaded)} unloaded`, ['classes', 'classesQuarantined', 'classesUnloaded']],
    ['quarantines', cell(s.quarantines), ['quarantines']],
    ['releases pending', cell(s.releasesPending), ['releasesPending']],
    ['plugin output', `${cell(out.lines)} lines, ${cell(out.droppedBytes)} bytes dropped`, ['pluginOutput']],
    ['memory', `rss ${mib(mem.rss)}, heap ${mib(mem.heapUsed)}`, ['memory']],
    ...(s.control === undefined ? [] : controlRows(s.control as Row)),
  ];
  const shown = new Set(known.flatMap(([, , keys]) => keys));
  const rows = [...known.map(([k, v]) => [k, v]), ...Object.entries(s).filter(([k]) => !shown.has(k)).map(([k, v]) => [cell(k), cell(v)])];
  return formatTable(['COUNTER', 'VALUE'], rows);
}

/** The control socket's own counters: who is connected, the caps in force, and whom it dropped. */
function controlRows(c: Row): [string, string, readonly string[]][] {
  const limits = (c.limits ?? {}) as Row;
  const dropped = Object.entries((c.droppedClients ?? {}) as Record<string, unknown>).filter(([, n]) => n !== 0);
  return [
    ['control clients', `${cell(c.clients)} connected (${cell(c.watchers)} watching), cap ${cell(limits.clients)} (${cell(limits.watchers)} watching)`, ['control']],
    ['control drops', dropped.length === 0 ? 'none' : dropped.map(([k, n]) => `${cell(k)} ${cell(n)}`).join(', '), []],
  ];
}

/** What a mutation did, after `ok`: nothing when the command says it all. */
function mutation(command: string, r: Row): string {
  switch (command) {
    case 'reload checker':
      return `ok: ${cell(r.checker)} version ${cell(r.version)}`;
    case 'unload checker':
      return `ok: ${cell(r.checker)} version ${cell(r.version)} unloaded`;
    case 'reconfigure': {
      const reloaded = Array.isArray(r.reloaded) && r.reloaded.length > 0 ? r.reloaded.map(cell).join(', ') : 'none';
      return `ok: ${cell(r.added)} paths added, ${cell(r.removed)} removed, reloaded: ${reloaded}`;
    }
    case 'shutdown':
      return 'ok: shutting down';
    default:
      return 'ok';
  }
}

/** A control verb's answer for a person (`--json` prints the answer itself). */
export function renderResult(command: string, result: unknown): string[] {
  switch (command) {
    case 'show paths':
      return showPaths(result as Row[]);
    case 'show checkers':
      return showCheckers(result as Row[]);
    case 'show stats':
      return showStats(result as Row);
    case 'show metrics':
      // Prometheus text: names, labels and numbers; a label value came from a client, so escape it.
      return String(result).trimEnd().split('\n').map(escapeControls);
    default:
      return [mutation(command, (result ?? {}) as Row)];
  }
}
