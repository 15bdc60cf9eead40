import { suggestModels } from '../../routing/suggest-models.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import type { UpstreamTarget } from './upstream-target.js';

/**
 * The seed's "Model not found" error seen from the upstream's side: a route that sends a name the
 * upstream does not list (an OpenAI-native name to HolySheep, `claude-sonnet-4` where Anthropic wants
 * `claude-sonnet-4-0`) fails on every request. Only names routes in relay.yaml send are checked: the
 * built-in families map to each vendor's names already. A warning, not a failure: some upstreams
 * serve models they do not list.
 */
export function checkRoutedModels(target: UpstreamTarget, listed: readonly string[]): CheckResult | undefined {
  if (target.routedModels.size === 0) return undefined;
  const name = `upstream ${target.settings.name} models`;
  const available = new Set(listed);
  const missing = [...target.routedModels].filter(([model]) => !available.has(model));
  if (missing.length === 0) {
    return checkResult(name, 'pass', `the upstream lists every model routes send it (${[...target.routedModels.keys()].join(', ')})`);
  }
  const lines = missing.map(([model, where]) => {
    const suggestions = suggestModels(model, listed);
    const hint = suggestions.length > 0 ? `; closest it lists: ${suggestions.join(', ')}` : '';
    return `${where}: "${model}"${hint}`;
  });
  return checkResult(
    name,
    'warn',
    `the upstream does not list ${missing.map(([model]) => `"${model}"`).join(', ')}: requests routed there may get "model not found"`,
    `set each route target's model to a name the upstream lists (its GET /models answer):\n${lines.map((line) => `  ${line}`).join('\n')}`,
  );
}
