import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { FormatRegistry } from '@sinclair/typebox';
import { Value, ValuePointer } from '@sinclair/typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';
import { ConfigSchema, type RelayFileConfig, type RouteFileConfig } from './config-schema.js';
import { interpolateEnv, type InterpolatedPaths } from './interpolate-env.js';
import { defaultAliases, type Vendor } from './model-catalog.js';
import { EnvironmentReader } from './read-environment.js';
import type { ClientKeySettings, ProviderSettings, RelayConfig, Route, RouteTarget } from './relay-config.js';

if (!FormatRegistry.Has('uri')) {
  FormatRegistry.Set('uri', (value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  });
}

export interface LoadConfigOptions {
  environment?: NodeJS.ProcessEnv;
  cwd?: string;
}

const allVendors: readonly Vendor[] = ['openai', 'anthropic', 'google', 'deepseek'];

/** The OpenAI-compatible upstreams that exist as soon as their key is in the environment (the seed's names). */
const environmentProviders = [
  // `responsesVar` says whether the upstream serves the Responses API; OpenAI does.
  { name: 'holysheep', keyVar: 'HOLYSHEEP_API_KEY', urlVar: 'HOLYSHEEP_BASE_URL', responsesVar: 'HOLYSHEEP_RESPONSES_API', baseUrl: 'https://api.holysheep.ai/v1', vendors: allVendors },
  { name: 'openai', keyVar: 'OPENAI_API_KEY', urlVar: 'OPENAI_BASE_URL', responsesVar: 'OPENAI_RESPONSES_API', responsesApi: true, baseUrl: 'https://api.openai.com/v1', vendors: ['openai'] as const },
  { name: 'deepseek', keyVar: 'DEEPSEEK_API_KEY', urlVar: 'DEEPSEEK_BASE_URL', responsesVar: 'DEEPSEEK_RESPONSES_API', baseUrl: 'https://api.deepseek.com/v1', vendors: ['deepseek'] as const },
  // Anthropic and Gemini take the origin, as their SDKs do; the adapters append the API paths.
  { name: 'anthropic', type: 'anthropic', keyVar: 'ANTHROPIC_API_KEY', urlVar: 'ANTHROPIC_BASE_URL', baseUrl: 'https://api.anthropic.com', vendors: ['anthropic'] as const },
  { name: 'gemini', type: 'gemini', keyVar: 'GEMINI_API_KEY', urlVar: 'GEMINI_BASE_URL', baseUrl: 'https://generativelanguage.googleapis.com', vendors: ['google'] as const },
] as const;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Builds the relay's configuration from the environment and the optional config file
 * (`RELAY_CONFIG`, else `./relay.yaml` when present). Throws a {@link ConfigError} listing every
 * problem, each with its path, the bad value and the fix.
 */
export function loadConfig(options: LoadConfigOptions = {}): RelayConfig {
  const environment = options.environment ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const env = new EnvironmentReader(environment);
  const problems = env.problems;

  const { file, configFile } = readConfigFile(env.string('RELAY_CONFIG'), cwd, environment, problems);

  const providers = new Map<string, ProviderSettings>();
  for (const spec of environmentProviders) {
    const apiKey = env.string(spec.keyVar);
    const baseUrl = env.url(spec.urlVar);
    if (apiKey === undefined) continue;
    providers.set(spec.name, {
      name: spec.name,
      type: 'type' in spec ? spec.type : 'openai',
      baseUrl: baseUrl ?? spec.baseUrl,
      apiKey,
      headers: {},
      vendors: spec.vendors,
      models: [],
      streamUsage: true,
      responsesApi: ('responsesVar' in spec ? env.boolean(spec.responsesVar) : undefined) ?? ('responsesApi' in spec && spec.responsesApi),
      source: 'env',
    });
  }
  for (const [name, entry] of Object.entries(file.providers ?? {})) {
    const inherited = providers.get(name);
    providers.set(name, {
      name,
      type: entry.type,
      baseUrl: entry.baseUrl.replace(/\/+$/, ''),
      apiKey: entry.apiKey ?? inherited?.apiKey,
      headers: entry.headers ?? {},
      vendors: inherited?.vendors ?? environmentProviders.find((spec) => spec.name === name)?.vendors ?? [],
      models: entry.models ?? [],
      streamUsage: entry.streamUsage ?? true,
      responsesApi: entry.type === 'openai' && (entry.responsesApi ?? inherited?.responsesApi ?? false),
      source: 'config',
    });
  }

  for (const provider of providers.values()) {
    const where = provider.source === 'env' ? environmentProviders.find((spec) => spec.name === provider.name)?.urlVar : `${configFile}: providers.${provider.name}.baseUrl`;
    const problem = credentialsInUrl(provider.baseUrl, where ?? provider.name);
    if (problem !== undefined) problems.push(problem);
  }

  const mockOnly = providers.size === 0;
  if (mockOnly) {
    providers.set('mock', {
      name: 'mock',
      type: 'mock',
      baseUrl: 'mock://local',
      apiKey: undefined,
      headers: {},
      vendors: [],
      models: ['mock-*'],
      streamUsage: true,
      responsesApi: false,
      source: 'builtin',
    });
  }

  const routes = new Map<string, Route>();
  const toTargets = (targets: RouteFileConfig['targets'] & object, where: string) =>
    targets.map((target, index) => {
      if (!providers.has(target.provider)) {
        problems.push(
          `${configFile}: ${where}[${index}].provider: no provider named ${JSON.stringify(target.provider)}. ` +
            `Defined: ${[...providers.keys()].join(', ')}. Add it under "providers" or set its API key in the environment.`,
        );
      }
      return {
        provider: target.provider,
        model: target.model ?? '',
        weight: target.weight ?? 1,
        ...(target.apiKey === undefined ? {} : { apiKey: target.apiKey }),
        ...(target.maxOutputTokens === undefined ? {} : { maxOutputTokens: target.maxOutputTokens }),
        ...(target.body === undefined || Object.keys(target.body).length === 0 ? {} : { body: target.body }),
      };
    });
  for (const [model, route] of Object.entries(file.models ?? {})) {
    if ((route.targets === undefined) === (route.groups === undefined)) {
      problems.push(`${configFile}: models.${model}: give exactly one of "targets" (one group) or "groups" (ordered groups of targets).`);
      continue;
    }
    const withModel = (targets: RouteTarget[]) => targets.map((target) => ({ ...target, model: target.model || model }));
    const groups = route.targets !== undefined
      ? [withModel(toTargets(route.targets, `models.${model}.targets`))]
      : (route.groups ?? []).map((group, index) => withModel(toTargets(group.targets, `models.${model}.groups[${index}].targets`)));
    const canary = route.canary;
    routes.set(model, {
      model,
      groups,
      strategy: route.strategy ?? 'weighted',
      timeoutMs: route.timeoutMs,
      canary:
        canary === undefined
          ? undefined
          : {
              targets: withModel(toTargets(canary.targets, `models.${model}.canary.targets`)),
              initialWeight: canary.initialWeight ?? 5,
              stepWeight: canary.stepWeight ?? 10,
              maxWeight: canary.maxWeight ?? 50,
              intervalMs: canary.intervalMs ?? 60_000,
              threshold: canary.threshold ?? 5,
              minSuccessRate: canary.minSuccessRate ?? 99,
              maxLatencyP99Ms: canary.maxLatencyP99Ms ?? 1000,
              minRequests: canary.minRequests ?? 10,
            },
      shadow: route.shadow === undefined ? undefined : { targets: withModel(toTargets(route.shadow.targets, `models.${model}.shadow.targets`)), percent: route.shadow.percent },
    });
  }

  const aliases = new Map<string, string>(Object.entries({ ...defaultAliases, ...(file.aliases ?? {}) }));
  for (const [alias] of aliases) {
    const seen = new Set<string>([alias]);
    let current = aliases.get(alias);
    while (current !== undefined && aliases.has(current)) {
      if (seen.has(current)) {
        problems.push(`${configFile ?? 'aliases'}: aliases.${alias}: the alias chain ${[...seen, current].join(' → ')} loops. Point one of them at a served model.`);
        break;
      }
      seen.add(current);
      current = aliases.get(current);
    }
  }

  const clientKeys: ClientKeySettings[] = [];
  (file.keys ?? []).forEach((entry, index) => {
    if ((entry.key === undefined) === (entry.sha256 === undefined)) {
      problems.push(`${configFile}: keys[${index}] (${entry.name}): give exactly one of "key" (usually \${VAR}) or "sha256".`);
      return;
    }
    clientKeys.push({ name: entry.name, sha256: entry.sha256 ?? sha256Hex(entry.key ?? ''), models: entry.models });
  });

  const masterKey = env.string('RELAY_MASTER_KEY');
  if (masterKey !== undefined && masterKey.length < 16) {
    problems.push('RELAY_MASTER_KEY: too short to be safe. Use at least 16 random characters, e.g. `openssl rand -hex 24`.');
  }

  const maxRetries = env.integer('MAX_RETRIES', { min: 0, max: 10 }) ?? file.upstream?.maxRetries ?? 3;
  const timeoutMs = env.integer('TIMEOUT_MS', { min: 100, max: 3_600_000 }) ?? file.upstream?.timeoutMs ?? 30_000;
  const upstreamProxy = readUpstreamProxy(env);
  const config: RelayConfig = {
    port: env.integer('PORT', { min: 0, max: 65535 }) ?? file.server?.port ?? 8080,
    host: env.string('HOST') ?? file.server?.host ?? '0.0.0.0',
    bodyLimitBytes: file.server?.bodyLimitBytes ?? 50 * 1024 * 1024,
    // Node's own default: a client uploading the largest body (50 MB) gets 5 minutes, about 170 KB/s.
    requestTimeoutMs: env.integer('REQUEST_TIMEOUT_MS', { min: 0, max: 3_600_000 }) ?? file.server?.requestTimeoutMs ?? 300_000,
    maxRetries,
    timeoutMs,
    deadlineMs: file.upstream?.deadlineMs ?? timeoutMs * (maxRetries + 1),
    connectionPoolSize: env.integer('CONNECTION_POOL_SIZE', { min: 1, max: 10_000 }) ?? file.upstream?.connectionPoolSize ?? 100,
    upstreamProxy,
    strictParameters: file.server?.strictParameters ?? false,
    keepResponseItems: file.server?.keepResponseItems ?? true,
    corsOrigins: readCorsOrigins(env, file.server?.corsOrigins),
    trustProxy: readTrustProxy(env, file.server?.trustProxy),
    logLevel: env.string('LOG_LEVEL') ?? 'info',
    masterKeySha256: masterKey === undefined ? undefined : sha256Hex(masterKey),
    generatedMasterKeyFile: undefined,
    dataDir: resolve(cwd, env.string('RELAY_DATA_DIR') ?? 'data'),
    providers,
    routes,
    aliases,
    fallbacks: new Map(Object.entries(file.fallbacks ?? {})),
    contextFallbacks: new Map(Object.entries(file.contextFallbacks ?? {})),
    contentFilterFallbacks: new Map(Object.entries(file.contentFilterFallbacks ?? {})),
    clientKeys,
    billing: {
      prices: file.billing?.prices ?? {},
      exchangeRates: file.billing?.exchangeRates ?? {},
      signupCredit: file.billing?.signupCredit,
      defaultMaxTokens: file.billing?.defaultMaxTokens ?? 4096,
    },
    limits: { onBackendFailure: file.limits?.onBackendFailure ?? 'fail-closed', replicas: file.limits?.replicas ?? 1 },
    ledgerFlushIntervalMs: file.ledger?.flushIntervalMs ?? 1000,
    databaseUrl: env.string('DATABASE_URL'),
    databaseQueryTimeoutMs: file.database?.queryTimeoutMs ?? 5_000,
    redisUrl: env.string('REDIS_URL'),
    metricsPort: env.integer('METRICS_PORT', { min: 0, max: 65535 }),
    metricsToken: env.string('METRICS_TOKEN'),
    mockOnly,
    configFile,
  };
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(config.logLevel)) problems.push(`LOG_LEVEL=${JSON.stringify(config.logLevel)}: expected one of ${levels.join(', ')}.`);

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * A user name or password in an upstream's URL is never sent (requests go to the URL's origin and
 * path), and the URL is printed at start and by `relay check-config`: refused, without echoing it.
 */
function credentialsInUrl(url: string, where: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username === '' && parsed.password === '') return undefined;
  return (
    `${where}: the URL carries a user name or password (${parsed.origin}…), which the relay would not send upstream and would print in its logs. ` +
    'Remove it from the URL, and give the credential as the provider\'s apiKey or in its headers (for example authorization: "Basic ${UPSTREAM_BASIC_AUTH}").'
  );
}

/** JSON pointers of the file's fields that hold credentials: keys, and the values of providers' headers. */
const secretPath = /\/(apiKey|key)$|^\/providers\/[^/]+\/headers\/[^/]+$/;

function readConfigFile(
  explicitPath: string | undefined,
  cwd: string,
  environment: NodeJS.ProcessEnv,
  problems: string[],
): { file: RelayFileConfig; configFile: string | undefined } {
  const path = resolve(cwd, explicitPath ?? 'relay.yaml');
  if (!existsSync(path)) {
    if (explicitPath !== undefined) problems.push(`RELAY_CONFIG=${JSON.stringify(explicitPath)}: no such file (looked at ${path}).`);
    return { file: {}, configFile: undefined };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // A bind mount of a file missing on the host (`-v ./relay.yaml:/app/relay.yaml`) makes a directory.
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'EISDIR'
        ? 'it is a directory. Point RELAY_CONFIG at the file, or mount the file itself.'
        : code === 'EACCES'
          ? "permission denied: make it readable by the relay's user."
          : `${(error as Error).message}.`;
    problems.push(`${explicitPath === undefined ? '' : `RELAY_CONFIG=${JSON.stringify(explicitPath)}: `}${path}: cannot be read as the config file: ${reason}`);
    return { file: {}, configFile: path };
  }
  // The parser's pretty errors quote the lines around the error, and a line of relay.yaml may hold a
  // credential (an apiKey, a header's value) whatever its key is called: a problem gives the line and
  // column, never the text, both at start (stderr) and in a refused reload's log line.
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, lineCounter });
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      problems.push(`${path}: line ${line}, column ${col}: ${error.message.replace(/\.?$/, '.')}`);
    }
    return { file: {}, configFile: path };
  }
  const raw = document.toJS() ?? {};
  const paths: InterpolatedPaths = { interpolated: new Set(), unset: new Set() };
  const interpolationProblems: string[] = [];
  const interpolated = interpolateEnv(raw, environment, interpolationProblems, '', paths);
  for (const problem of interpolationProblems) problems.push(`${path}: ${problem}`);
  typeInterpolatedValues(interpolated, paths.interpolated);
  // A field whose variable is unset is reported once, as such, not again as an empty value of the wrong type.
  const schemaProblems = [...Value.Errors(ConfigSchema, interpolated)].filter((error) => !paths.unset.has(fileFieldPath(error.path))).slice(0, 10);
  for (const error of schemaProblems) {
    const where = fileFieldPath(error.path) || '(root)';
    const hint = typeof error.schema.description === 'string' ? ` ${error.schema.description}` : '';
    // A key or a header value is a credential: the problem says what kind of value it is, not the value.
    const value = error.value === undefined ? 'nothing' : secretPath.test(error.path) ? `a ${error.value === null ? 'null' : typeof error.value} (not shown)` : JSON.stringify(error.value);
    problems.push(`${path}: ${where}: ${error.message}, got ${value}.${hint}`);
  }
  if (schemaProblems.length > 0) return { file: {}, configFile: path };
  return { file: interpolated as RelayFileConfig, configFile: path };
}

/** A JSON pointer into the file as its fields are named in problems (`models.org/model.targets[0]`: a pointer writes `/` as `~1`). */
function fileFieldPath(pointer: string): string {
  return pointer
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((name, segment) => (/^\d+$/.test(segment) ? `${name}[${segment}]` : name === '' ? segment : `${name}.${segment}`), '');
}

/**
 * A value that YAML read as text only because it was a `${VAR}` (`port: ${RELAY_PORT}`) takes the
 * type its field wants: a number, or a boolean (`true`, `false`, `1`, `0`, `yes`, `no`). A number
 * written in the file where text is wanted stays refused: `apiKey: 0123` would lose its zero.
 */
function typeInterpolatedValues(file: unknown, interpolated: ReadonlySet<string>): void {
  if (interpolated.size === 0) return;
  for (const error of [...Value.Errors(ConfigSchema, file)]) {
    if (typeof error.value !== 'string' || !interpolated.has(fileFieldPath(error.path))) continue;
    const text = error.value.trim();
    const type: unknown = error.schema.type;
    let typed: number | boolean | undefined;
    if ((type === 'integer' || type === 'number') && text !== '' && Number.isFinite(Number(text))) typed = Number(text);
    if (type === 'boolean' && /^(true|1|yes)$/i.test(text)) typed = true;
    if (type === 'boolean' && /^(false|0|no)$/i.test(text)) typed = false;
    if (typed !== undefined) ValuePointer.Set(file, error.path, typed);
  }
}

/**
 * `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (each also lower-case, which wins): the proxy for
 * upstream calls by the upstream's scheme (an https upstream without `HTTPS_PROXY` uses
 * `HTTP_PROXY`), and the hosts reached directly. Undefined when no proxy is set.
 */
function readUpstreamProxy(env: EnvironmentReader): RelayConfig['upstreamProxy'] {
  const proxyUrl = (name: string): string | undefined => {
    const variable = env.string(name.toLowerCase()) !== undefined ? name.toLowerCase() : name;
    const raw = env.string(variable);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '') {
        try {
          decodeURIComponent(parsed.username);
          decodeURIComponent(parsed.password);
          return raw;
        } catch {
          env.problems.push(`${variable}: the proxy's user or password is not valid percent-encoding: write a % in it as %25.`);
          return undefined;
        }
      }
    } catch {
      // reported below
    }
    // The value is not repeated: a proxy URL may carry a password.
    env.problems.push(`${variable}: expected a proxy URL such as http://proxy.internal:3128 (or http://user:password@proxy.internal:3128).`);
    return undefined;
  };
  const http = proxyUrl('HTTP_PROXY');
  const https = proxyUrl('HTTPS_PROXY') ?? http;
  if (http === undefined && https === undefined) return undefined;
  return { http, https, noProxy: env.string('no_proxy') ?? env.string('NO_PROXY') };
}

/** The names proxy-addr gives to ranges: the loopback, link-local and private (unique local) addresses. */
const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** A list setting: the variable's comma-separated entries (blank ones skipped) when it is set, else the file's list; and which of the two it came from. */
function listSetting(env: EnvironmentReader, variable: string, field: string, fromFile: string[] | undefined): { source: string; entries: string[] } {
  const fromEnvironment = env.string(variable);
  if (fromEnvironment === undefined) return { source: field, entries: fromFile ?? [] };
  return { source: variable, entries: fromEnvironment.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '') };
}

/**
 * `TRUST_PROXY` (comma-separated) or `server.trustProxy`: the proxies in front of the relay, each an
 * address, a CIDR range (`10.0.0.0/8`, `fd00::/8`) or a range's name (`loopback`, `linklocal`,
 * `uniquelocal`). Trusting every address would let any client name itself in `X-Forwarded-For`, so
 * there is no `true`.
 */
function readTrustProxy(env: EnvironmentReader, fromFile: string[] | undefined): string[] {
  const { source, entries } = listSetting(env, 'TRUST_PROXY', 'server.trustProxy', fromFile);
  for (const entry of entries) {
    if (proxyRangeNames.has(entry)) continue;
    const [address = '', prefix, extra] = entry.split('/');
    const version = isIP(address);
    const bits = version === 4 ? 32 : 128;
    const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (version === 0 || !validPrefix || extra !== undefined) {
      env.problems.push(`${source}: ${JSON.stringify(entry)} is not a proxy address: give each proxy's IP address or CIDR range (10.0.0.0/8), or loopback, linklocal or uniquelocal.`);
    }
  }
  return entries;
}

/**
 * `CORS_ORIGINS` (comma-separated) or `server.corsOrigins`: each an origin as browsers send it
 * (`https://app.example.com`, `http://localhost:3000`: no path, no trailing slash), or `*`.
 */
function readCorsOrigins(env: EnvironmentReader, fromFile: string[] | undefined): string[] {
  const { source, entries: origins } = listSetting(env, 'CORS_ORIGINS', 'server.corsOrigins', fromFile);
  for (const origin of origins) {
    if (origin === '*') continue;
    let valid = false;
    try {
      const parsed = new URL(origin);
      valid = (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === origin;
    } catch {
      // reported below
    }
    if (!valid) env.problems.push(`${source}: ${JSON.stringify(origin)} is not an origin: write it as a browser sends it, scheme://host[:port] without a path or a trailing slash (e.g. https://app.example.com), or "*".`);
  }
  return origins;
}
