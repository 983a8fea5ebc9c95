import type { PathStateName } from '../abi/path-state.js';
import { Histogram } from './histogram.js';

/** Check duration buckets, seconds: from a fast simulated device to a slow SAN path. */
const DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

/** What the daemon reads off its path table, registry and pool when the metrics are rendered. */
export interface MetricsSnapshot {
  readonly paths: number;
  readonly classes: number;
  readonly classesQuarantined: number;
  /** Summed over unloaded classes: workers that have not yet acknowledged dropping their instance. */
  readonly releasesPending: number;
  readonly workers: number;
  readonly busy: number;
  readonly stuck: number;
  readonly replaced: number;
}

/** One unlabelled sample with its HELP and TYPE lines. */
function scalar(name: string, type: 'counter' | 'gauge', help: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`];
}

/** Counters the daemon keeps for `show stats` and Prometheus text for `show metrics`. */
export class Metrics {
  readonly checksByState = new Map<PathStateName, number>();
  stateChanges = 0;
  checks = 0;
  quarantines = 0;
  classesUnloaded = 0;
  pluginOutputLines = 0;
  pluginOutputDroppedBytes = 0;
  private readonly duration = new Histogram(DURATION_BUCKETS);

  recordCheck(state: PathStateName, ms: number, changed: boolean): void {
    this.checks++;
    this.checksByState.set(state, (this.checksByState.get(state) ?? 0) + 1);
    this.duration.observe(ms / 1000);
    if (changed) this.stateChanges++;
  }

  recordPluginOutput(dropped: number): void {
    this.pluginOutputLines++;
    this.pluginOutputDroppedBytes += dropped;
  }

  render(s: MetricsSnapshot): string {
    const lines = ['# HELP pathcheck_checks_total Checks completed, by resulting path state.', '# TYPE pathcheck_checks_total counter'];
    for (const [state, n] of [...this.checksByState].sort()) lines.push(`pathcheck_checks_total{state="${state}"} ${n}`);
    lines.push('# HELP pathcheck_check_duration_seconds Time one check took.', '# TYPE pathcheck_check_duration_seconds histogram');
    lines.push(...this.duration.render('pathcheck_check_duration_seconds'));
    lines.push(
      ...scalar('pathcheck_state_changes_total', 'counter', 'Path state changes.', this.stateChanges),
      ...scalar('pathcheck_paths', 'gauge', 'Paths being checked.', s.paths),
      ...scalar('pathcheck_classes_loaded', 'gauge', 'Checker classes alive (current and draining).', s.classes),
      ...scalar('pathcheck_classes_quarantined', 'gauge', 'Checker classes quarantined: none of their checks is dispatched.', s.classesQuarantined),
      ...scalar('pathcheck_checker_quarantines_total', 'counter', 'Checker classes quarantined for repeated traps or overruns.', this.quarantines),
      ...scalar('pathcheck_classes_unloaded_total', 'counter', 'Checker classes unloaded.', this.classesUnloaded),
      ...scalar('pathcheck_class_releases_pending', 'gauge', 'Workers yet to drop their instance of an unloaded class, summed over classes.', s.releasesPending),
      ...scalar('pathcheck_plugin_output_lines_total', 'counter', 'Plugin stdout/stderr output events (one info log line each).', this.pluginOutputLines),
      ...scalar('pathcheck_plugin_output_dropped_bytes_total', 'counter', 'Plugin output bytes dropped by the output cap and rate limit.', this.pluginOutputDroppedBytes),
      ...scalar('pathcheck_pool_workers', 'gauge', 'Worker threads.', s.workers),
      ...scalar('pathcheck_pool_workers_busy', 'gauge', 'Workers running a check now.', s.busy),
      ...scalar('pathcheck_pool_workers_stuck', 'gauge', 'Workers terminated for being stuck and not yet exited.', s.stuck),
      ...scalar('pathcheck_pool_workers_replaced_total', 'counter', 'Workers replaced.', s.replaced),
    );
    return `${lines.join('\n')}\n`;
  }
}
