import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestCounter, RequestHistogram } from './request-series.js';

describe('request series', () => {
  it('expose the same text as prom-client’s own counter and histogram', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new RequestHistogram('latency_seconds', 'Latency.', ['route', 'status'], [0.1, 0.5, 1], ours);
    const reference = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route', 'status'], buckets: [0.1, 0.5, 1], registers: [theirs] });
    for (const [route, status, value] of [['/a', '200', 0.05], ['/a', '200', 0.1], ['/a', '200', 0.7], ['/b', '500', 3], ['/a', '200', 1]] as const) {
      histogram.observe([route, status], value);
      reference.observe({ route, status }, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('count per label values, and refuse a wrong number of them', async () => {
    const registry = new Registry();
    const counter = new RequestCounter('requests_total', 'Requests.', ['model', 'status'], registry);
    counter.inc(['gpt-4.1', '200']);
    counter.inc(['gpt-4.1', '200'], 2);
    counter.inc(['claude', '429']);
    const text = await registry.metrics();
    expect(text).toContain('requests_total{model="gpt-4.1",status="200"} 3');
    expect(text).toContain('requests_total{model="claude",status="429"} 1');
    expect(() => counter.inc(['gpt-4.1'])).toThrow(/expected 2 label values/);
  });

  it('hand out a series to keep until the registry resets, and say when it does', async () => {
    const registry = new Registry();
    const histogram = new RequestHistogram('latency_seconds', 'Latency.', ['route'], [0.1, 1], registry);
    const kept = histogram.at(['/a']);
    expect(histogram.at(['/a'])).toBe(kept);
    histogram.observeIn(kept, 0.05);
    histogram.observe(['/a'], 0.5);
    expect(await registry.metrics()).toContain('latency_seconds_count{route="/a"} 2');
    let resets = 0;
    histogram.onReset = () => resets++;
    registry.resetMetrics();
    expect(resets).toBe(1);
    expect(await registry.metrics()).not.toContain('latency_seconds_count');
    // A series found again after the reset starts from nothing.
    expect(histogram.at(['/a'])).not.toBe(kept);
    expect(await registry.metrics()).toContain('latency_seconds_count{route="/a"} 0');
  });
});
