import { pino } from 'pino';

/** Structured JSON logs on stdout (pino). Every service takes a Logger, never console. */
export type Logger = pino.Logger;

export function createLogger(level: string = process.env.CXV_LOG_LEVEL ?? 'info', name = 'cxvitals'): Logger {
  return pino({ name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything: for tests that do not read logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
