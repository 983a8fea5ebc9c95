import type { RegistryEvent } from '../registry/registry.js';
import type { DaemonEventBody } from './daemon-event.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * The one log line for what a plugin wrote. The shim escapes control characters but tab and newline;
 * the write's final newline ends the line here, and the logger escapes any other, so no raw control
 * character reaches the log.
 */
export function pluginOutputLine(e: Extract<RegistryEvent, { type: 'plugin-output' }>): string {
  return `checker ${e.name} v${e.version} ${e.stream}: ${e.text.replace(/\n$/, '')}${e.dropped > 0 ? ` (${e.dropped} bytes dropped)` : ''}`;
}

/**
 * What the daemon makes of each registry event: a log line at the level it deserves, the counters
 * `show metrics` reports, and the daemon event `watch` streams.
 */
export function classEventHandler(log: Logger, metrics: Metrics, publish: (body: DaemonEventBody) => void): (e: RegistryEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'loaded':
        publish({ type: 'class-loaded', checker: e.name, version: e.version, sha256: e.sha256 });
        return;
      case 'unloaded':
        metrics.classesUnloaded++;
        publish({ type: 'class-unloaded', checker: e.name, version: e.version });
        return;
      case 'released':
        log.debug(`${e.name} checker v${e.version} released by every worker`);
        publish({ type: 'class-released', checker: e.name, version: e.version });
        return;
      case 'quarantined':
        metrics.quarantines++;
        log.error(`${e.name} checker v${e.version} quarantined: ${e.reason}`);
        publish({ type: 'class-quarantined', checker: e.name, version: e.version, reason: e.reason });
        return;
      case 'call-failed':
        log.warn(`${e.message} (class v${e.version})`);
        publish({ type: 'call-failed', checker: e.name, version: e.version, message: e.message });
        return;
      case 'refcount-error':
        log.error(`${e.name} checker class v${e.version} refcount went below zero (${e.count})`);
        publish({ type: 'refcount-error', checker: e.name, version: e.version, count: e.count });
        return;
      case 'plugin-output':
        metrics.recordPluginOutput(e.dropped);
        log.info(pluginOutputLine(e));
        return;
    }
  };
}
