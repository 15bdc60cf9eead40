// Drives one target with autocannon and prints its result as one JSON line.
import autocannon from 'autocannon';

const [url, connections, seconds, key, amount] = process.argv.slice(2);
const result = await autocannon({
  url,
  connections: Number(connections),
  ...(amount ? { amount: Number(amount) } : { duration: Number(seconds) }),
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  body: JSON.stringify({ model: 'gpt-4.1', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello to the benchmark.' }] }),
});
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  })}\n`,
);
