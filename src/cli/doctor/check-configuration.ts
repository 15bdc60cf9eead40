import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '../../config/config-error.js';
import { loadConfig } from '../../config/load-config.js';
import type { RelayConfig } from '../../config/relay-config.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import { builtInProviderNames } from './upstream-target.js';
import { errorMessage } from './with-timeout.js';

/** The configuration check's results, and the configuration itself when it loaded. */
export interface ConfigurationCheck {
  results: CheckResult[];
  config: RelayConfig | undefined;
}

const builtInKeyVariables = builtInProviderNames.map((name) => `${name.toUpperCase()}_API_KEY`);

/** Values people leave in by mistake: the templates' `YOUR_…_API_KEY`, `CHANGE_ME…`, `<key>`, the README's `hs-...`. */
const placeholder = /^(your[_-]|change[_-]?me|replace[_-]?me)|^<.*>$|^x{4,}$|(\.\.\.|…)$/i;

/**
 * Loads the configuration as `serve` does, and reports what it found: the file, which upstream keys
 * are set (names only, never values), and the master key. A configuration that does not load is
 * reported problem by problem, and the other checks, which need it, are skipped.
 */
export function checkConfiguration(environment: NodeJS.ProcessEnv, cwd: string): ConfigurationCheck {
  let config: RelayConfig;
  try {
    config = loadConfig({ environment, cwd });
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [errorMessage(error)];
    const file = resolve(cwd, environment.RELAY_CONFIG?.trim() || 'relay.yaml');
    const fix = `correct it in ${existsSync(file) ? display(file, cwd) : 'the environment'}; \`relay check-config\` checks again. Until then \`relay serve\` refuses to start (exit code 2).`;
    return {
      config: undefined,
      results: [
        ...problems.map((problem) => checkResult('configuration', 'fail', problem, fix)),
        checkResult('other checks', 'warn', 'skipped: upstreams, model names and storage are checked once the configuration loads'),
      ],
    };
  }

  const results: CheckResult[] = [
    checkResult(
      'configuration',
      'pass',
      config.configFile === undefined
        ? 'no config file (RELAY_CONFIG unset, no relay.yaml here): environment only'
        : `loaded ${display(config.configFile, cwd)}`,
    ),
  ];
  results.push(describeProviderKeys(config, environment));
  results.push(...suspiciousKeys(config, environment));
  results.push(describeMasterKey(config, environment, cwd));
  return { config, results };
}

function describeProviderKeys(config: RelayConfig, environment: NodeJS.ProcessEnv): CheckResult {
  const set = builtInKeyVariables.filter((name) => (environment[name]?.trim() ?? '') !== '');
  const unset = builtInKeyVariables.filter((name) => !set.includes(name));
  const fromFile = [...config.providers.values()]
    .filter((provider) => provider.source === 'config')
    .map((provider) => `${provider.name} (${provider.type}, ${provider.apiKey === undefined ? 'no key' : 'key set'})`);
  const parts = [`set: ${set.length === 0 ? 'none' : set.join(', ')}`, `not set: ${unset.length === 0 ? 'none' : unset.join(', ')}`];
  if (fromFile.length > 0) parts.push(`relay.yaml providers: ${fromFile.join(', ')}`);
  if (config.mockOnly) {
    return checkResult(
      'upstream keys',
      'warn',
      `${parts.join('; ')}. No upstream is configured: only the built-in mock models (mock-*) are served, and no upstream is checked`,
      'set HOLYSHEEP_API_KEY (it serves every model family), or OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, DEEPSEEK_API_KEY, or add providers to relay.yaml.',
    );
  }
  return checkResult('upstream keys', 'pass', parts.join('; '));
}

/** Upstream keys that are set but cannot be right: a template's placeholder, quotes or spaces pasted with the value. */
function suspiciousKeys(config: RelayConfig, environment: NodeJS.ProcessEnv): CheckResult[] {
  const candidates = new Map<string, string>();
  for (const name of builtInKeyVariables) {
    const value = environment[name]?.trim();
    if (value !== undefined && value !== '') candidates.set(name, value);
  }
  for (const provider of config.providers.values()) {
    if (provider.source === 'config' && provider.apiKey !== undefined) candidates.set(`providers.${provider.name}.apiKey`, provider.apiKey);
  }
  return [...candidates].flatMap(([where, value]) => {
    const problem = keyProblem(value);
    return problem === undefined ? [] : [checkResult('upstream keys', 'fail', `${where} ${problem}`, keyFix(where))];
  });
}

/** What is visibly wrong with a key's value, described without showing it. */
function keyProblem(value: string): string | undefined {
  if (placeholder.test(value)) return 'holds a placeholder from a template or example, not a key';
  if (/^["']|["']$/.test(value)) return 'starts or ends with a quote: the quotes became part of the value';
  if (/\s/.test(value)) return 'contains spaces or line breaks';
  return undefined;
}

function keyFix(where: string): string {
  return [
    `set ${where} to the real key, nothing around it. In Kubernetes (namespace and Secret of deploy/kubernetes):`,
    `  kubectl -n relay patch secret relay-secrets --type merge -p '{"stringData":{"${where.includes('.') ? 'VARIABLE' : where}":"THE_REAL_KEY"}}'`,
    '  kubectl -n relay rollout restart deployment/relay',
  ].join('\n');
}

function describeMasterKey(config: RelayConfig, environment: NodeJS.ProcessEnv, cwd: string): CheckResult {
  if (config.masterKeySha256 !== undefined) {
    const problem = keyProblem(environment.RELAY_MASTER_KEY?.trim() ?? '');
    return problem === undefined
      ? checkResult('master key', 'pass', 'RELAY_MASTER_KEY is set')
      : checkResult('master key', 'fail', `RELAY_MASTER_KEY ${problem}`, keyFix('RELAY_MASTER_KEY').replace('THE_REAL_KEY', 'OUTPUT_OF_openssl_rand_hex_24'));
  }
  const fix = 'set RELAY_MASTER_KEY to 16+ random characters (openssl rand -hex 24); in Kubernetes, put it in the Secret next to the upstream keys.';
  if (config.clientKeys.length > 0) {
    return checkResult(
      'master key',
      'warn',
      `RELAY_MASTER_KEY is not set: the ${config.clientKeys.length} client key(s) of relay.yaml work, but the admin API and the CLI's keys/accounts/usage commands need it`,
      fix,
    );
  }
  const file = join(config.dataDir, 'master.key');
  const state = existsSync(file) ? 'it exists' : 'created on first start';
  return checkResult(
    'master key',
    'warn',
    `RELAY_MASTER_KEY is not set and relay.yaml has no keys: serve uses a generated master key in ${display(file, cwd)} (${state}; every replica generates its own)`,
    fix,
  );
}

/** A path relative to the working directory when it is inside it, the full path otherwise. */
export function display(path: string, cwd: string): string {
  const relativePath = relative(cwd, path);
  if (relativePath === '') return '.';
  return relativePath.startsWith('..') ? path : relativePath;
}
