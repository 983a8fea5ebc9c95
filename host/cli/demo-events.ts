import type { DaemonEvent } from '../daemon/daemon-event.js';
import { describeEvent } from './commands/control-verbs.js';
import { cell } from './commands/render-result.js';

/** Consecutive path events of one type, e.g. the 32 `fault` events of a failover. */
interface Fold {
  readonly type: string;
  readonly first: DaemonEvent;
  last: DaemonEvent;
  count: number;
  /** What happened (`up -> ghost`) -> the paths it happened to; bounded by the number of paths. */
  readonly groups: Map<string, Set<string>>;
}
type Entry = { readonly text: string } | Fold;

/**
 * The demo's event lines. A run of path events of one type (nothing else in between: a narration
 * line ends the run, so a run belongs to one scripted step) shares one line, which names how many
 * and which paths: `fault x16 ctrlA-lun00..ctrlA-lun15 -> standby`. Other events keep the line
 * `pathcheck watch` prints. At most `keep` lines are kept (a screen shows the newest).
 */
export class FoldedEvents {
  private entries: Entry[] = [];

  constructor(private readonly keep = 500) {}

  note(text: string): void {
    this.push({ text });
  }

  add(e: DaemonEvent): void {
    const last = this.entries.at(-1);
    const path = 'path' in e ? e.path : undefined;
    if (path === undefined) return this.push({ text: describe(e) });
    if (last !== undefined && 'type' in last && last.type === e.type) {
      last.last = e;
      last.count++;
      addTo(last.groups, detail(e), shortName(path));
    } else {
      this.push({ type: e.type, first: e, last: e, count: 1, groups: addTo(new Map(), detail(e), shortName(path)) });
    }
  }

  /** The newest `n` lines, oldest first. */
  lines(n = this.keep): string[] {
    return n <= 0 ? [] : this.entries.slice(-n).map(render);
  }

  /** All lines, and forget them (for output that prints each line once). */
  take(): string[] {
    const out = this.lines();
    this.entries = [];
    return out;
  }

  private push(entry: Entry): void {
    this.entries.push(entry);
    if (this.entries.length > this.keep) this.entries.splice(0, this.entries.length - this.keep);
  }
}

function render(entry: Entry): string {
  if ('text' in entry) return entry.text;
  if (entry.count === 1) return describe(entry.first);
  const what = [...entry.groups].map(([d, names]) => `${ranges(names)} ${d}`.trimEnd()).join(', ');
  return `${clock(entry.first.time)} #${entry.first.seq}..#${entry.last.seq} ${entry.type} x${entry.count} ${what}`;
}

/** `pathcheck watch`'s line, with the time of day for the timestamp (a demo runs for minutes; --json has it all). */
function describe(e: DaemonEvent): string {
  return describeEvent({ ...e, time: clock(e.time) });
}

const clock = (iso: string) => iso.slice(11, 23);

function addTo(groups: Map<string, Set<string>>, key: string, name: string): Map<string, Set<string>> {
  const names = groups.get(key) ?? new Set<string>();
  groups.set(key, names.add(name));
  return groups;
}

function detail(e: DaemonEvent): string {
  if (e.type === 'state') return `${cell(e.from)} -> ${cell(e.to)}`;
  if (e.type === 'fault') return `-> ${cell(e.scenario)}`;
  const { seq: _seq, time: _time, type: _type, path: _path, ...rest } = e as unknown as Record<string, unknown>;
  return Object.entries(rest).map(([k, v]) => `${cell(k)}=${cell(v)}`).join(' ');
}

/** A sim device's `id` (what the demo's LUNs are called), else the whole device spec. */
function shortName(spec: string): string {
  return cell(/[?&]id=([^&]+)/.exec(spec)?.[1] ?? spec);
}

/** Names with numbered runs written first..last: `ctrlA-lun00..ctrlA-lun15,ctrlB-lun03`. */
function ranges(names: Iterable<string>): string {
  const parsed = [...names]
    .map((name) => {
      const m = /^(.*?)(\d+)$/.exec(name);
      return { name, stem: m?.[1] ?? name, num: m ? Number(m[2]) : NaN, digits: m?.[2]!.length ?? 0 };
    })
    .sort((a, b) => (a.stem === b.stem ? a.num - b.num || (a.name < b.name ? -1 : 1) : a.stem < b.stem ? -1 : 1));
  const runs: (typeof parsed)[] = [];
  for (const p of parsed) {
    const run = runs.at(-1);
    const prev = run?.at(-1);
    if (run !== undefined && prev !== undefined && prev.stem === p.stem && prev.digits === p.digits && p.num === prev.num + 1) run.push(p);
    else runs.push([p]);
  }
  return runs.map((r) => (r.length > 2 ? `${r[0]!.name}..${r.at(-1)!.name}` : r.map((p) => p.name).join(','))).join(',');
}
