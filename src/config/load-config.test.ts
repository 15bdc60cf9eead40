import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { loadConfig, sha256Hex } from './load-config.js';

function withFile(yaml: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'relay-config-'));
  writeFileSync(join(directory, 'relay.yaml'), yaml);
  return directory;
}

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it("uses the seed's defaults and env names", () => {
    const config = loadConfig({ environment: { HOLYSHEEP_API_KEY: 'hs-key' }, cwd: '/nonexistent' });
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.maxRetries).toBe(3);
    expect(config.timeoutMs).toBe(30_000);
    expect(config.connectionPoolSize).toBe(100);
    expect(config.bodyLimitBytes).toBe(50 * 1024 * 1024);
    expect(config.providers.get('holysheep')).toMatchObject({ type: 'openai', baseUrl: 'https://api.holysheep.ai/v1', apiKey: 'hs-key' });
    expect(config.aliases.get('gpt-4')).toBe('gpt-4.1');
    expect(config.aliases.get('claude-3-sonnet')).toBe('claude-sonnet-4');
    expect(config.aliases.get('gemini-pro')).toBe('gemini-2.5-flash');
    expect(config.mockOnly).toBe(false);
  });

  it('reads MAX_RETRIES, TIMEOUT_MS, CONNECTION_POOL_SIZE, PORT, HOST and base URLs', () => {
    const config = loadConfig({
      environment: {
        OPENAI_API_KEY: 'sk-o',
        OPENAI_BASE_URL: 'http://localhost:9000/v1/',
        MAX_RETRIES: '5',
        TIMEOUT_MS: '1500',
        CONNECTION_POOL_SIZE: '7',
        PORT: '9999',
        HOST: '127.0.0.1',
      },
      cwd: '/nonexistent',
    });
    expect(config).toMatchObject({ maxRetries: 5, timeoutMs: 1500, connectionPoolSize: 7, port: 9999, host: '127.0.0.1' });
    expect(config.providers.get('openai')?.baseUrl).toBe('http://localhost:9000/v1');
  });

  it('serves only the built-in mock when no upstream is configured', () => {
    const config = loadConfig({ environment: {}, cwd: '/nonexistent' });
    expect(config.mockOnly).toBe(true);
    expect([...config.providers.keys()]).toEqual(['mock']);
  });

  it('knows which upstreams serve the Responses API: OpenAI by default, any other when told', () => {
    const defaults = loadConfig({ environment: { HOLYSHEEP_API_KEY: 'hs', OPENAI_API_KEY: 'sk', DEEPSEEK_API_KEY: 'ds' }, cwd: '/nonexistent' });
    expect([...defaults.providers.values()].map((provider) => [provider.name, provider.responsesApi])).toEqual([
      ['holysheep', false],
      ['openai', true],
      ['deepseek', false],
    ]);
    const told = loadConfig({ environment: { HOLYSHEEP_API_KEY: 'hs', HOLYSHEEP_RESPONSES_API: 'true', OPENAI_API_KEY: 'sk', OPENAI_RESPONSES_API: '0' }, cwd: '/nonexistent' });
    expect(told.providers.get('holysheep')?.responsesApi).toBe(true);
    expect(told.providers.get('openai')?.responsesApi).toBe(false);
    const directory = withFile(`
providers:
  vllm:
    type: openai
    baseUrl: http://vllm.internal:8000/v1
    responsesApi: true
  anthropic:
    type: anthropic
    baseUrl: https://api.anthropic.com
    apiKey: sk-ant
    responsesApi: true
`);
    const fromFile = loadConfig({ environment: {}, cwd: directory });
    expect(fromFile.providers.get('vllm')?.responsesApi).toBe(true);
    // Only an OpenAI-compatible upstream can take the Responses API as it is.
    expect(fromFile.providers.get('anthropic')?.responsesApi).toBe(false);
    expect(problemsOf(() => loadConfig({ environment: { OPENAI_API_KEY: 'sk', OPENAI_RESPONSES_API: 'maybe' }, cwd: '/nonexistent' }))).toEqual([
      expect.stringMatching(/^OPENAI_RESPONSES_API="maybe": expected true or false/),
    ]);
  });

  it('names the variable, the value and the fix for bad env values', () => {
    const problems = problemsOf(() => loadConfig({ environment: { MAX_RETRIES: 'three', HOLYSHEEP_BASE_URL: 'ftp://x', LOG_LEVEL: 'loud' }, cwd: '/nonexistent' }));
    expect(problems).toEqual([
      expect.stringMatching(/^HOLYSHEEP_BASE_URL="ftp:\/\/x": expected an http\(s\) URL/),
      expect.stringMatching(/^MAX_RETRIES="three": expected a whole number from 0 to 10/),
      expect.stringMatching(/^LOG_LEVEL="loud": expected one of/),
    ]);
  });

  it('reads relay.yaml with ${VAR} interpolation: providers, routes, aliases and hashed keys', () => {
    const directory = withFile(`
providers:
  vllm:
    type: openai
    baseUrl: http://vllm.internal:8000/v1
    apiKey: \${VLLM_KEY}
    models: ["llama-*"]
models:
  fast:
    targets:
      - provider: vllm
        model: llama-3.1-8b
aliases:
  gpt-4: fast
keys:
  - name: team-a
    key: \${TEAM_A_KEY}
    models: ["fast"]
  - name: team-b
    sha256: ${sha256Hex('team-b-secret-key-123')}
`);
    const config = loadConfig({ environment: { VLLM_KEY: 'vllm-secret', TEAM_A_KEY: 'team-a-secret-key-123' }, cwd: directory });
    expect(config.providers.get('vllm')).toMatchObject({ apiKey: 'vllm-secret', models: ['llama-*'], source: 'config' });
    expect(config.routes.get('fast')?.groups[0]).toEqual([{ provider: 'vllm', model: 'llama-3.1-8b', weight: 1 }]);
    expect(config.aliases.get('gpt-4')).toBe('fast');
    expect(config.clientKeys).toEqual([
      { name: 'team-a', sha256: sha256Hex('team-a-secret-key-123'), models: ['fast'] },
      { name: 'team-b', sha256: sha256Hex('team-b-secret-key-123'), models: undefined },
    ]);
  });

  it('reads numbers and booleans from ${VAR}, and reports an unset one once, with the file', () => {
    const directory = withFile(`
server:
  port: \${RELAY_TEST_PORT}
  strictParameters: \${RELAY_TEST_STRICT}
upstream:
  maxRetries: \${RELAY_TEST_RETRIES:-2}
limits:
  replicas: \${RELAY_TEST_REPLICAS}
models:
  org/fast:
    targets: [{ provider: holysheep, weight: "\${RELAY_TEST_WEIGHT}" }]
`);
    const config = loadConfig({
      environment: { HOLYSHEEP_API_KEY: 'hs-key', RELAY_TEST_PORT: '9001', RELAY_TEST_STRICT: 'true', RELAY_TEST_REPLICAS: '3', RELAY_TEST_WEIGHT: '7' },
      cwd: directory,
    });
    expect(config).toMatchObject({ port: 9001, strictParameters: true, maxRetries: 2, limits: { replicas: 3 } });
    expect(config.routes.get('org/fast')?.groups[0]?.[0]?.weight).toBe(7);

    const unset = problemsOf(() => loadConfig({ environment: { HOLYSHEEP_API_KEY: 'hs-key', RELAY_TEST_STRICT: 'true', RELAY_TEST_REPLICAS: '3', RELAY_TEST_WEIGHT: '7' }, cwd: directory }));
    expect(unset).toEqual([expect.stringMatching(/relay\.yaml: server\.port: \$\{RELAY_TEST_PORT\} is not set in the environment\. Set RELAY_TEST_PORT/)]);

    const text = problemsOf(() => loadConfig({ environment: { HOLYSHEEP_API_KEY: 'hs-key', RELAY_TEST_PORT: 'eighty', RELAY_TEST_STRICT: 'maybe', RELAY_TEST_REPLICAS: '3', RELAY_TEST_WEIGHT: '7' }, cwd: directory }));
    expect(text).toEqual([
      expect.stringMatching(/relay\.yaml: server\.port: Expected integer, got "eighty"/),
      expect.stringMatching(/relay\.yaml: server\.strictParameters: Expected boolean, got "maybe"/),
    ]);
  });

  it('leaves a number written in the file where text is expected refused, not converted', () => {
    const directory = withFile(`
providers:
  vllm:
    type: openai
    baseUrl: http://vllm.internal:8000/v1
    apiKey: 0123456
`);
    expect(problemsOf(() => loadConfig({ environment: {}, cwd: directory }))).toEqual([expect.stringMatching(/providers\.vllm\.apiKey: Expected string/)]);
  });

  it('reports an unset ${VAR}, a bad field and an unknown provider with their paths and fixes', () => {
    const directory = withFile(`
providers:
  vllm:
    type: openia
    baseUrl: http://vllm.internal:8000/v1
`);
    const problems = problemsOf(() => loadConfig({ environment: {}, cwd: directory }));
    expect(problems[0]).toMatch(/relay\.yaml: providers\.vllm\.type: .*got "openia"\. Wire format of the upstream/);

    const second = withFile(`
providers:
  vllm:
    type: openai
    baseUrl: http://vllm.internal:8000/v1
    apiKey: \${MISSING_KEY}
models:
  fast:
    targets: [{ provider: nope }]
`);
    const more = problemsOf(() => loadConfig({ environment: {}, cwd: second }));
    expect(more).toEqual([
      expect.stringMatching(/providers\.vllm\.apiKey: \$\{MISSING_KEY\} is not set in the environment\. Set MISSING_KEY/),
      expect.stringMatching(/models\.fast\.targets\[0\]\.provider: no provider named "nope"\. Defined: vllm\./),
    ]);
  });

  it('reports YAML syntax errors and alias loops', () => {
    expect(problemsOf(() => loadConfig({ environment: {}, cwd: withFile('providers: [unclosed') }))[0]).toMatch(/relay\.yaml: line 1, column 21: Flow sequence/);
    // The parser's pretty message would quote the lines around the error, the key among them.
    const indented = problemsOf(() => loadConfig({ environment: {}, cwd: withFile('providers:\n  a:\n    apiKey: sk-literal-0123456789\n   type: openai\n') }));
    expect(indented).toEqual([expect.stringMatching(/relay\.yaml: line 4, column 1: All mapping items must start at the same column\.$/)]);
    const loop = problemsOf(() => loadConfig({ environment: {}, cwd: withFile('aliases:\n  a: b\n  b: a\n') }));
    expect(loop[0]).toMatch(/alias chain a → b → a loops/);
  });

  it('refuses a missing RELAY_CONFIG file and a short master key', () => {
    const problems = problemsOf(() => loadConfig({ environment: { RELAY_CONFIG: 'nope.yaml', RELAY_MASTER_KEY: 'short' }, cwd: '/nonexistent' }));
    expect(problems).toEqual([expect.stringMatching(/^RELAY_CONFIG="nope.yaml": no such file/), expect.stringMatching(/^RELAY_MASTER_KEY: too short/)]);
  });
});

describe('relay.example.yaml', () => {
  it('is a valid configuration', () => {
    const config = loadConfig({
      environment: { RELAY_CONFIG: new URL('../../relay.example.yaml', import.meta.url).pathname, BACKEND_RELAY_KEY: 'backend-relay-key-0123456789' },
      cwd: '/nonexistent',
    });
    expect(config.routes.get('fast-chat')?.groups[0]?.[0]).toEqual({ provider: 'vllm', model: 'llama-3.1-8b-instruct', weight: 1, maxOutputTokens: 8192, body: { repetition_penalty: 1.05 } });
    expect(config.routes.get('deep-thinker')?.timeoutMs).toBe(300_000);
    expect(config.clientKeys.map((key) => key.name)).toEqual(['backend', 'analytics']);
  });
});
