import type { PathStateName } from '../abi/path-state.js';
import { Histogram } from './histogram.js';

/** Check duration buckets, seconds: from a fast simulated device to a slow SAN path. */
const DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

export interface MetricsSnapshot {
  readonly paths: number;
  readonly classes: number;
  readonly workers: number;
  readonly busy: number;
  readonly stuck: number;
  readonly replaced: number;
}

/** Counters the daemon keeps for `show stats` and Prometheus text for `show metrics`. */
export class Metrics {
  readonly checksByState = new Map<PathStateName, number>();
  stateChanges = 0;
  checks = 0;
  private readonly duration = new Histogram(DURATION_BUCKETS);

  recordCheck(state: PathStateName, ms: number, changed: boolean): void {
    this.checks++;
    this.checksByState.set(state, (this.checksByState.get(state) ?? 0) + 1);
    this.duration.observe(ms / 1000);
    if (changed) this.stateChanges++;
  }

  render(s: MetricsSnapshot): string {
    const lines = ['# HELP pathcheck_checks_total Checks completed, by resulting path state.', '# TYPE pathcheck_checks_total counter'];
    for (const [state, n] of [...this.checksByState].sort()) lines.push(`pathcheck_checks_total{state="${state}"} ${n}`);
    lines.push('# HELP pathcheck_check_duration_seconds Time one check took.', '# TYPE pathcheck_check_duration_seconds histogram');
    lines.push(...this.duration.render('pathcheck_check_duration_seconds'));
    lines.push(
      '# HELP pathcheck_state_changes_total Path state changes.',
      '# TYPE pathcheck_state_changes_total counter',
      `pathcheck_state_changes_total ${this.stateChanges}`,
      '# HELP pathcheck_paths Paths being checked.',
      '# TYPE pathcheck_paths gauge',
      `pathcheck_paths ${s.paths}`,
      '# HELP pathcheck_classes_loaded Checker classes alive (current and draining).',
      '# TYPE pathcheck_classes_loaded gauge',
      `pathcheck_classes_loaded ${s.classes}`,
      '# HELP pathcheck_pool_workers Worker threads.',
      '# TYPE pathcheck_pool_workers gauge',
      `pathcheck_pool_workers ${s.workers}`,
      '# HELP pathcheck_pool_workers_busy Workers running a check now.',
      '# TYPE pathcheck_pool_workers_busy gauge',
      `pathcheck_pool_workers_busy ${s.busy}`,
      '# HELP pathcheck_pool_workers_stuck Workers terminated for being stuck and not yet exited.',
      '# TYPE pathcheck_pool_workers_stuck gauge',
      `pathcheck_pool_workers_stuck ${s.stuck}`,
      '# HELP pathcheck_pool_workers_replaced_total Workers replaced.',
      '# TYPE pathcheck_pool_workers_replaced_total counter',
      `pathcheck_pool_workers_replaced_total ${s.replaced}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
