/**
 * Levelled logs, multipathd style: verbosity 0 (errors only) .. 6; `-v` raises it. On a terminal a
 * readable line; otherwise one NDJSON object per line, for log collectors.
 *   0 error    something failed: a quarantine, a failed reconfigure, a class that cannot load
 *   1 warn     something was refused or replaced: a worker, a dropped client, a failed pc_free
 *   2 notice   (default) start, stop, and every change: each client mutation with who sent it
 *   3 info     path state changes, plugin output, housekeeping
 *   4 debug    every check's result and time, every control request, client connects and drops
 * Verbosity 5 and 6 log what 4 does: multipath.conf files use them, there is nothing finer.
 */
export const LogLevel = { error: 0, warn: 1, notice: 2, info: 3, debug: 4 } as const;
export type LogLevelName = keyof typeof LogLevel;

export type LogSinkFn = (line: string) => void;

/**
 * Control characters (C0, DEL, C1) and the Unicode line separators as `\uXXXX`. Messages carry text
 * from plugins and clients: none of it may break a log line or reach a terminal raw. In a JSON
 * string the escape means the same character, so it is safe to apply to serialized JSON as well.
 * Backslashes are left alone: text the shim has escaped already is not escaped twice.
 */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Lines to `stream`, until the stream fails. A reader that goes away (`pathcheckd 2>&1 | head -1`:
 * EPIPE) must not take the daemon down with it, and a destroyed stream takes no more writes.
 */
export function streamSink(stream: NodeJS.WritableStream): LogSinkFn {
  let failed = false;
  stream.on('error', () => {
    failed = true;
  });
  return (line) => {
    if (!failed) stream.write(`${line}\n`);
  };
}

let stderrSink: LogSinkFn | null = null;

/** The one sink on process.stderr, shared: one 'error' listener however many loggers there are. */
export function stderrLogSink(): LogSinkFn {
  stderrSink ??= streamSink(process.stderr);
  return stderrSink;
}

export class Logger {
  constructor(
    public verbosity: number,
    private readonly json: boolean,
    private readonly sink: LogSinkFn = stderrLogSink(),
  ) {}

  /** Whether `level` is logged now: a hot path asks before it builds a line nobody reads. */
  enabled(level: LogLevelName): boolean {
    return LogLevel[level] <= this.verbosity;
  }

  log(level: LogLevelName, msg: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    const time = new Date().toISOString();
    if (this.json) {
      this.sink(escapeControls(JSON.stringify({ time, level, msg, ...fields })));
    } else {
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      this.sink(escapeControls(`${time} ${level.padEnd(6)} ${msg}${extra ? ` ${extra}` : ''}`));
    }
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  notice(msg: string, fields?: Record<string, unknown>): void {
    this.log('notice', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
}
