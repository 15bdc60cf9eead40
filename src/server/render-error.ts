import type { FastifyError } from 'fastify';
import { fieldPath } from '../spec/field-path.js';
import { RelayError } from '../spec/relay-error.js';
import { isDatabaseUnavailable } from '../store/database-errors.js';
import { RelayStoreError } from '../store/relay-store-error.js';
import type { ValidationIssue } from './compile-request-validator.js';

/** `/messages/0/role` + missing `x` → `messages[0].role.x`, the way OpenAI names parameters. */
function parameterName(issue: ValidationIssue): string {
  const missing = issue.keyword === 'required' && typeof issue.params.missingProperty === 'string' ? issue.params.missingProperty : undefined;
  return fieldPath(issue.instancePath, missing);
}

/** `["string", "array", "null"]` → `string, array or null`. */
function either(options: unknown): string {
  const names = Array.isArray(options) ? options.map(String) : [String(options)];
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function describeIssue(issue: ValidationIssue, parameter: string): string {
  switch (issue.keyword) {
    case 'required':
      return `Missing required parameter: '${parameter}'.`;
    case 'type':
      return `Invalid type for '${parameter}': expected ${either(issue.params.type)}.`;
    case 'enum':
      return `Invalid value for '${parameter}': expected ${either(issue.params.allowed)}.`;
    case 'format':
      return `Invalid value for '${parameter}': expected ${String(issue.params.expected)}.`;
    case 'minItems':
      return `Invalid value for '${parameter}': it must not be empty.`;
    case 'minLength':
      return `Invalid value for '${parameter}': it must not be an empty string.`;
    case 'anyOf':
      return `Invalid value for '${parameter}': it matches none of the accepted forms.`;
    default:
      return `Invalid value for '${parameter}': ${issue.message ?? 'not accepted'}.`;
  }
}

/**
 * The relay's database did not answer (the admin API's keys, accounts and usage read it directly).
 * A change sent meanwhile may have been made before the connection was lost, so the client is
 * told to check rather than to repeat it blindly.
 */
function databaseUnavailable(method: string): RelayError {
  const change = method !== 'GET' && method !== 'HEAD';
  return new RelayError(
    change
      ? "The relay's database does not answer, so this change may not have been made. Check (list again) once it answers, then retry; `relay doctor` checks the database."
      : "The relay's database does not answer. Retry shortly; `relay doctor` checks the database.",
    { status: 503, type: 'server_error', code: 'database_unavailable', headers: { 'retry-after': '1' } },
  );
}

/**
 * Maps anything thrown while handling a request to the relay error the client sees. Fastify's own
 * errors (bad JSON, body too large, schema validation) and a value the store refuses to keep
 * become OpenAI-shaped 4xx errors, a database that
 * does not answer a 503 `database_unavailable` on a route that reads it directly (`storeRoute`: the
 * admin API's; elsewhere a connection error is an upstream's); anything unexpected becomes a 500 with a fixed message, its details left to the log.
 */
export function toRelayError(error: unknown, requestId: string, storeRoute?: { method: string }): RelayError {
  if (error instanceof RelayError) return error;
  const fastifyError = error as FastifyError & { validation?: ValidationIssue[] };
  if (Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0) {
    const issue = fastifyError.validation[0] as ValidationIssue;
    const parameter = parameterName(issue) || 'body';
    return new RelayError(describeIssue(issue, parameter), { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: parameter });
  }
  if (storeRoute !== undefined && isDatabaseUnavailable(error)) return databaseUnavailable(storeRoute.method);
  // A value the store refuses to keep came from the request (the admin API checks its fields first; this is the backstop).
  if (error instanceof RelayStoreError && error.code === 'RELAY_STORE_INVALID') {
    return new RelayError(`Invalid value: ${error.message}.`, { status: 400, type: 'invalid_request_error', code: 'invalid_request' });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RelayError('The request body is larger than this relay accepts. Send less data, or ask the operator to raise server.bodyLimitBytes.', {
        status: 413,
        type: 'invalid_request_error',
        code: 'request_too_large',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RelayError('The request body is empty. Send a JSON object.', { status: 400, type: 'invalid_request_error', code: 'invalid_json' });
    default:
      break;
  }
  // JSON.parse takes any depth, but serialising or converting a body nested thousands of levels deep overflows the stack: the body's fault.
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new RelayError('The request body is nested too deeply to be handled (arrays or objects inside one another thousands of levels deep). Send a flatter body.', {
      status: 400,
      type: 'invalid_request_error',
      code: 'invalid_request',
    });
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new RelayError(fastifyError.message, { status: fastifyError.statusCode, type: 'invalid_request_error', code: 'invalid_request' });
  }
  return new RelayError(`The relay failed to handle this request. Retry, and report request id ${requestId} if it persists.`, {
    status: 500,
    type: 'server_error',
    code: 'internal_error',
  });
}
