import { Agent } from 'undici';
import type { Principal } from '../../auth/principal.js';
import { defaultAliases, vendorOf } from '../../config/model-catalog.js';
import type { RelayConfig } from '../../config/relay-config.js';
import { createProvider } from '../../providers/create-provider.js';
import type { CanaryController } from '../../routing/canary-controller.js';
import { DeploymentRegistry } from '../../routing/deployment.js';
import { ModelRouter } from '../../routing/model-router.js';
import { suggestModels } from '../../routing/suggest-models.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import { MemoryCanaryStore } from '../../store/memory-canary-store.js';

/** An upstream model name that a configured alias or fallback leads to, and where it is configured. */
export interface UpstreamModelUse {
  provider: string;
  model: string;
  where: string;
}

/** The check's results, and where the configured names lead (for comparing with the upstreams' lists). */
export interface ModelNamesCheck {
  results: CheckResult[];
  upstreamModels: UpstreamModelUse[];
}

/** Resolution as an unrestricted key sees it: the question is whether a name is served at all. */
const anyModel: Principal = { id: 'doctor', name: 'relay doctor', isMaster: true, models: undefined };

const vendorKeys: Record<string, string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY', google: 'GEMINI_API_KEY', deepseek: 'DEEPSEEK_API_KEY' };

/**
 * The seed's "Model not found" on the relay's side: every alias and fallback name of the
 * configuration must lead to a served model, or requests that use it get 400 `model_not_found`.
 * Resolution is the server's own `ModelRouter`, so the doctor cannot disagree with `serve`. The
 * built-in aliases (the seed's table) are not reported: that `gemini-pro` is unserved without a
 * Gemini or HolySheep key is expected, and the provider keys check already says which keys are set.
 */
export async function checkModelNames(config: RelayConfig): Promise<ModelNamesCheck> {
  const dispatcher = new Agent();
  const canaries = new Map<string, CanaryController>();
  try {
    const router = new ModelRouter(config, {
      // Canaries are built but never judged here: their state stays in this process.
      canaryStore: new MemoryCanaryStore(),
      registry: new DeploymentRegistry(),
      canaries,
      // Adapters only: no request is ever sent through them here.
      providerFor: (name, apiKey) => {
        const settings = config.providers.get(name);
        if (settings === undefined) throw new Error(`no provider named ${name}`);
        return createProvider({ ...settings, apiKey: apiKey ?? settings.apiKey }, dispatcher);
      },
    });
    const served = router.listServed();
    const upstreamModels: UpstreamModelUse[] = [];
    const resolves = (name: string, where?: string) => {
      let resolved: ReturnType<ModelRouter['resolve']>;
      try {
        resolved = router.resolve(name, anyModel);
      } catch {
        return false;
      }
      for (const group of resolved.route.groups) {
        // A deployment with its own key has a derived provider name, `holysheep#1a2b3c`.
        for (const deployment of group) if (where !== undefined) upstreamModels.push({ provider: deployment.provider.name.replace(/#.*$/, ''), model: deployment.model, where });
      }
      return true;
    };

    const broken: CheckResult[] = [];
    const report = (where: string, wanted: string) => {
      const suggestions = suggestModels(wanted, served);
      const vendor = vendorOf(wanted);
      const setup = vendor === undefined ? '' : ` or set ${vendorKeys[vendor]} (or HOLYSHEEP_API_KEY) so that ${vendor} models are served`;
      const closest = suggestions.length > 0 ? `closest served names: ${suggestions.join(', ')}. ` : '';
      broken.push(
        checkResult(
          'model names',
          'fail',
          `${where}: "${wanted}" is not a served model`,
          `${closest}Point it at a served model${setup}. GET /v1/models on the running relay lists the served names.`,
        ),
      );
    };

    let aliasCount = 0;
    for (const [alias, target] of config.aliases) {
      if (defaultAliases[alias] === target) continue;
      aliasCount++;
      if (!resolves(alias, `aliases.${alias}`)) report(`aliases.${alias}`, target);
    }
    let fallbackCount = 0;
    const tables = { fallbacks: config.fallbacks, contextFallbacks: config.contextFallbacks, contentFilterFallbacks: config.contentFilterFallbacks };
    for (const [table, entries] of Object.entries(tables)) {
      for (const [model, fallbacks] of entries) {
        fallbackCount++;
        if (!resolves(model)) report(`${table}.${model} (the model it applies to)`, model);
        fallbacks.forEach((fallback, index) => {
          fallbackCount++;
          if (!resolves(fallback, `${table}.${model}[${index}]`)) report(`${table}.${model}[${index}]`, fallback);
        });
      }
    }
    if (broken.length > 0) return { results: broken, upstreamModels };
    const unservedBuiltIns = Object.keys(defaultAliases).filter((alias) => config.aliases.get(alias) === defaultAliases[alias] && !resolves(alias)).length;
    const skipped = unservedBuiltIns === 0 ? '' : `; ${unservedBuiltIns} built-in alias(es) unserved for lack of an upstream of their family`;
    const summary = `${aliasCount} configured alias(es), ${config.routes.size} route(s) and ${fallbackCount} fallback name(s) resolve; ${served.length} names served${skipped}`;
    return { results: [checkResult('model names', 'pass', summary)], upstreamModels };
  } finally {
    for (const controller of canaries.values()) controller.stop();
    await dispatcher.close();
  }
}
