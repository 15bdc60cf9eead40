// One request at a time on one kept-alive connection, timed with hrtime: p50/p99 in microseconds.
import { Client } from 'undici';

const [origin, path, count, key] = process.argv.slice(2);
const client = new Client(origin, { pipelining: 1 });
const body = JSON.stringify({ model: 'gpt-4.1', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello to the benchmark.' }] });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
const once = async () => {
  const response = await client.request({ path, method: 'POST', headers, body });
  await response.body.arrayBuffer();
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
};
for (let index = 0; index < Math.min(2000, Number(count)); index++) await once();
const samples = new Float64Array(Number(count));
for (let index = 0; index < samples.length; index++) {
  const started = process.hrtime.bigint();
  await once();
  samples[index] = Number(process.hrtime.bigint() - started) / 1000;
}
samples.sort();
const at = (quantile) => samples[Math.min(samples.length - 1, Math.ceil(quantile * samples.length) - 1)];
process.stdout.write(`${JSON.stringify({ p50Us: at(0.5), p90Us: at(0.9), p99Us: at(0.99), p999Us: at(0.999), count: samples.length })}\n`);
await client.close();
