import type { FastifyRequest } from 'fastify';
import { meterRequest, type MeterOptions } from '../ledger/meter-request.js';
import { publishRequestEnd, type RequestEndEvent } from '../observability/relay-events.js';
import type { AccessLog } from '../observability/access-log.js';
import type { RelayServices } from './relay-services.js';

const quietPaths = new Set(['/health', '/ready', '/metrics']);

/** Metering's options, made once per server rather than per request. */
const meterOptions = new WeakMap<RelayServices, MeterOptions>();

function meterOptionsOf(services: RelayServices): MeterOptions {
  let options = meterOptions.get(services);
  if (options === undefined) {
    options = {
      ledger: services.ledger,
      chargeUnreserved: (principal, costUsdMicros, requestId) => services.admission.chargeUnreserved(principal, costUsdMicros, requestId),
      prices: services.billing.prices,
      rates: services.billing.rates,
      onError: (error, requestId) => services.logger.error({ requestId, detail: String(error) }, 'metering failed'),
    };
    meterOptions.set(services, options);
  }
  return options;
}

/**
 * One access line and one published event per request, when its response ends or the client leaves
 * (`status` is then 499 when no status line was sent).
 */
export function finishRequest(request: FastifyRequest, status: number, clientAborted: boolean, services: RelayServices, accessLog: AccessLog): void {
  const state = request.relay;
  if (state === null || state === undefined) return;
  const durationMs = performance.now() - state.startedAt;
  const route = state.route;
  const path = route ?? request.url.split('?')[0] ?? request.url;
  const finalStatus = state.status ?? status;
  // A client that left before the status line went out is recorded as nginx records it.
  if (finalStatus === 499) state.errorCode ??= 'client_closed_request';
  const end: RequestEndEvent = {
    requestId: request.id,
    // Only matched routes: a path no route knows is the client's to invent, and must not become a metric label.
    route: route ?? 'unmatched',
    principalId: state.principal?.id,
    principalName: state.principal?.name,
    requestedModel: state.requestedModel,
    model: state.model,
    provider: state.provider,
    status: finalStatus,
    errorCode: state.errorCode,
    stream: state.stream,
    attempts: state.attempts,
    usage: state.usage,
    startedAt: state.startedAt,
    durationMs,
    firstByteMs: state.firstByteAt === undefined ? undefined : state.firstByteAt - state.startedAt,
    clientAborted,
    servedModel: state.servedModel,
    upstreamMs: state.upstreamMs,
    answerAttemptMs: state.answerAttemptMs,
    fallbackFrom: state.fallbackFrom,
  };
  if (!quietPaths.has(path) || finalStatus >= 500) {
    // The ledger's id for this request, when the client chose the request id.
    accessLog.write(end, request.method, path, state.meterId === request.id ? undefined : state.meterId);
  }
  const principal = state.principal;
  if (principal !== undefined && state.servedModel !== undefined) {
    const pending = meterRequest(
      {
        requestId: state.meterId,
        principal,
        model: state.servedModel,
        provider: state.provider,
        status: finalStatus,
        errorCode: state.errorCode,
        stream: state.stream,
        durationMs,
        usage: state.usage,
        startUsage: state.usage === undefined ? state.startUsage : undefined,
        promptTally: state.promptTally,
        deliveredText: state.delivered === undefined ? undefined : () => state.delivered?.text() ?? '',
        admission: state.admission,
      },
      meterOptionsOf(services),
    );
    if (pending !== undefined) {
      services.metering.add(pending);
      void pending.then(() => services.metering.delete(pending));
    }
  } else if (state.admission !== undefined) {
    void state.admission.release();
  }
  publishRequestEnd(end);
}
