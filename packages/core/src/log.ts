import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerConfig {
  /** Component name, written as `component` on every line. */
  component: string;
  /** Minimum level. Default: `IPPC_LOG_LEVEL`, else `info`. */
  level?: string;
  /** Where lines go. Default: standard error, so standard output stays free for results. */
  destination?: NodeJS.WritableStream;
  /** Extra fields written on every line (agent id, node name, ...). */
  base?: Record<string, unknown>;
}

/**
 * A structured (JSON lines) logger. Every ippc process logs this way so `ippc cluster logs` and
 * tests can filter by component, level and fields rather than by text.
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env.IPPC_LOG_LEVEL ?? 'info',
    base: { component: config.component, pid: process.pid, ...config.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(options, (config.destination ?? process.stderr) as pino.DestinationStream);
}

/** A logger that drops everything, for tests and library callers that bring none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
