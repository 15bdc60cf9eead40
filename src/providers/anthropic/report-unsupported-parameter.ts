import { UpstreamError } from '../../spec/relay-error.js';
import type { ProviderCall } from '../provider.js';

/**
 * Handles one request parameter Anthropic cannot honour: in strict mode the request is refused
 * before any upstream call (a 400 naming the parameter), otherwise the parameter is listed in
 * `call.dropped`, which the server reports to the client in `x-relay-dropped-params`. Either way
 * it is never lost silently.
 */
export function reportUnsupportedParameter(name: string, why: string, call: ProviderCall, provider: string): void {
  if (!call.strict) {
    call.dropped.push(name);
    return;
  }
  const message = `The parameter '${name}' is not supported by the Anthropic upstream serving this model: ${why}. Remove it, or send the request without strict mode to have it dropped.`;
  throw new UpstreamError(`${provider}: refused unsupported parameter ${name} (strict mode)`, {
    reason: 'invalid_request',
    status: 400,
    upstreamMessage: message,
    upstreamType: 'invalid_request_error',
    upstreamCode: 'unsupported_parameter',
    upstreamParam: name,
    provider,
  });
}
