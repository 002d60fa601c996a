/** Levels in increasing severity; a logger drops messages below its level. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Where a server writes diagnostics. Stdio servers log to stderr only (stdout carries the protocol);
 * the supervisor captures stderr. One line per message: `<name> <level> <message>`.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error' ? value : 'info';
}

/** A logger writing one line per message to `write` (default: stderr). */
export function createLogger(
  name: string,
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const emit = (at: LogLevel, message: string): void => {
    if (ORDER[at] < ORDER[level]) return;
    write(`${name} ${at} ${message.replace(/\r?\n/g, '\n  ')}\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

/** A logger that drops everything (tests, or callers that do not care). */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
