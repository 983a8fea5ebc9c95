import { describe, expect, it } from 'vitest';
import { classEventHandler, pluginOutputLine } from '../../host/daemon/class-events.js';
import type { DaemonEventBody } from '../../host/daemon/daemon-event.js';
import { escapeControls, Logger } from '../../host/daemon/logger.js';
import { Metrics, type MetricsSnapshot } from '../../host/daemon/metrics.js';
import type { RegistryEvent } from '../../host/registry/registry.js';
import { CLASS_METRICS } from '../helpers/class-metrics.js';

// What the daemon makes of registry events (logs, counters, daemon events), and that no log line
// carries a raw control character. Unit level: quarantine and plugin output cannot be provoked with
// the built checkers, so the black-box tests of those belong with the registry and shim work.

/** C0, DEL, C1 and the Unicode line separators: none may appear raw in a log line. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function rig(json = false) {
  const lines: string[] = [];
  const published: DaemonEventBody[] = [];
  const metrics = new Metrics();
  const log = new Logger(4, json, (l) => lines.push(l));
  const handle = classEventHandler(log, metrics, (b) => published.push(b));
  return { lines, published, metrics, handle };
}

const SNAPSHOT: MetricsSnapshot = { paths: 0, classes: 1, classesQuarantined: 1, releasesPending: 2, workers: 2, busy: 0, stuck: 0, replaced: 0 };

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('registry events in the daemon', () => {
  it('quarantined: an error line, a class-quarantined event, the counter', () => {
    const r = rig();
    r.handle({ type: 'quarantined', name: 'tur', version: 3, reason: '5 traps or overruns within 60 s' });
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^\S+ error  tur checker v3 quarantined: 5 traps or overruns within 60 s$/);
    expect(r.published).toEqual([{ type: 'class-quarantined', checker: 'tur', version: 3, reason: '5 traps or overruns within 60 s' }]);
    expect(r.metrics.quarantines).toBe(1);
  });

  it('released, unloaded, call-failed, loaded and refcount-error become their daemon events', () => {
    const r = rig();
    const events: RegistryEvent[] = [
      { type: 'loaded', name: 'tur', version: 1, sha256: 'ab' },
      { type: 'unloaded', name: 'tur', version: 1 },
      { type: 'released', name: 'tur', version: 1 },
      { type: 'call-failed', name: 'tur', version: 1, message: 'tur checker pc_free trapped: unreachable' },
      { type: 'refcount-error', name: 'tur', version: 1, count: -1 },
    ];
    for (const e of events) r.handle(e);
    expect(r.published).toEqual([
      { type: 'class-loaded', checker: 'tur', version: 1, sha256: 'ab' },
      { type: 'class-unloaded', checker: 'tur', version: 1 },
      { type: 'class-released', checker: 'tur', version: 1 },
      { type: 'call-failed', checker: 'tur', version: 1, message: 'tur checker pc_free trapped: unreachable' },
      { type: 'refcount-error', checker: 'tur', version: 1, count: -1 },
    ]);
    expect(r.lines.map((l) => l.split(' ').slice(1).join(' ').trim())).toEqual([
      'debug  tur checker v1 released by every worker',
      'warn   tur checker pc_free trapped: unreachable (class v1)',
      'error  tur checker class v1 refcount went below zero (-1)',
    ]);
    expect(r.metrics.classesUnloaded).toBe(1);
  });

  it('plugin-output: one info line per event, the dropped bytes named, counted in the metrics', () => {
    const r = rig();
    r.handle({ type: 'plugin-output', name: 'tur', version: 2, stream: 'stderr', text: 'sense 70 00 02\n', dropped: 0 });
    r.handle({ type: 'plugin-output', name: 'tur', version: 2, stream: 'stdout', text: 'flood', dropped: 4096 });
    expect(r.lines.map((l) => l.split(' ').slice(1).join(' ').trim())).toEqual([
      'info   checker tur v2 stderr: sense 70 00 02',
      'info   checker tur v2 stdout: flood (4096 bytes dropped)',
    ]);
    expect(r.published).toEqual([]);
    const text = r.metrics.render(SNAPSHOT);
    expect(sample(text, 'pathcheck_plugin_output_lines_total')).toBe(2);
    expect(sample(text, 'pathcheck_plugin_output_dropped_bytes_total')).toBe(4096);
  });

  it('plugin-output with the newlines and tabs the shim leaves, and controls it missed, stays one line with no raw control', () => {
    const text = 'one\ttab\nsecond line\r\u001b[2J\u009b\u2028end\n';
    for (const json of [false, true]) {
      const r = rig(json);
      r.handle({ type: 'plugin-output', name: 'x', version: 1, stream: 'stdout', text, dropped: 0 });
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).not.toMatch(RAW_CONTROL);
      if (json) {
        // The collector reads back exactly the line the daemon meant (the final newline ends it).
        expect(JSON.parse(r.lines[0]!)).toMatchObject({ level: 'info', msg: pluginOutputLine({ type: 'plugin-output', name: 'x', version: 1, stream: 'stdout', text, dropped: 0 }) });
      } else {
        expect(r.lines[0]).toMatch(/ checker x v1 stdout: one\\u0009tab\\u000asecond line\\u000d\\u001b\[2J\\u009b\\u2028end$/);
      }
    }
  });
});

describe('escapeControls', () => {
  it('escapes C0, DEL, C1 and the line separators as \\uXXXX, nothing else (backslashes left as the shim wrote them)', () => {
    expect(escapeControls('a\u0000b\u001fc\u007fd\u0085e\u2029f')).toBe('a\\u0000b\\u001fc\\u007fd\\u0085e\\u2029f');
    expect(escapeControls('already \\x1b escaped, ünïcode ✓')).toBe('already \\x1b escaped, ünïcode ✓');
  });

  it('every log line, fields included, in both formats', () => {
    for (const json of [false, true]) {
      const lines: string[] = [];
      new Logger(4, json, (l) => lines.push(l)).notice('msg\nforged line', { from: 'client\r\n\u001b]0;title\u0007' });
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toMatch(RAW_CONTROL);
      if (json) expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'msg\nforged line', from: 'client\r\n\u001b]0;title\u0007' });
    }
  });
});

describe('class metrics', () => {
  it('render every class counter and gauge, starting at zero', () => {
    const m = new Metrics();
    const zero = m.render({ ...SNAPSHOT, classesQuarantined: 0, releasesPending: 0 });
    for (const name of CLASS_METRICS) {
      expect(sample(zero, name), name).toBe(0);
      expect(zero).toContain(`# TYPE ${name} ${name.endsWith('_total') ? 'counter' : 'gauge'}`);
    }
    m.quarantines = 2;
    m.classesUnloaded = 5;
    const moved = m.render(SNAPSHOT);
    expect([sample(moved, 'pathcheck_checker_quarantines_total'), sample(moved, 'pathcheck_classes_unloaded_total')]).toEqual([2, 5]);
    expect([sample(moved, 'pathcheck_classes_quarantined'), sample(moved, 'pathcheck_class_releases_pending')]).toEqual([1, 2]);
  });
});
