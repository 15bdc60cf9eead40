import type { ProviderSettings, RelayConfig } from '../../config/relay-config.js';

/** One upstream key to try: the provider's own, or a deployment's (`models.<name>.targets[].apiKey`). */
export interface UpstreamKey {
  /** Where it is configured, for the report: `HOLYSHEEP_API_KEY`, `providers.local.apiKey`, … Never the value. */
  source: string;
  /** The environment variable that holds it, when known: the Secret's entry to fix. */
  variable: string | undefined;
  value: string | undefined;
}

/** A configured upstream as the doctor checks it: where it is, how to reach it, which keys to try. */
export interface UpstreamTarget {
  settings: ProviderSettings;
  url: URL;
  port: number;
  /** Where the base URL comes from, for fixes: `HOLYSHEEP_BASE_URL` or `providers.x.baseUrl in relay.yaml`. */
  baseUrlSource: string;
  /** True when the base URL is the built-in default (its host name is surely right). */
  defaultBaseUrl: boolean;
  keys: UpstreamKey[];
  /** The upstream model names routes send to this provider, with where each is configured. */
  routedModels: Map<string, string>;
}

/** The upstreams that exist as soon as their key is in the environment (see load-config.ts). */
export const builtInProviderNames = ['holysheep', 'openai', 'deepseek', 'anthropic', 'gemini'] as const;

/** The variable the built-in upstreams read their key from: `HOLYSHEEP_API_KEY` for `holysheep`. */
export function environmentKeyVariable(providerName: string): string | undefined {
  return (builtInProviderNames as readonly string[]).includes(providerName) ? `${providerName.toUpperCase()}_API_KEY` : undefined;
}

/**
 * The upstreams to check: every configured provider but the built-in mock (it runs in-process).
 * A deployment with its own key adds that key to its provider, once, named by where it is set.
 */
export function listUpstreamTargets(config: RelayConfig, environment: NodeJS.ProcessEnv): UpstreamTarget[] {
  const targets = new Map<string, UpstreamTarget>();
  for (const settings of config.providers.values()) {
    if (settings.type === 'mock') continue;
    const url = new URL(settings.baseUrl);
    const keyVariable = variableHolding(settings.apiKey, environment, environmentKeyVariable(settings.name));
    targets.set(settings.name, {
      settings,
      url,
      port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
      baseUrlSource: describeBaseUrl(settings, environment),
      defaultBaseUrl: settings.source === 'env' && (environment[`${settings.name.toUpperCase()}_BASE_URL`]?.trim() ?? '') === '',
      keys: [
        {
          source: settings.source === 'env' ? (keyVariable ?? `${settings.name.toUpperCase()}_API_KEY`) : describeConfigKey(`providers.${settings.name}.apiKey`, keyVariable),
          variable: keyVariable,
          value: settings.apiKey,
        },
      ],
      routedModels: new Map(),
    });
  }
  for (const route of config.routes.values()) {
    const places: Array<[string, readonly { provider: string; model: string; apiKey?: string }[]]> = route.groups.map((group, index) => [
      route.groups.length === 1 ? `models.${route.model}.targets` : `models.${route.model}.groups[${index}].targets`,
      group,
    ]);
    if (route.canary !== undefined) places.push([`models.${route.model}.canary.targets`, route.canary.targets]);
    if (route.shadow !== undefined) places.push([`models.${route.model}.shadow.targets`, route.shadow.targets]);
    for (const [where, deployments] of places) {
      deployments.forEach((deployment, index) => {
        const target = targets.get(deployment.provider);
        if (target === undefined) return;
        if (!target.routedModels.has(deployment.model)) target.routedModels.set(deployment.model, `${where}[${index}]`);
        if (deployment.apiKey !== undefined && !target.keys.some((key) => key.value === deployment.apiKey)) {
          const keyVariable = variableHolding(deployment.apiKey, environment, undefined);
          target.keys.push({ source: describeConfigKey(`${where}[${index}].apiKey`, keyVariable), variable: keyVariable, value: deployment.apiKey });
        }
      });
    }
  }
  return [...targets.values()];
}

/**
 * The environment variable a key came from (relay.yaml writes `${VAR}`), found by comparing values
 * in memory; only the name is ever reported.
 */
function variableHolding(value: string | undefined, environment: NodeJS.ProcessEnv, preferred: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (preferred !== undefined && environment[preferred]?.trim() === value) return preferred;
  return Object.keys(environment)
    .sort()
    .find((name) => environment[name] === value || environment[name]?.trim() === value);
}

function describeConfigKey(path: string, variable: string | undefined): string {
  return variable === undefined ? `${path} in relay.yaml` : `${variable} (${path} in relay.yaml)`;
}

function describeBaseUrl(settings: ProviderSettings, environment: NodeJS.ProcessEnv): string {
  if (settings.source !== 'env') return `providers.${settings.name}.baseUrl in relay.yaml`;
  const variable = `${settings.name.toUpperCase()}_BASE_URL`;
  return (environment[variable]?.trim() ?? '') === '' ? `the default base URL (${variable} is not set)` : variable;
}
