// Structured, quiet-by-default logging: one JSON object per line on stderr, level from LOG_LEVEL.
import { envLogLevel, type LogLevel } from './config.ts';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The longest string value a log line carries (an error message quoting a record, a stack). */
export const MAX_LOG_STRING = 4000;
/** The longest log line: whatever the fields hold, one line stays readable and a log stays greppable. */
export const MAX_LOG_LINE = 16_384;

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters)`;
}

/** One log line, bounded: long strings are clipped, and a line still over the limit keeps only its head. */
export function formatLogLine(
  lvl: LogLevel,
  component: string,
  msg: string,
  fields?: Record<string, unknown>,
  now = new Date(),
): string {
  const line = JSON.stringify(
    { ts: now.toISOString(), level: lvl, component, msg: clip(msg, MAX_LOG_STRING), ...fields },
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? clip(v, MAX_LOG_STRING) : v),
  );
  if (line.length <= MAX_LOG_LINE) return line;
  return JSON.stringify({
    ts: now.toISOString(),
    level: lvl,
    component,
    msg: clip(msg, MAX_LOG_STRING),
    truncated: clip(line, MAX_LOG_LINE - MAX_LOG_STRING - 200),
  });
}

/** Writing a log line never throws: a full disk or a closed stderr must not take the process down. */
function writeLine(line: string): void {
  try {
    process.stderr.write(line + '\n', () => undefined);
  } catch {
    /* nowhere left to say it */
  }
}
// An asynchronous write error (EPIPE, ENOSPC on a redirected stderr) arrives as an 'error' event: without a
// listener it would be an uncaught exception.
process.stderr.on('error', () => undefined);

export function createLogger(component: string, level: LogLevel = envLogLevel()): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    let line: string;
    try {
      line = formatLogLine(lvl, component, msg, fields);
    } catch (e) {
      // A field that cannot be serialised (a cycle) still leaves a line.
      line = JSON.stringify({
        ts: new Date().toISOString(),
        level: lvl,
        component,
        msg: clip(msg, MAX_LOG_STRING),
        unserialisable: String(e),
      });
    }
    writeLine(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
