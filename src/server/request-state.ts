import type { Principal } from '../auth/principal.js';
import type { Usage } from '../spec/openai-chat.js';

/** What a handler learns about a request, read once when it ends for the access log and events. */
export interface RequestState {
  startedAt: number;
  principal: Principal | undefined;
  requestedModel: string | undefined;
  model: string | undefined;
  provider: string | undefined;
  attempts: number;
  stream: boolean;
  usage: Usage | undefined;
  errorCode: string | undefined;
  firstByteAt: number | undefined;
  /** Set once the answer's status line went out. */
  status: number | undefined;
}

export function newRequestState(): RequestState {
  return {
    startedAt: performance.now(),
    principal: undefined,
    requestedModel: undefined,
    model: undefined,
    provider: undefined,
    attempts: 0,
    stream: false,
    usage: undefined,
    errorCode: undefined,
    firstByteAt: undefined,
    status: undefined,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    relay: RequestState;
  }
}
