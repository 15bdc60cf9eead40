import pino, { type Logger } from 'pino';
import { AccessLog } from './access-log.js';
import { redactSecrets, searchableSecrets } from '../spec/redact-secrets.js';

/** Paths pino blanks out in every line: client keys, upstream keys, cookies. */
const redactedPaths = [
  'authorization',
  'apiKey',
  'key',
  'secret',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  '*.authorization',
  '*.apiKey',
  '*.key',
  '*.secret',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["x-goog-api-key"]',
];

/**
 * Standard output, one synchronous write per line: pino's default, and measured the cheapest here.
 * Asynchronous writes cost a hand-off to libuv's thread pool for each, and batching lines into one
 * growing string (sonic-boom's `minLength`) copied the batch again for every line added.
 */
function standardOutput(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

export interface LoggerOptions {
  level: string;
  /** Values that must never appear in a log line, such as upstream API keys. */
  secrets: readonly string[];
  destination?: pino.DestinationStream;
}

/**
 * The relay's logger: JSON lines through pino, with secrets redacted by path and, in free text
 * (upstream error bodies), by value.
 */
export function createLogger(options: LoggerOptions): Logger {
  return createLoggers(options).logger;
}

/**
 * The relay's loggers on one destination: `logger` for everything (redacted by path and by value),
 * and `access` for the one access line per request, in the same JSON shape. The access line is built
 * only from fields the relay chooses (request id, key name, model, provider, status, tokens,
 * timings: never a secret), so it needs no redaction; it is the one line written for every request.
 */
export function createLoggers(options: LoggerOptions): { logger: Logger; access: AccessLog; setSecrets: (secrets: readonly string[]) => void } {
  let secrets = searchableSecrets(options.secrets);
  const scrub = (text: string) => redactSecrets(text, secrets);
  const destination = options.destination ?? standardOutput();
  const logger = pino(
    {
      level: options.level,
      base: { service: 'relay' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactedPaths, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(inputArguments, method) {
          if (secrets.length > 0) {
            for (let index = 0; index < inputArguments.length; index++) {
              const argument = inputArguments[index];
              if (typeof argument === 'string') inputArguments[index] = scrub(argument);
              else if (argument !== null && typeof argument === 'object' && typeof (argument as { detail?: unknown }).detail === 'string') {
                inputArguments[index] = { ...(argument as object), detail: scrub((argument as { detail: string }).detail) };
              }
            }
          }
          method.apply(this, inputArguments as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
  return {
    logger,
    access: new AccessLog(destination, () => logger.isLevelEnabled('info')),
    // A reloaded configuration may bring new upstream keys.
    setSecrets: (next) => {
      secrets = searchableSecrets(next);
    },
  };
}
