import pino, { type Logger } from 'pino';

/** Anything that can carry a credential, wherever it appears in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.privateKey',
  '*.passwordHash',
];

/** The server's one logger (JSON lines on stdout); libraries receive it, never create one. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }, base: { service: 'slipway-server' } };
  return destination ? pino(options, destination) : pino(options);
}
