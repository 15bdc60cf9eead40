// Opens N concurrent chat streams and records time to first token, chunk rate and stalls.
import { Agent, request } from 'undici';

const [url, count, key, chunkDelayMs] = process.argv.slice(2);
const streams = Number(count);
const agent = new Agent({ connections: streams + 10, pipelining: 1 });
const body = JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'Stream to the benchmark.' }] });
const stallGapMs = Math.max(500, Number(chunkDelayMs) * 20);

async function one() {
  const started = performance.now();
  let firstAt;
  let last = started;
  let chunks = 0;
  let maxGap = 0;
  const response = await request(url, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  // Counts events as they pass without keeping the text: the client must cost less than what it measures.
  let tail = '';
  for await (const piece of response.body) {
    const now = performance.now();
    // A stall is a gap between chunks; the wait for the first one is the time to first token.
    if (firstAt === undefined) firstAt = now;
    else maxGap = Math.max(maxGap, now - last);
    last = now;
    const text = piece.toString('latin1');
    for (let index = text.indexOf('\n\n'); index !== -1; index = text.indexOf('\n\n', index + 2)) chunks++;
    tail = (tail + text).slice(-32);
  }
  return { ttftMs: (firstAt ?? last) - started, durationMs: last - started, chunks, complete: tail.includes('[DONE]') && response.statusCode === 200, maxGap };
}

const started = performance.now();
const results = await Promise.all(Array.from({ length: streams }, () => one().catch(() => ({ ttftMs: NaN, durationMs: NaN, chunks: 0, complete: false, maxGap: Infinity }))));
const elapsedS = (performance.now() - started) / 1000;
const ttft = results.map((result) => result.ttftMs).filter(Number.isFinite).sort((a, b) => a - b);
const at = (quantile) => ttft[Math.min(ttft.length - 1, Math.ceil(quantile * ttft.length) - 1)];
process.stdout.write(
  `${JSON.stringify({
    streams,
    completed: results.filter((result) => result.complete).length,
    stalled: results.filter((result) => !result.complete || result.maxGap > stallGapMs).length,
    ttftP50Ms: at(0.5),
    ttftP99Ms: at(0.99),
    chunksPerSecond: results.reduce((sum, result) => sum + result.chunks, 0) / elapsedS,
  })}\n`,
);
await agent.close();
