import type { ProviderCall } from '../providers/provider.js';
import { withLimitField, type ChatRequest } from '../spec/openai-chat.js';
import { UpstreamError } from '../spec/relay-error.js';
import type { Deployment } from './deployment.js';

interface Sample {
  ok: boolean;
  status: number;
  latencyMs: number;
}

function summarise(samples: readonly Sample[]) {
  const latencies = samples.map((sample) => sample.latencyMs).sort((left, right) => left - right);
  const at = (quantile: number) => (latencies.length === 0 ? null : (latencies[Math.min(latencies.length - 1, Math.ceil(quantile * latencies.length) - 1)] ?? null));
  return {
    requests: samples.length,
    errors: samples.filter((sample) => !sample.ok).length,
    latencyP50Ms: at(0.5),
    latencyP99Ms: at(0.99),
    statuses: samples.reduce<Record<string, number>>((counts, sample) => ({ ...counts, [sample.status]: (counts[sample.status] ?? 0) + 1 }), {}),
  };
}

/**
 * Shadow traffic: a share of a route's chat requests is sent again, in the background, to other
 * deployments; the client only ever sees the primary's answer. The shadow's status and latency are
 * kept beside the primary's (last 1000 each) for the admin API. Mirrored calls are never retried
 * and are cancelled after the per-attempt timeout.
 */
export class ShadowMirror {
  private readonly primary: Sample[] = [];
  private readonly shadow: Sample[] = [];
  private next = 0;

  constructor(
    readonly deployments: readonly Deployment[],
    readonly percent: number,
    private readonly random: () => number = Math.random,
  ) {}

  recordPrimary(ok: boolean, status: number, latencyMs: number): void {
    push(this.primary, { ok, status, latencyMs });
  }

  /** Maybe mirrors this request; returns at once. */
  maybeMirror(request: ChatRequest, timeoutMs: number, requestId: string): void {
    if (this.deployments.length === 0 || this.random() * 100 >= this.percent) return;
    const deployment = this.deployments[this.next++ % this.deployments.length] as Deployment;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const call: ProviderCall = { signal: controller.signal, timeoutMs, requestId: `${requestId}-shadow`, strict: false, dropped: [], bodyDefaults: deployment.body };
    const started = performance.now();
    deployment.provider
      // Its output limit in the field the shadow's model takes, as the route's own deployments get it (DeepSeek ignores max_completion_tokens).
      .chat({ ...withLimitField(request, deployment.model, request.max_completion_tokens ?? request.max_tokens ?? undefined), stream: false, stream_options: undefined }, deployment.model, call)
      .then(() => push(this.shadow, { ok: true, status: 200, latencyMs: performance.now() - started }))
      .catch((error: unknown) => {
        const status = error instanceof UpstreamError ? (error.status ?? 502) : 502;
        push(this.shadow, { ok: false, status, latencyMs: performance.now() - started });
      })
      .finally(() => clearTimeout(timer));
  }

  snapshot() {
    return { percent: this.percent, targets: this.deployments.map((deployment) => deployment.id), primary: summarise(this.primary), shadow: summarise(this.shadow) };
  }
}

function push(samples: Sample[], sample: Sample): void {
  samples.push(sample);
  if (samples.length > 1000) samples.shift();
}
