import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; keys and article text are never logged. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base, redact: ['authorization', 'req.headers.authorization', 'key'] });
}
