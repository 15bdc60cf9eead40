import { compileGlobs } from '../auth/glob.js';
import type { Principal } from '../auth/principal.js';
import { catalogModelOf, catalogModels, vendorOf, type Vendor } from '../config/model-catalog.js';
import type { RelayConfig, RouteTarget } from '../config/relay-config.js';
import type { Provider } from '../providers/provider.js';
import { RelayError } from '../spec/relay-error.js';
import { CanaryController, canaryFingerprint, type CanaryCheck, type CanarySnapshot } from './canary-controller.js';
import type { CanaryStore } from '../store/relay-store.js';
import type { DeploymentRegistry } from './deployment.js';
import { RouteRuntime } from './route-runtime.js';
import { ShadowMirror } from './shadow-mirror.js';
import { suggestModels } from './suggest-models.js';

/** Where a requested model name leads. */
export interface ResolvedModel {
  /** What the client asked for. */
  requested: string;
  /** The served model after aliases. */
  model: string;
  route: RouteRuntime;
}

export interface ModelRouterOptions {
  /** The provider instance for a name, or a derived one using a deployment's own key. */
  providerFor: (name: string, apiKey?: string) => Provider;
  /** The provider instance of this configuration with this name (a derived one's too: `openai#1a2b3c`), if any. */
  providerNamed?: (name: string) => Provider | undefined;
  registry: DeploymentRegistry;
  /** Canary controllers that survive config reloads (same model and settings). */
  canaries: Map<string, CanaryController>;
  /** Where canary state is shared (replicas, restarts). */
  canaryStore: CanaryStore;
  /** This process's name among replicas, for the canary samples it writes. */
  replica?: string;
  onCanaryChange?: (snapshot: CanarySnapshot, check: CanaryCheck) => void;
  onCanaryError?: (model: string, error: unknown, during: string) => void;
}

export type FallbackKind = 'exhausted' | 'context_length' | 'content_filter';

/**
 * Resolves a requested model name: aliases first (the seed's table, then the config's), then an
 * explicit route from the config, then a provider that lists the model, then the default route by
 * vendor family (a vendor's own key if set, else HolySheep, which serves every family).
 */
export class ModelRouter {
  private readonly resolved = new Map<string, ResolvedModel | null>();
  private readonly servedNames: string[];
  /** Undefined while the constructor lists the served names (everything is cached then). */
  private listedNames: Set<string> | undefined;
  private readonly providerMatchers: Array<{ name: string; matches: (model: string) => boolean }>;
  private readonly keyMatchers = new WeakMap<Principal, KeyModels>();
  private readonly runtimes = new Map<string, RouteRuntime>();

  constructor(
    private readonly config: RelayConfig,
    private readonly options: ModelRouterOptions,
  ) {
    this.providerMatchers = [...config.providers.values()]
      .filter((settings) => settings.models.length > 0)
      .map((settings) => ({ name: settings.name, matches: compileGlobs(settings.models) }));
    const candidates = new Set<string>([...config.routes.keys(), ...catalogModels.keys(), ...config.aliases.keys()]);
    if (config.mockOnly) for (const name of ['mock-chat', 'mock-embedding']) candidates.add(name);
    for (const settings of config.providers.values()) for (const pattern of settings.models) if (!/[*?]/.test(pattern)) candidates.add(pattern);
    this.servedNames = [...candidates].filter((name) => this.lookup(name) !== null).sort();
    this.listedNames = new Set(this.servedNames);
    for (const name of config.routes.keys()) this.listedNames.add(name);
    const liveCanaries = new Set<string>();
    for (const route of config.routes.values()) if (route.canary !== undefined) liveCanaries.add(route.model);
    for (const [model, controller] of options.canaries) {
      if (!liveCanaries.has(model)) {
        controller.stop();
        options.canaries.delete(model);
      }
    }
  }

  /** Whether a name is listed (for bounded metric labels). */
  isListed(model: string): boolean {
    return this.listedNames?.has(model) ?? false;
  }

  /**
   * The name a model's metrics are labelled with, one of a bounded set: a listed name itself; for a
   * vendor's name or dated snapshot of a catalog model, that model's name (`claude-sonnet-4-5-20250929`
   * → `claude-sonnet-4.5`, as it is priced); else `other`, so that client-chosen names cannot grow
   * the number of series.
   */
  metricLabel(model: string): string {
    if (this.isListed(model)) return model;
    const catalog = catalogModelOf(model)?.id;
    return catalog !== undefined && this.isListed(catalog) ? catalog : 'other';
  }

  /** Only listed names are cached: a family route serves any `gpt-*` name, and clients must not grow memory. */
  private cacheable(name: string): boolean {
    return this.listedNames === undefined || this.listedNames.has(name);
  }

  /** Names for `GET /v1/models`: every concrete model and alias this relay serves, or those of them a key may use. */
  listServed(principal?: Principal): readonly string[] {
    if (principal?.models === undefined) return this.servedNames;
    return this.servedNames.filter((name) => {
      const found = this.lookup(name);
      return found !== null && this.allows(principal, found);
    });
  }

  /** Resolves once every canary of this configuration has read its shared state. */
  async canariesReady(): Promise<void> {
    await Promise.all([...this.config.routes.keys()].map((model) => this.options.canaries.get(model)?.ready));
  }

  /** Routes with a canary, for the admin API. */
  canary(model: string): CanaryController | undefined {
    return this.options.canaries.get(model);
  }

  /** Routes with shadow traffic, for the admin API. */
  shadows(): Array<{ model: string } & ReturnType<ShadowMirror['snapshot']>> {
    return [...this.runtimes.values()].flatMap((route) => (route.shadow === undefined ? [] : [{ model: route.model, ...route.shadow.snapshot() }]));
  }

  /**
   * Resolves a model for a caller, or throws `model_not_found` (unknown, with suggestions) or 403
   * (not allowed for this key). A request naming an unknown model is a bad request: 400 "Model not
   * found", the seed playbook's error for it. `unknownStatus` 404 is for lookups of the model as a
   * resource (`GET /v1/models/{model}`) and for the Anthropic front door, where Anthropic answers an
   * unknown model with 404 `not_found_error`.
   */
  resolve(requested: string, principal: Principal, unknownStatus: 400 | 404 = 400): ResolvedModel {
    const found = this.lookup(requested);
    if (found === null) {
      const suggestions = suggestModels(requested, this.servedNames);
      const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((name) => `"${name}"`).join(', ')}?` : '';
      const vendor = vendorOf(requested);
      const setup = vendor === undefined ? '' : ` No upstream for ${vendorLabel[vendor]} models is configured: set ${vendorKey[vendor]} or HOLYSHEEP_API_KEY.`;
      throw new RelayError(`Model not found: "${requested}" is not served by this relay.${hint}${setup} GET /v1/models lists the served models.`, {
        status: unknownStatus,
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      });
    }
    if (!this.allows(principal, found)) {
      const alias = found.model === requested ? '' : ` (an alias of "${found.model}")`;
      throw new RelayError(
        `This API key may not use the model "${requested}"${alias}. It may use: ${principal.models?.join(', ')}. Ask the relay's operator to extend the key's models.`,
        { status: 403, type: 'permission_error', code: 'model_not_allowed', param: 'model' },
      );
    }
    return found;
  }

  /**
   * The models to try after `model` for a kind of failure, from the config's fallback tables (and
   * a request's own `fallbacks` for exhausted attempts). Names that are unknown or not allowed for
   * the key are skipped: a fallback must never widen what a key may use.
   */
  fallbacksFor(model: string, kind: FallbackKind, principal: Principal, requestFallbacks: readonly string[] = []): ResolvedModel[] {
    const table = kind === 'context_length' ? this.config.contextFallbacks : kind === 'content_filter' ? this.config.contentFilterFallbacks : this.config.fallbacks;
    const configured = table.get(model) ?? noModels;
    const names = kind === 'exhausted' && requestFallbacks.length > 0 ? [...requestFallbacks, ...configured] : configured;
    const result: ResolvedModel[] = [];
    if (names.length === 0) return result;
    for (const name of names) {
      const found = this.lookup(name);
      if (found !== null && found.model !== model && this.allows(principal, found) && !result.some((entry) => entry.model === found.model)) result.push(found);
    }
    return result;
  }

  /**
   * Whether a key may use a model. Its globs are matched against the model an alias leads to, not
   * the alias: `claude-3-*` must not reach `claude-opus-4` through the alias `claude-3-opus`. An
   * alias the key names exactly is allowed, whatever it leads to (the operator chose it).
   */
  private allows(principal: Principal, found: ResolvedModel): boolean {
    if (principal.models === undefined) return true;
    let allowed = this.keyMatchers.get(principal);
    if (allowed === undefined) {
      allowed = { matches: compileGlobs(principal.models), names: new Set(principal.models) };
      this.keyMatchers.set(principal, allowed);
    }
    return allowed.matches(found.model) || allowed.names.has(found.requested);
  }

  private lookup(requested: string): ResolvedModel | null {
    const cached = this.resolved.get(requested);
    if (cached !== undefined) return cached;
    let model = requested;
    for (let depth = 0; depth < 8 && this.config.aliases.has(model); depth++) model = this.config.aliases.get(model) ?? model;
    const route = this.runtimeFor(model);
    const result = route === undefined ? null : { requested, model, route };
    // Unknown and unlisted names are not cached: a client looping over random names must not grow memory.
    if (result !== null && this.cacheable(requested)) this.resolved.set(requested, result);
    return result;
  }

  private runtimeFor(model: string): RouteRuntime | undefined {
    const existing = this.runtimes.get(model);
    if (existing !== undefined) return existing;
    const runtime = this.buildRuntime(model);
    if (runtime !== undefined && this.cacheable(model)) this.runtimes.set(model, runtime);
    return runtime;
  }

  private buildRuntime(model: string): RouteRuntime | undefined {
    const route = this.config.routes.get(model);
    if (route !== undefined) {
      let canary: RouteRuntime['canary'];
      if (route.canary !== undefined) {
        let controller = this.options.canaries.get(model);
        if (controller === undefined || controller.fingerprint !== canaryFingerprint(route.canary)) {
          controller?.stop();
          const { onCanaryError } = this.options;
          controller = new CanaryController(model, route.canary, {
            store: this.options.canaryStore,
            replica: this.options.replica ?? 'local',
            onChange: this.options.onCanaryChange,
            onError: onCanaryError === undefined ? undefined : (error, during) => onCanaryError(model, error, during),
          });
          this.options.canaries.set(model, controller);
        }
        controller.start();
        canary = { controller, group: this.deployments(route.canary.targets) };
      }
      const shadow = route.shadow === undefined ? undefined : new ShadowMirror(this.deployments(route.shadow.targets), route.shadow.percent);
      return new RouteRuntime(model, route.groups.map((group) => this.deployments(group)), route.strategy, canary, shadow, route.timeoutMs);
    }
    const target = this.defaultTarget(model);
    if (target === undefined) return undefined;
    if (!this.cacheable(model)) {
      // An unlisted name shares its provider's health record instead of starting one of its own.
      const provider = this.options.providerFor(target.provider);
      const deployment = this.options.registry.deployment(provider, target.model, 1, `${provider.name}/other`);
      return new RouteRuntime(model, [[deployment]], 'weighted', undefined, undefined);
    }
    return new RouteRuntime(model, [this.deployments([target])], 'weighted', undefined, undefined);
  }

  private defaultTarget(model: string): RouteTarget | undefined {
    const listed = this.providerMatchers.find((entry) => entry.matches(model));
    if (listed !== undefined) return { provider: listed.name, model, weight: 1 };
    const vendor = vendorOf(model);
    if (vendor === undefined) return undefined;
    const candidates = [...this.config.providers.values()].filter((settings) => settings.vendors.includes(vendor));
    // A vendor's own upstream is preferred over an aggregator that serves every vendor.
    candidates.sort((left, right) => left.vendors.length - right.vendors.length);
    const chosen = candidates[0];
    if (chosen === undefined) return undefined;
    if (chosen.vendors.length > 1) return { provider: chosen.name, model, weight: 1 };
    // The vendor's own upstream: the name (and fields) it knows the model by.
    const known = catalogModels.get(model);
    return { provider: chosen.name, model: known?.vendorName ?? model, weight: 1, ...(known?.vendorBody === undefined ? {} : { body: known.vendorBody }) };
  }

  /** The provider of this configuration named `name` (as a deployment's provider is named), if there is one. */
  providerNamed(name: string): Provider | undefined {
    return this.options.providerNamed?.(name);
  }

  private deployments(targets: readonly RouteTarget[]) {
    return targets.map((target) => {
      const provider = this.options.providerFor(target.provider, target.apiKey);
      return this.options.registry.deployment(provider, target.model, target.weight, undefined, target.maxOutputTokens, target.body);
    });
  }
}

/** A key's models: its globs, and the names it lists exactly. */
interface KeyModels {
  matches: (model: string) => boolean;
  names: ReadonlySet<string>;
}

const vendorLabel: Record<Vendor, string> = { openai: 'OpenAI', anthropic: 'Anthropic', google: 'Gemini', deepseek: 'DeepSeek' };
const vendorKey: Record<Vendor, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  google: 'GEMINI_API_KEY',
  deepseek: 'DEEPSEEK_API_KEY',
};

/** A deployment as the attempt function sees it: a provider and the upstream model name. */
export type { Deployment as Target } from './deployment.js';

const noModels: readonly string[] = [];
