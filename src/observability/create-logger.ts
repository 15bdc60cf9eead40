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
 * The fields of an error a line shows besides its type, message and stack (those of its causes
 * included): scalars that say what failed and where (Node's system and HTTP-parser errors, the
 * database's). Every other field is left out: errors carry what they were working on — Node's
 * `rawPacket` (the bytes of a request it could not parse, its Authorization header among them), a
 * Redis client's `command` (with its arguments: AUTH's password), a database pool's `client` (with
 * its connection settings) — and no rule by path or value could know them all.
 */
const errorFields = ['code', 'errno', 'syscall', 'address', 'port', 'status', 'statusCode', 'reason', 'severity', 'detail', 'hint', 'schema', 'table', 'column', 'constraint'];

/** An error as a line shows it: `errorFields` and pino's type, message and stack, with `scrub` applied to every text. */
function serializeError(error: unknown, scrub: (text: string) => string): unknown {
  if (error === null || typeof error !== 'object' || typeof (error as { message?: unknown }).message !== 'string') return error;
  const standard = pino.stdSerializers.err(error as Error);
  const shown: Record<string, unknown> = { type: standard.type, message: scrub(standard.message) };
  if (typeof standard.stack === 'string') shown.stack = scrub(standard.stack);
  for (const field of errorFields) {
    const value = (error as Record<string, unknown>)[field];
    if (typeof value === 'string') shown[field] = scrub(value);
    else if (typeof value === 'number' || typeof value === 'boolean') shown[field] = value;
  }
  return shown;
}

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
 * (upstream error bodies, errors' messages and stacks), by value; an error shows only chosen fields.
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
      // Also for the errors Fastify logs itself (a malformed request's, at trace level).
      serializers: { err: (error: unknown) => serializeError(error, scrub) },
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
