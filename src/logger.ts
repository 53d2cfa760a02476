// Structured logging (pino). Secrets never reach the log: credentials, keys, tokens and
// authorization headers are redacted by path.
import pino from 'pino';

export type Logger = pino.Logger;

export const REDACT_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}

/** A logger that writes nothing (tests, CLI commands that print their own output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
