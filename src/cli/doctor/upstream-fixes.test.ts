import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ProviderSettings } from '../../config/relay-config.js';
import { upstreamFixes } from './upstream-fixes.js';
import type { UpstreamTarget } from './upstream-target.js';

function targetOf(baseUrl: string): UpstreamTarget {
  const url = new URL(baseUrl);
  const settings = { name: 'holysheep', type: 'openai', baseUrl, source: 'env' } as ProviderSettings;
  return {
    settings,
    url,
    port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
    baseUrlSource: 'HOLYSHEEP_BASE_URL',
    defaultBaseUrl: true,
    keys: [],
    routedModels: new Map(),
  };
}

/** The kubectl commands a fix prints, one per line. */
const kubectlCommands = (fix: string) => fix.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('kubectl '));

describe('upstreamFixes', () => {
  it('checks DNS from a relay pod, which Pod Security "restricted" admits, with a command that runs', () => {
    const fix = upstreamFixes.dns(targetOf('https://api.holysheep.ai/v1'), 'EAI_AGAIN');
    const commands = kubectlCommands(fix);
    // A pod of its own (kubectl run/debug with an image) is refused in the relay's namespace: no
    // securityContext. Exec into the relay's Deployment instead, under its NetworkPolicy.
    for (const command of commands) expect(command).not.toMatch(/^kubectl (-n \S+ )?(run|debug)\b|--image/);
    const lookup = commands.find((command) => command.includes('dns'));
    expect(lookup).toMatch(/^kubectl -n relay exec deployment\/relay -- node -e "(.+)"$/);
    expect(lookup).toContain("'api.holysheep.ai'");

    // What runs in the pod is the image's node, resolving as the relay does (dns.lookup).
    const script = /-- node -e "(.+)"$/m.exec(upstreamFixes.dns(targetOf('http://localhost:8000/v1'), 'ENOTFOUND'))![1]!;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toMatch(/^null \[.*address: '(127\.0\.0\.1|::1)'/s);
  });

  it('tells a blocked connection to use a forward proxy through HTTPS_PROXY (HTTP_PROXY for http), which the relay reads', () => {
    for (const code of ['ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH']) {
      const fix = upstreamFixes.connection(targetOf('https://api.holysheep.ai/v1'), code);
      expect(fix, code).not.toMatch(/does not use HTTP\(S\)_PROXY|connects directly, it does not/);
      expect(fix, code).toMatch(/set HTTPS_PROXY in the relay's environment/);
      expect(fix, code).toMatch(/allow the proxy's port in the NetworkPolicy/);
    }
    expect(upstreamFixes.connection(targetOf('http://vllm.internal:8000/v1'), 'ETIMEDOUT')).toMatch(/set HTTP_PROXY in the relay's environment/);
  });
});
