import { Type, type Static } from '@sinclair/typebox';

/**
 * The schema of `relay.yaml`. It is the single source of truth: the loader validates against it, and
 * `relay schema` prints it as JSON Schema (committed as `schema/relay.schema.json`) so editors can
 * autocomplete the file. Every `description` is shown to users in editors and in config errors.
 */

const Glob = Type.String({ minLength: 1, description: 'A model name or a glob such as "gpt-*".' });

export const ProviderSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('openai'), Type.Literal('anthropic'), Type.Literal('gemini')], {
      description:
        'Wire format of the upstream: "openai" for every OpenAI-compatible server (OpenAI, HolySheep, DeepSeek, vLLM, …), "anthropic" for the Messages API, "gemini" for the Gemini API.',
    }),
    baseUrl: Type.String({
      format: 'uri',
      description:
        'Upstream base URL. OpenAI-compatible upstreams include /v1 (https://api.openai.com/v1); Anthropic and Gemini take the origin (https://api.anthropic.com).',
    }),
    apiKey: Type.Optional(Type.String({ description: 'Upstream API key. Use ${VAR} to read it from the environment.' })),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Extra headers sent with every upstream request.' }),
    ),
    models: Type.Optional(
      Type.Array(Glob, { description: 'Models this provider serves when no route names them, as names or globs.' }),
    ),
    streamUsage: Type.Optional(
      Type.Boolean({
        description:
          'OpenAI-compatible only: ask for usage in streams with stream_options.include_usage (default true). Set false for a server that rejects stream_options; its streams are then counted with the tokenizer.',
      }),
    ),
    responsesApi: Type.Optional(
      Type.Boolean({
        description:
          'OpenAI-compatible only: the upstream serves the Responses API, so /v1/responses requests go to it as they are instead of being translated to chat (default true for the built-in openai provider, else false).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const TargetSchema = Type.Object(
  {
    provider: Type.String({ minLength: 1, description: 'Name of a provider (built in or under "providers").' }),
    model: Type.Optional(Type.String({ minLength: 1, description: 'Model name sent upstream; defaults to the route name.' })),
    weight: Type.Optional(Type.Number({ minimum: 0, description: 'Share of traffic among the targets of its group (default 1).' })),
    apiKey: Type.Optional(
      Type.String({ description: "This deployment's own upstream key (usually ${VAR}): several keys of one provider are several deployments, so one key's rate limit does not stop traffic." }),
    ),
    maxOutputTokens: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'The most output tokens this upstream model can produce (default: the built-in limit of the upstream model name, when known). A /v1/messages or /v1/responses request translated for this target that asks for more is sent with this value, and reserves no more.',
      }),
    ),
    body: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Unknown(), {
        description:
          'Top-level fields added to the JSON body this target receives where the request has none of that name (OpenAI-compatible upstreams: chat, completions, embeddings, responses), e.g. DeepSeek\'s thinking: { type: disabled }. A field the client sent is kept as it came.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Targets = Type.Array(TargetSchema, { minItems: 1, description: 'Deployments of one group; traffic is spread among them by the route strategy.' });

export const CanarySchema = Type.Object(
  {
    targets: Targets,
    initialWeight: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Percent of traffic the candidate gets first (default 5, as the seed).' })),
    stepWeight: Type.Optional(Type.Number({ minimum: 1, maximum: 100, description: 'Percent added after each healthy check (default 10).' })),
    maxWeight: Type.Optional(Type.Number({ minimum: 1, maximum: 100, description: 'Weight after which a healthy check promotes the candidate to all traffic (default 50).' })),
    intervalMs: Type.Optional(Type.Integer({ minimum: 100, description: 'Time between two checks (default 60000).' })),
    threshold: Type.Optional(Type.Integer({ minimum: 1, description: 'Failed checks before an automatic rollback (default 5).' })),
    minSuccessRate: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Lowest healthy success rate of the candidate, percent (default 99).' })),
    maxLatencyP99Ms: Type.Optional(Type.Number({ minimum: 1, description: 'Highest healthy p99 latency of the candidate, ms (default 1000).' })),
    minRequests: Type.Optional(Type.Integer({ minimum: 1, description: 'Candidate requests a check needs to judge; fewer and the check neither passes nor fails (default 10).' })),
  },
  { additionalProperties: false, description: 'Canary migration: move traffic from the route targets to these, step by step, while they stay healthy.' },
);

export const RouteSchema = Type.Object(
  {
    targets: Type.Optional(Targets),
    groups: Type.Optional(
      Type.Array(Type.Object({ targets: Targets }, { additionalProperties: false }), {
        minItems: 1,
        description: 'Ordered target groups: the next group is used when every deployment of the previous one is unhealthy or failed. Use instead of "targets".',
      }),
    ),
    strategy: Type.Optional(
      Type.Union([Type.Literal('weighted'), Type.Literal('least-inflight'), Type.Literal('latency'), Type.Literal('cost')], {
        description: 'How a deployment is picked within a group: weighted random (default), fewest requests in flight, lowest time to first byte, or cheapest by the price table.',
      }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 3_600_000,
        description:
          "Per-attempt timeout of this model's attempts, in ms: to the upstream's response headers and between two body chunks (default upstream.timeoutMs / TIMEOUT_MS). Raise it for reasoning models, which can think for minutes before their first byte; a request for this model may then take timeoutMs × (maxRetries + 1) before its first byte, unless upstream.deadlineMs is larger.",
      }),
    ),
    canary: Type.Optional(CanarySchema),
    shadow: Type.Optional(
      Type.Object(
        {
          targets: Targets,
          percent: Type.Number({ minimum: 0, maximum: 100, description: 'Percent of requests mirrored to the shadow targets.' }),
        },
        { additionalProperties: false, description: 'Mirror a share of requests to other targets without affecting clients; their status and latency are recorded beside the primary.' },
      ),
    ),
  },
  { additionalProperties: false },
);

const FallbackTable = (description: string) => Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }), { description });

export const ClientKeySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'A name for logs and reports; never the secret.' }),
    key: Type.Optional(Type.String({ minLength: 16, description: 'The key itself, usually as ${VAR}. Kept in memory only as a hash.' })),
    sha256: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 of the key, so the file holds no secret: `printf %s "$KEY" | sha256sum`.' }),
    ),
    models: Type.Optional(Type.Array(Glob, { description: 'Models this key may use (names or globs); all when absent.' })),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    server: Type.Optional(
      Type.Object(
        {
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Port to listen on (env PORT wins; default 8080).' })),
          host: Type.Optional(Type.String({ description: 'Address to bind (env HOST wins; default 0.0.0.0 so a Kubernetes Service can reach the pod).' })),
          bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1024, description: 'Largest accepted request body (default 52428800, 50 MB).' })),
          requestTimeoutMs: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 3_600_000,
              description:
                'Time a client has to send a whole request, headers and body, in ms (default 300000, 5 minutes); one that stalls past it is answered 408 and its connection closed. The answer, a stream included, may last longer. 0: no limit. Env REQUEST_TIMEOUT_MS wins. Read at start.',
            }),
          ),
          strictParameters: Type.Optional(
            Type.Boolean({
              description:
                'Refuse with 400 a request parameter the chosen upstream cannot honour, instead of dropping it and listing it in x-relay-dropped-params (per request: header x-relay-strict: 1).',
            }),
          ),
          keepResponseItems: Type.Optional(
            Type.Boolean({
              description:
                'Keep the items of translated /v1/responses answers (model output: text and tool calls) for an hour, in memory and the database, so that clients may name them by item_reference (default true). false: the relay keeps no model output; clients send whole items (store: false).',
            }),
          ),
          trustProxy: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description:
                'Addresses or CIDR ranges (10.0.0.0/8; or loopback, linklocal, uniquelocal) of the reverse proxies in front of the relay, whose X-Forwarded-For names the client: the address failed sign-ins are counted by. Env TRUST_PROXY (comma-separated) wins. Default: none, the connection\'s own address counts. Read at start.',
            }),
          ),
          corsOrigins: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description:
                'Web origins (scheme://host[:port], e.g. https://app.example.com) whose pages may call the /v1 API from a browser (CORS); "*" allows every origin. Env CORS_ORIGINS (comma-separated) wins. Default: none. Read at start.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    upstream: Type.Optional(
      Type.Object(
        {
          maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'Retries per request (env MAX_RETRIES wins; default 3).' })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 100, description: 'Per-attempt timeout in ms (env TIMEOUT_MS wins; default 30000).' })),
          connectionPoolSize: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Keep-alive connections per upstream origin; more are opened while all are busy, and closed soon after (env CONNECTION_POOL_SIZE wins; default 100).' }),
          ),
          deadlineMs: Type.Optional(
            Type.Integer({ minimum: 100, description: 'Overall time a request may spend on attempts and waits before its first byte; an attempt still under way then is stopped with a 504 (default timeoutMs × (maxRetries + 1)).' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    providers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$' }), ProviderSchema, {
        description: 'Upstreams by name. "holysheep", "openai", "deepseek", "anthropic" and "gemini" exist already when their env keys are set; a same-named entry here overrides them.',
      }),
    ),
    models: Type.Optional(Type.Record(Type.String({ minLength: 1 }), RouteSchema, { description: 'Routes: which upstreams serve a model name.' })),
    aliases: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
        description: 'Model name → model it stands for. Merged over the default table (gpt-4 → gpt-4.1, …).',
      }),
    ),
    fallbacks: Type.Optional(FallbackTable('Model → models tried in order when its deployments are exhausted (e.g. gpt-4.1: [claude-sonnet-4]).')),
    contextFallbacks: Type.Optional(FallbackTable('Model → larger-context models tried when the prompt is too long for it.')),
    contentFilterFallbacks: Type.Optional(FallbackTable('Model → models tried when it refuses for content filtering.')),
    billing: Type.Optional(
      Type.Object(
        {
          prices: Type.Optional(
            Type.Record(
              Type.String({ minLength: 1 }),
              Type.Object(
                {
                  input: Type.Number({ minimum: 0, description: "The relay's price, USD per 1M input tokens." }),
                  output: Type.Number({ minimum: 0, description: "The relay's price, USD per 1M output tokens." }),
                  cached: Type.Optional(Type.Number({ minimum: 0, description: 'USD per 1M cached input tokens (default: input).' })),
                  cacheWrite: Type.Optional(
                    Type.Number({
                      minimum: 0,
                      description: "USD per 1M input tokens written to the prompt cache (Anthropic's 5-minute writes). Default: input × 1.25 for a model named claude-…, else input.",
                    }),
                  ),
                  cacheWrite1h: Type.Optional(
                    Type.Number({ minimum: 0, description: 'USD per 1M input tokens written to the prompt cache for 1 hour. Default: input × 2 for a model named claude-…, else cacheWrite.' }),
                  ),
                  officialInput: Type.Optional(Type.Number({ minimum: 0, description: "The vendor's list price, USD per 1M input tokens, for the savings report." })),
                  officialOutput: Type.Optional(Type.Number({ minimum: 0, description: "The vendor's list price, USD per 1M output tokens." })),
                  officialCached: Type.Optional(Type.Number({ minimum: 0, description: "The vendor's list price, USD per 1M cached input tokens." })),
                  officialCacheWrite: Type.Optional(Type.Number({ minimum: 0, description: "The vendor's list price, USD per 1M cache-write tokens (default: derived from officialInput as cacheWrite from input)." })),
                  officialCacheWrite1h: Type.Optional(Type.Number({ minimum: 0, description: "The vendor's list price, USD per 1M 1-hour cache-write tokens (default: derived from officialInput as cacheWrite1h)." })),
                },
                { additionalProperties: false },
              ),
              { description: 'Model (or glob) → prices, merged over the built-in table (the seed\'s models and the catalogue).' },
            ),
          ),
          exchangeRates: Type.Optional(
            Type.Object(
              { CNY: Type.Optional(Type.Number({ exclusiveMinimum: 0 })), EUR: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
              { additionalProperties: false, description: 'Units of each currency per 1 USD (defaults: CNY 1, the seed\'s ¥1 = $1; EUR 0.92).' },
            ),
          ),
          signupCredit: Type.Optional(
            Type.Object(
              { amount: Type.Number({ minimum: 0 }), currency: Type.Union([Type.Literal('USD'), Type.Literal('CNY'), Type.Literal('EUR')]) },
              { additionalProperties: false, description: 'Balance every new account starts with (default none).' },
            ),
          ),
          defaultMaxTokens: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Output tokens a request that gives no max_tokens counts in its TPM window (at most what the key\'s TPM leaves after the prompt, or what the window has left); for a metered key, also the limit sent to a model whose output limit the relay does not know (default 4096).' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          onBackendFailure: Type.Optional(
            Type.Union([Type.Literal('fail-closed'), Type.Literal('fail-open')], {
              description: 'When Redis (REDIS_URL) cannot be reached: refuse limited requests (default), or enforce each replica\'s share of every limit in memory.',
            }),
          ),
          replicas: Type.Optional(Type.Integer({ minimum: 1, description: 'Replicas sharing the limits, for fail-open shares (default 1).' })),
        },
        { additionalProperties: false },
      ),
    ),
    ledger: Type.Optional(
      Type.Object(
        { flushIntervalMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000, description: 'Time between ledger writes; at most this much is lost on a crash (default 1000).' })) },
        { additionalProperties: false },
      ),
    ),
    database: Type.Optional(
      Type.Object(
        {
          queryTimeoutMs: Type.Optional(
            Type.Integer({
              minimum: 100,
              maximum: 600_000,
              description:
                'Postgres (DATABASE_URL): the longest one of the relay\'s queries may take (key polls, ledger writes, lookups, usage reports; migrations excepted). Postgres cancels a longer statement, and a query left unanswered 1 s longer (a stalled network or server) fails and its connection is closed, so the relay treats the database as down instead of waiting for TCP to give up (default 5000). Read at start.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    keys: Type.Optional(Type.Array(ClientKeySchema, { description: 'Client keys accepted besides RELAY_MASTER_KEY.' })),
  },
  { additionalProperties: false },
);

export type RelayFileConfig = Static<typeof ConfigSchema>;
export type ProviderFileConfig = Static<typeof ProviderSchema>;
export type RouteFileConfig = Static<typeof RouteSchema>;
export type ClientKeyFileConfig = Static<typeof ClientKeySchema>;
