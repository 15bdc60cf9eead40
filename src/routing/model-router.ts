import { compileGlobs } from '../auth/glob.js';
import type { Principal } from '../auth/principal.js';
import { defaultCatalog, vendorOf, type CatalogModel, type Vendor } from '../config/model-catalog.js';
import type { RelayConfig } from '../config/relay-config.js';
import type { Provider } from '../providers/provider.js';
import { RelayError } from '../spec/relay-error.js';
import { suggestModels } from './suggest-models.js';

/** One deployment a request can be sent to. */
export interface Target {
  provider: Provider;
  /** Model name sent upstream. */
  model: string;
  weight: number;
}

/** Where a requested model name leads. */
export interface ResolvedModel {
  /** What the client asked for. */
  requested: string;
  /** The served model after aliases. */
  model: string;
  targets: Target[];
}

/**
 * Resolves a requested model name: aliases first (the seed's table, then the config's), then an
 * explicit route from the config, then a provider that lists the model, then the default route by
 * vendor family (a vendor's own key if set, else HolySheep, which serves every family).
 */
export class ModelRouter {
  private readonly resolved = new Map<string, ResolvedModel | null>();
  private readonly servedNames: string[];
  private readonly providerMatchers: Array<{ provider: Provider; matches: (model: string) => boolean }>;
  private readonly keyMatchers = new WeakMap<Principal, (model: string) => boolean>();
  private readonly catalog = new Map<string, CatalogModel>(defaultCatalog.map((entry) => [entry.id, entry]));

  constructor(
    private readonly config: RelayConfig,
    private readonly providers: Map<string, Provider>,
  ) {
    this.providerMatchers = [...config.providers.values()]
      .filter((settings) => settings.models.length > 0)
      .map((settings) => ({ provider: this.provider(settings.name), matches: compileGlobs(settings.models) }));
    const candidates = new Set<string>([...config.routes.keys(), ...this.catalog.keys(), ...config.aliases.keys()]);
    if (config.mockOnly) for (const name of ['mock-chat', 'mock-embedding']) candidates.add(name);
    for (const settings of config.providers.values()) for (const pattern of settings.models) if (!/[*?]/.test(pattern)) candidates.add(pattern);
    this.servedNames = [...candidates].filter((name) => this.lookup(name) !== null).sort();
  }

  /** Names for `GET /v1/models`: every concrete model and alias this relay serves. */
  listServed(): readonly string[] {
    return this.servedNames;
  }

  /** Resolves a model for a caller, or throws 404 (unknown, with suggestions) or 403 (not allowed for this key). */
  resolve(requested: string, principal: Principal): ResolvedModel {
    const found = this.lookup(requested);
    if (found === null) {
      const suggestions = suggestModels(requested, this.servedNames);
      const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((name) => `"${name}"`).join(', ')}?` : '';
      const vendor = vendorOf(requested);
      const setup = vendor === undefined ? '' : ` No upstream for ${vendorLabel[vendor]} models is configured: set ${vendorKey[vendor]} or HOLYSHEEP_API_KEY.`;
      throw new RelayError(`The model "${requested}" does not exist on this relay.${hint}${setup} GET /v1/models lists the served models.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      });
    }
    if (principal.models !== undefined) {
      let allowed = this.keyMatchers.get(principal);
      if (allowed === undefined) {
        allowed = compileGlobs(principal.models);
        this.keyMatchers.set(principal, allowed);
      }
      if (!allowed(found.requested) && !allowed(found.model)) {
        throw new RelayError(
          `This API key may not use the model "${requested}". It may use: ${principal.models.join(', ')}. Ask the relay's operator to extend the key's models.`,
          { status: 403, type: 'permission_error', code: 'model_not_allowed', param: 'model' },
        );
      }
    }
    return found;
  }

  private lookup(requested: string): ResolvedModel | null {
    const cached = this.resolved.get(requested);
    if (cached !== undefined) return cached;
    const result = this.compute(requested);
    // Unknown names are not cached: a client looping over random names must not grow memory.
    if (result !== null) this.resolved.set(requested, result);
    return result;
  }

  private compute(requested: string): ResolvedModel | null {
    let model = requested;
    for (let depth = 0; depth < 8 && this.config.aliases.has(model); depth++) model = this.config.aliases.get(model) ?? model;
    const route = this.config.routes.get(model);
    if (route !== undefined) {
      return {
        requested,
        model,
        targets: route.targets.map((target) => ({ provider: this.provider(target.provider), model: target.model, weight: target.weight })),
      };
    }
    const listed = this.providerMatchers.find((entry) => entry.matches(model));
    if (listed !== undefined) return { requested, model, targets: [{ provider: listed.provider, model, weight: 1 }] };
    const vendor = vendorOf(model);
    if (vendor === undefined) return null;
    const candidates = [...this.config.providers.values()].filter((settings) => settings.vendors.includes(vendor));
    // A vendor's own upstream is preferred over an aggregator that serves every vendor.
    candidates.sort((left, right) => left.vendors.length - right.vendors.length);
    const chosen = candidates[0];
    if (chosen === undefined) return null;
    const direct = chosen.vendors.length === 1;
    const upstreamModel = direct ? (this.catalog.get(model)?.vendorName ?? model) : model;
    return { requested, model, targets: [{ provider: this.provider(chosen.name), model: upstreamModel, weight: 1 }] };
  }

  private provider(name: string): Provider {
    const provider = this.providers.get(name);
    if (provider === undefined) throw new Error(`no provider instance named ${name}`);
    return provider;
  }
}

const vendorLabel: Record<Vendor, string> = { openai: 'OpenAI', anthropic: 'Anthropic', google: 'Gemini', deepseek: 'DeepSeek' };
const vendorKey: Record<Vendor, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  google: 'GEMINI_API_KEY',
  deepseek: 'DEEPSEEK_API_KEY',
};
