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

/** How deep `scrubStrings` looks into a line's objects: a line's fields are shallow (`problems: [text]`, `upstream: { detail }`). */
const scrubDepth = 4;

/**
 * `value` with `scrub` applied to every string in it, through arrays and plain objects, or `value`
 * itself when nothing changed (no copy on a line without secrets). Errors are left to the `err`
 * serializer, and other objects (Buffers, class instances) as they are.
 */
function scrubStrings(value: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value === null || typeof value !== 'object' || depth >= scrubDepth) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const scrubbed = scrubStrings(item, scrub, depth + 1);
      if (scrubbed === item) return;
      copy ??= [...value];
      copy[index] = scrubbed;
    });
    return copy ?? value;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [field, item] of Object.entries(value)) {
    const scrubbed = scrubStrings(item, scrub, depth + 1);
    if (scrubbed === item) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[field] = scrubbed;
  }
  return copy ?? value;
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
 * The relay's logger: JSON lines through pino, with secrets redacted by path and, in every text
 * (messages, fields' strings such as upstream error bodies, errors' messages and stacks), by value;
 * an error shows only chosen fields.
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
          // Messages and every text of a line's fields: a `detail` quoting an upstream's error body,
          // a refused reload's `problems`, whatever a later line carries.
          if (secrets.length > 0) {
            for (let index = 0; index < inputArguments.length; index++) inputArguments[index] = scrubStrings(inputArguments[index], scrub);
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
