import type { Principal } from '../auth/principal.js';
import type { Deployment } from '../routing/deployment.js';
import type { ModelRouter, ResolvedModel } from '../routing/model-router.js';
import type { RouteRuntime } from '../routing/route-runtime.js';
import { defaultAnthropicMaxTokens } from '../providers/anthropic/default-anthropic-max-tokens.js';
import { rememberedRefusals, rememberRefusal } from '../providers/refusal-memory.js';
import { withLimitField, type ChatRequest } from '../spec/openai-chat.js';
import { UpstreamError } from '../spec/relay-error.js';

/**
 * The output token limit sent to a deployment by a translation (`/v1/messages` and `/v1/responses`
 * served through an upstream's chat API): the client's value, lowered to the most the upstream
 * model can produce when that is known. Anthropic clients must send `max_tokens` and size it for
 * Claude (Claude Code sends 32000 or more), which an upstream with a smaller limit refuses whole
 * (OpenAI: "max_tokens is too large"); a model cannot write more than its limit anyway, so nothing
 * is lost. Requests that reach an upstream in its own format are never changed.
 */
export function lowerToLimit(requested: number, limit: number | undefined): number {
  return limit !== undefined && requested > limit ? limit : requested;
}

/**
 * The output tokens to reserve for a request at admission, before any deployment is chosen: the
 * most it may be sent with on any deployment it can reach, those of its model (canary included)
 * and of every model it may fall back to (`fallbacks`, read only when the first do not settle it).
 * `translated` says whether a deployment gets the lowered value (a translation) or the client's.
 * Undefined when the request gives no limit.
 */
export function reservedOutputTokens(
  requested: number | undefined,
  resolved: ResolvedModel,
  fallbacks: () => readonly ResolvedModel[],
  translated: (deployment: Deployment) => boolean,
): number | undefined {
  if (requested === undefined) return undefined;
  let most = mostOnRoute(resolved.route, requested, translated);
  if (most === requested) return requested;
  for (const fallback of fallbacks()) {
    most = Math.max(most, mostOnRoute(fallback.route, requested, translated));
    if (most === requested) return requested;
  }
  return most;
}

function mostOnRoute(route: RouteRuntime, requested: number, translated: (deployment: Deployment) => boolean): number {
  let most = mostInGroup(route.canary?.group ?? [], requested, translated);
  for (const group of route.groups) {
    if (most === requested) return most;
    most = Math.max(most, mostInGroup(group, requested, translated));
  }
  return most;
}

function mostInGroup(group: readonly Deployment[], requested: number, translated: (deployment: Deployment) => boolean): number {
  let most = 0;
  for (const deployment of group) {
    const sent = translated(deployment) ? lowerToLimit(requested, deployment.maxOutputTokens) : requested;
    if (sent === requested) return requested;
    most = Math.max(most, sent);
  }
  return most;
}

/**
 * For a request that gives no output limit, what its deployments may write: `tokens`, the most any
 * deployment it can reach (its model's, canary included, and every fallback's) writes when sent no
 * limit — a Claude model the `max_tokens` the relay sends it (`defaultAnthropicMaxTokens`), any
 * other model its known or configured output limit — and `bounded`, false when some deployment's
 * limit is unknown (an OpenAI-compatible model nobody gave a limit for): that one counts as
 * `unknownLimit` (`billing.defaultMaxTokens`), and only holds to it when the relay sends it.
 */
export function openEndedOutput(resolved: ResolvedModel, fallbacks: () => readonly ResolvedModel[], unknownLimit: number): { tokens: number; bounded: boolean } {
  const most = { tokens: 0, bounded: true };
  eachDeployment(resolved.route, most, unknownLimit);
  for (const fallback of fallbacks()) eachDeployment(fallback.route, most, unknownLimit);
  return most;
}

function eachDeployment(route: RouteRuntime, most: { tokens: number; bounded: boolean }, unknownLimit: number): void {
  for (const group of route.canary === undefined ? route.groups : [route.canary.group, ...route.groups]) {
    for (const deployment of group) {
      const limit = writesAtMost(deployment);
      if (limit === undefined) most.bounded = false;
      most.tokens = Math.max(most.tokens, limit ?? unknownLimit);
    }
  }
}

/**
 * The chat request for a deployment, its output limit in the one field the deployment's model takes
 * (`maxTokensField`) and the other left out: servers other than OpenAI know only `max_tokens`
 * (DeepSeek ignores `max_completion_tokens` and writes as long as it goes, past what admission
 * reserved), and OpenAI's reasoning models take only `max_completion_tokens`. The limit is the
 * request's own (`max_completion_tokens`, else `max_tokens`: the one admission reserved), or, when
 * it gives none, the one admission set (`Admission.outputCap`), lowered to what the deployment
 * writes at most; a translation's (`translated`) is lowered to the deployment's output limit too
 * (`lowerToLimit`). The request as it is when it has no limit, or has it in that field alone.
 */
export function forDeployment(chatRequest: ChatRequest, deployment: Deployment, cap: number | undefined, translated = false): ChatRequest {
  const limit = chatRequest.max_completion_tokens ?? chatRequest.max_tokens ?? (cap === undefined ? undefined : lowerToLimit(cap, writesAtMost(deployment)));
  return withLimitField(chatRequest, deployment.model, limit !== undefined && translated ? lowerToLimit(limit, deployment.maxOutputTokens) : limit);
}

/** What a model that takes only `max_completion_tokens` is remembered by (`refusal-memory`). */
const completionTokensKey = '#max-completion-tokens';

/** The upstream a request is sent to: refusals are remembered per provider (one relay's own) and model. */
export interface RefusingUpstream {
  provider: object;
  model: string;
}

/**
 * Sends a chat request, and sends it again with its `max_tokens` as `max_completion_tokens` when
 * the upstream refuses the first for the model ("Unsupported parameter: 'max_tokens' is not
 * supported with this model. Use 'max_completion_tokens' instead."): `forDeployment` knows OpenAI's
 * reasoning models by name (`maxTokensField`), not under every name (an Azure deployment's, a new
 * family's). The refusal is remembered for the model for 10 minutes, and its next requests go with
 * `max_completion_tokens` at once. Nothing is left out and the limit is the same: the answer is the
 * one the request asked for, in strict mode too, and the refused call cost nothing.
 */
export function sendInLimitField<T>(chatRequest: ChatRequest, send: (chatRequest: ChatRequest) => Promise<T>, upstream: RefusingUpstream): Promise<T> {
  // Most requests have no max_tokens to move: sent as they are, without a frame waiting on them.
  if (chatRequest.max_tokens == null || chatRequest.max_completion_tokens != null) return send(chatRequest);
  const request = rememberedRefusals(upstream.provider, upstream.model)?.has(completionTokensKey) === true ? (withCompletionTokens(chatRequest) ?? chatRequest) : chatRequest;
  return send(request).catch((error: unknown) => {
    const renamed = refusesMaxTokens(error) ? withCompletionTokens(request) : undefined;
    if (renamed === undefined) throw error;
    rememberRefusal(upstream.provider, upstream.model, completionTokensKey, 0);
    return send(renamed);
  });
}

/** The request with its `max_tokens` sent as `max_completion_tokens`, or undefined when it has none to move. */
function withCompletionTokens(chatRequest: ChatRequest): ChatRequest | undefined {
  if (chatRequest.max_tokens == null || chatRequest.max_completion_tokens != null) return undefined;
  const { max_tokens: limit, ...rest } = chatRequest;
  return { ...rest, max_completion_tokens: limit } as ChatRequest;
}

/** Whether `error` refuses `max_tokens` in favour of `max_completion_tokens`. */
function refusesMaxTokens(error: unknown): boolean {
  return error instanceof UpstreamError && error.status === 400 && error.reason === 'invalid_request' && /'max_tokens' is not supported with this model\. Use 'max_completion_tokens' instead/.test(error.upstreamMessage ?? '');
}

/** The most a deployment writes when the request gives no limit, if known (see `openEndedOutput`). */
export function writesAtMost(deployment: Deployment): number | undefined {
  return deployment.provider.messages !== undefined ? defaultAnthropicMaxTokens(deployment.model) : deployment.maxOutputTokens;
}

/**
 * How many choices a chat request is reserved for: the `n` it asks for when some deployment it can
 * reach (its model's, canary included, or a fallback's) answers that many (`servesChoices`), else
 * 1 — Claude's Messages API answers one choice whatever `n` says (the translation drops it), and a
 * reservation of n choices there would refuse requests the key can pay for.
 */
export function reservedChoices(asked: number, resolved: ResolvedModel, fallbacks: () => readonly ResolvedModel[], servesChoices: (deployment: Deployment) => boolean): number {
  if (asked <= 1 || routeServes(resolved.route, servesChoices)) return asked;
  for (const fallback of fallbacks()) if (routeServes(fallback.route, servesChoices)) return asked;
  return 1;
}

function routeServes(route: RouteRuntime, serves: (deployment: Deployment) => boolean): boolean {
  return (route.canary?.group ?? []).some(serves) || route.groups.some((group) => group.some(serves));
}

/** Every model a request may fall back to, for any kind of failure (the body's `fallbacks` included). */
export function fallbackModels(router: ModelRouter, model: string, principal: Principal, requested: readonly string[] | undefined): ResolvedModel[] {
  return [
    ...router.fallbacksFor(model, 'exhausted', principal, requested),
    ...router.fallbacksFor(model, 'context_length', principal),
    ...router.fallbacksFor(model, 'content_filter', principal),
  ];
}
