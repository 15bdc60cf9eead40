/** The relay's own facts the manifests must agree with. */
export const relayEnvironment = {
  /** Every environment variable the relay (or Node) reads; the manifests may set no other. */
  knownVariables: new Set([
    'HOLYSHEEP_API_KEY', 'HOLYSHEEP_BASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL',
    'GEMINI_API_KEY', 'GEMINI_BASE_URL', 'DEEPSEEK_API_KEY', 'DEEPSEEK_BASE_URL', 'RELAY_MASTER_KEY', 'RELAY_CONFIG', 'RELAY_DATA_DIR',
    'MAX_RETRIES', 'TIMEOUT_MS', 'CONNECTION_POOL_SIZE', 'LOG_LEVEL', 'DATABASE_URL', 'REDIS_URL', 'PORT', 'HOST',
    'SHUTDOWN_DRAIN_DELAY_MS', 'SHUTDOWN_GRACE_PERIOD_MS', 'METRICS_PORT', 'METRICS_TOKEN', 'NODE_ENV', 'NODE_OPTIONS', 'TRUST_PROXY',
  ]),
  /** Variables that hold secrets: only ever in a Secret, never in a Deployment's plain env. */
  isSecretVariable: (name: string) => /(_API_KEY|MASTER_KEY|DATABASE_URL|REDIS_URL|METRICS_TOKEN)$/.test(name),
  /** The relay's defaults (src/cli/main.ts) when the variables are unset. */
  defaultDrainDelayMs: 5000,
  defaultGracePeriodMs: 25000,
};
