import diagnostics from 'node:diagnostics_channel';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttemptFailedEvent, RequestEndEvent, RequestMeteredEvent } from '../observability/relay-events.js';
import { RequestCounter, RequestHistogram, type CounterSeries, type HistogramSeries } from './request-series.js';

/** Live state the metrics read when scraped (nothing is pushed on the request path for these). */
export interface MetricsSources {
  deployments(): Array<{ id: string; state: 'closed' | 'open' | 'half_open'; inflight: number }>;
  canaries(): Array<{ model: string; weight: number }>;
  ledgerPending(): number;
  inflightRequests(): number;
  inflightStreams(): number;
  limitsDegraded(): boolean;
  /** Balance changes the database holds that Redis has yet to count, as last seen (`CreditChange`). */
  creditChangesWaiting(): number;
  /** The `model` label of a model name, one of a bounded set: a name the relay lists (catalogue, routes, aliases), the catalogue model a vendor's name or dated snapshot is priced as, or `other`. */
  modelLabel(model: string): string;
}

/** The series one kind of ended request writes (same route, model, provider, status and error). */
interface EndSeries {
  operation: string;
  requests: CounterSeries;
  duration: HistogramSeries | undefined;
  firstToken: HistogramSeries | undefined;
  upstream: HistogramSeries | undefined;
  overhead: HistogramSeries | undefined;
  inputTokens: HistogramSeries | undefined;
  outputTokens: HistogramSeries | undefined;
}

/** The series one kind of metered request writes (same model, provider and currency). */
interface MeteredSeries {
  inputTokens: CounterSeries;
  outputTokens: CounterSeries;
  cost: CounterSeries;
  officialCost: CounterSeries;
}

/** Series groups by their labels joined; bounded, though the labels themselves are. */
class SeriesGroups<T> extends Map<string, T> {
  override set(key: string, value: T): this {
    if (this.size >= 10_000) this.clear();
    return super.set(key, value);
  }
}

const refusalCodes = new Set(['rate_limit_exceeded', 'parallel_limit_exceeded', 'budget_exceeded', 'insufficient_balance', 'limits_unavailable']);
const circuitValue = { closed: 0, half_open: 1, open: 2 } as const;

/** OpenTelemetry GenAI operation names for the relay's routes. */
function operationOf(route: string): string {
  if (route === '/v1/embeddings') return 'embeddings';
  if (route === '/v1/completions') return 'text_completion';
  // Not among the conventions' names: a name of its own rather than "chat".
  if (route === '/v1/moderations') return 'moderation';
  return 'chat';
}

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80];
/** The relay's own share of a request is measured in microseconds to milliseconds. */
const overheadBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];
const tokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576];

/**
 * The relay's Prometheus metrics. Request metrics follow the OpenTelemetry GenAI semantic conventions
 * where they exist (`gen_ai_client_operation_duration_seconds`, `gen_ai_client_token_usage`,
 * `gen_ai_server_time_to_first_token_seconds`, with `gen_ai_*` labels); the rest are `relay_*`.
 * Labels are bounded: served model names, provider names, routes, status codes, reasons — never key
 * ids or request ids. Fed by the core's published events and read from live state at scrape time.
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/
 */
export class RelayMetrics {
  readonly registry = new Registry();
  private readonly unsubscribers: Array<() => void> = [];

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Written on every request: the relay's lean series (see request-series.ts).
    const registry = this.registry;
    const requests = new RequestCounter('relay_requests_total', 'Requests answered, by route, served model, provider and HTTP status.', ['route', 'model', 'provider', 'status'], registry);
    const operationDuration = new RequestHistogram(
      'gen_ai_client_operation_duration_seconds',
      'Total time of a GenAI request through the relay, arrival to last byte.',
      ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_provider_name', 'error_type'],
      durationBuckets,
      registry,
    );
    const firstToken = new RequestHistogram(
      'gen_ai_server_time_to_first_token_seconds',
      'Time from arrival to the first byte of a streamed answer, as the client sees it.',
      ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_provider_name'],
      durationBuckets,
      registry,
    );
    const tokenUsage = new RequestHistogram(
      'gen_ai_client_token_usage',
      'Tokens per request, by type (input or output).',
      ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_provider_name', 'gen_ai_token_type'],
      tokenBuckets,
      registry,
    );
    const upstreamDuration = new RequestHistogram(
      'relay_upstream_duration_seconds',
      "Time of each upstream attempt, to its answer's start or its failure, by the attempt's provider.",
      ['provider'],
      durationBuckets,
      registry,
    );
    const overhead = new RequestHistogram(
      'relay_overhead_seconds',
      "The relay's own share of a request: time to the client's first byte (or the end, for JSON) minus the upstream time.",
      ['route'],
      overheadBuckets,
      registry,
    );
    const tokens = new RequestCounter('relay_tokens_total', 'Tokens metered, by served model, provider and type.', ['model', 'provider', 'type'], registry);
    // Summed in micro-units, as the ledger sums them, and exposed in units: the totals match the ledger's exactly.
    const cost = new RequestCounter('relay_cost_total', "Spend at the relay's prices, in units of the currency.", ['model', 'currency'], registry, 1_000_000);
    const officialCost = new RequestCounter('relay_official_cost_total', 'The same usage at the official list prices, in units of the currency.', ['model', 'currency'], registry, 1_000_000);
    const attemptFailures = new Counter({ name: 'relay_upstream_attempt_failures_total', help: 'Failed upstream attempts, by provider and reason.', labelNames: ['provider', 'reason'], registers });
    const retries = new Counter({ name: 'relay_retries_total', help: 'Attempts beyond the first, by route.', labelNames: ['route'], registers });
    const fallbacks = new Counter({ name: 'relay_fallbacks_total', help: 'Requests answered by a fallback model.', labelNames: ['from', 'to'], registers });
    const refusals = new Counter({ name: 'relay_rate_limit_refusals_total', help: 'Requests refused by admission (rate, parallel, budget, balance, backend).', labelNames: ['code'], registers });
    new Gauge({
      name: 'relay_circuit_state',
      help: 'Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open.',
      labelNames: ['deployment'],
      registers,
      collect() {
        this.reset();
        for (const deployment of sources.deployments()) this.set({ deployment: deployment.id }, circuitValue[deployment.state]);
      },
    });
    new Gauge({
      name: 'relay_deployment_inflight',
      help: 'Requests in flight per deployment.',
      labelNames: ['deployment'],
      registers,
      collect() {
        this.reset();
        for (const deployment of sources.deployments()) this.set({ deployment: deployment.id }, deployment.inflight);
      },
    });
    new Gauge({
      name: 'relay_canary_weight',
      help: "Percent of a route's traffic sent to its canary candidate.",
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const canary of sources.canaries()) this.set({ model: canary.model }, canary.weight);
      },
    });
    new Gauge({ name: 'relay_inflight_requests', help: 'API requests in flight.', registers, collect() { this.set(sources.inflightRequests()); } });
    new Gauge({ name: 'relay_inflight_streams', help: 'Streams open to clients.', registers, collect() { this.set(sources.inflightStreams()); } });
    new Gauge({ name: 'relay_ledger_queue_depth', help: 'Ledger records waiting to be written.', registers, collect() { this.set(sources.ledgerPending()); } });
    new Gauge({ name: 'relay_limits_backend_degraded', help: '1 while Redis is unreachable and the failure policy applies.', registers, collect() { this.set(sources.limitsDegraded() ? 1 : 0); } });
    new Gauge({ name: 'relay_credit_changes_waiting', help: 'Balance changes (top-ups, opening balances, debits drawn in memory while Redis was unreachable) Redis has yet to count.', registers, collect() { this.set(sources.creditChangesWaiting()); } });

    // The series a request writes, found once per combination of labels rather than per update.
    const ended = new SeriesGroups<EndSeries>();
    const metered = new SeriesGroups<MeteredSeries>();
    for (const series of [requests, operationDuration, firstToken, tokenUsage, upstreamDuration, overhead, tokens, cost, officialCost]) {
      series.onReset = () => {
        ended.clear();
        metered.clear();
      };
    }
    this.subscribe<RequestEndEvent>('relay:request:end', (event) => {
      if (!event.route.startsWith('/v1/')) return;
      // A family route serves any `gpt-*` name: unlisted names share one label, so clients cannot grow the series.
      const model = event.servedModel === undefined ? 'none' : sources.modelLabel(event.servedModel);
      const provider = event.provider ?? 'none';
      const route = event.route;
      const status = event.status;
      const errorCode = event.errorCode;
      const key = `${route}\u0001${model}\u0001${provider}\u0001${status}\u0001${errorCode ?? ''}`;
      let group = ended.get(key);
      if (group === undefined) {
        const operation = operationOf(route);
        group = {
          operation,
          requests: requests.at([route, model, provider, String(status)]),
          duration: undefined,
          firstToken: undefined,
          upstream: undefined,
          overhead: undefined,
          inputTokens: undefined,
          outputTokens: undefined,
        };
        ended.set(key, group);
      }
      group.requests.value++;
      if (errorCode !== undefined && refusalCodes.has(errorCode)) refusals.inc({ code: errorCode });
      if (event.servedModel === undefined) return;
      operationDuration.observeIn((group.duration ??= operationDuration.at([group.operation, model, provider, errorCode ?? (status >= 400 ? String(status) : '')])), event.durationMs / 1000);
      if (event.stream && event.firstByteMs !== undefined) firstToken.observeIn((group.firstToken ??= firstToken.at([group.operation, model, provider])), event.firstByteMs / 1000);
      // The answering attempt's time is its provider's; failed attempts' times went to theirs as they failed.
      if (event.answerAttemptMs !== undefined) upstreamDuration.observeIn((group.upstream ??= upstreamDuration.at([provider])), event.answerAttemptMs / 1000);
      if (event.upstreamMs !== undefined) {
        // The relay's own share: the whole chain's upstream time, waits between attempts included, is not the relay's.
        const answerStartedMs = event.stream ? event.firstByteMs : event.durationMs;
        if (answerStartedMs !== undefined) overhead.observeIn((group.overhead ??= overhead.at([route])), Math.max(0, answerStartedMs - event.upstreamMs) / 1000);
      }
      if (event.attempts > 1) retries.inc({ route }, event.attempts - 1);
      if (event.fallbackFrom !== undefined) fallbacks.inc({ from: sources.modelLabel(event.fallbackFrom), to: model });
      if (event.usage !== undefined) {
        tokenUsage.observeIn((group.inputTokens ??= tokenUsage.at([group.operation, model, provider, 'input'])), event.usage.prompt_tokens);
        tokenUsage.observeIn((group.outputTokens ??= tokenUsage.at([group.operation, model, provider, 'output'])), event.usage.completion_tokens);
      }
    });
    this.subscribe<AttemptFailedEvent>('relay:attempt:failed', (event) => {
      attemptFailures.inc({ provider: event.provider, reason: event.reason });
      upstreamDuration.observe([event.provider], event.durationMs / 1000);
    });
    this.subscribe<RequestMeteredEvent>('relay:request:metered', (event) => {
      const provider = event.provider ?? 'none';
      const model = sources.modelLabel(event.model);
      const key = `${model}\u0001${provider}\u0001${event.currency}`;
      let group = metered.get(key);
      if (group === undefined) {
        group = {
          inputTokens: tokens.at([model, provider, 'input']),
          outputTokens: tokens.at([model, provider, 'output']),
          cost: cost.at([model, event.currency]),
          officialCost: officialCost.at([model, event.currency]),
        };
        metered.set(key, group);
      }
      group.inputTokens.value += event.promptTokens;
      group.outputTokens.value += event.completionTokens;
      group.cost.value += event.costMicros;
      group.officialCost.value += event.officialCostMicros;
    });
  }

  /** The text exposition format for a scrape. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers.length = 0;
  }

  private subscribe<T>(name: string, listener: (event: T) => void): void {
    const handler = (message: unknown) => listener(message as T);
    diagnostics.subscribe(name, handler);
    this.unsubscribers.push(() => diagnostics.unsubscribe(name, handler));
  }
}
