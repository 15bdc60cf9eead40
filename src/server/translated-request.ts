import type { ProviderCall } from '../providers/provider.js';
import type { ChatRequest } from '../spec/openai-chat.js';
import { RelayError } from '../spec/relay-error.js';

/** A parameter the chat side cannot honour, with why (reported or refused by the route). */
export interface UnsupportedParameter {
  name: string;
  why: string;
}

/** A front door's request as chat (`/v1/messages`, `/v1/responses`), with what the translation could not carry. */
export interface TranslatedRequest {
  chatRequest: ChatRequest;
  unsupported: UnsupportedParameter[];
}

/**
 * Applies what a translation could not carry to one attempt: in strict mode the first parameter
 * is refused with a 400 naming it (`servedBy` says what cannot honour it); otherwise each is
 * dropped and listed in `x-relay-dropped-params`, under `droppedName` of its name.
 */
export function applyUnsupported(unsupported: readonly UnsupportedParameter[], call: ProviderCall, servedBy: string, droppedName: (name: string) => string = (name) => name): void {
  const first = unsupported[0];
  if (first !== undefined && call.strict) {
    throw new RelayError(`The parameter '${first.name}' cannot be honoured by ${servedBy}: ${first.why}. Remove it, or send the request without strict mode to have it dropped.`, {
      status: 400,
      type: 'invalid_request_error',
      code: 'unsupported_parameter',
      param: first.name,
    });
  }
  for (const parameter of unsupported) call.dropped.push(droppedName(parameter.name));
}
