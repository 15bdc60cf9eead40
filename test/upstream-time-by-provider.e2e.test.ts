import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useTwoUpstreams } from './support/two-upstreams.js';

/** The value of one sample of the exposition text, by metric name and exact label set (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = `${name}{${Object.entries(labels).map(([key, value]) => `${key}="${value}"`).join(',')}} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(wanted));
  return line === undefined ? 0 : Number(line.slice(wanted.length));
}

describe('relay_upstream_duration_seconds after a failover to another provider', () => {
  const { upstreamA, upstreamB, startWith } = useTwoUpstreams('relay-upstream-time-');

  it('puts the time the failed provider took under that provider, not under the one that answered', async () => {
    const { relay, client } = await startWith('models:\n  gpt-4.1:\n    strategy: least-inflight\n    groups:\n      - targets: [{ provider: a }]\n      - targets: [{ provider: b }]\n', { TIMEOUT_MS: '1500', MAX_RETRIES: '1' });
    // Provider a never answers: its attempt times out after 1.5 s, and b answers at once.
    upstreamA.next({ kind: 'hang' });
    const answer = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    expect(answer.response.headers.get('x-relay-provider')).toBe('b');
    expect(answer.response.headers.get('x-relay-attempts')).toBe('2');
    expect(upstreamB.requests).toHaveLength(1);

    const metrics = await (await request(`${relay.url}/metrics`)).body.text();
    expect(sample(metrics, 'relay_upstream_attempt_failures_total', { provider: 'a', reason: 'timeout' })).toBe(1);
    // b answered well within a second; the 1.5 s were a's.
    expect(sample(metrics, 'relay_upstream_duration_seconds_bucket', { le: '1', provider: 'b' })).toBe(1);
    expect(sample(metrics, 'relay_upstream_duration_seconds_count', { provider: 'a' })).toBe(1);
  });
});
