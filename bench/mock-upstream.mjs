// A fast OpenAI-compatible upstream for the benchmark: a fixed JSON answer, or an SSE stream of
// BENCH_CHUNKS chunks BENCH_CHUNK_DELAY_MS apart; BENCH_LATENCY_MS delays every answer.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const chunks = Number(process.env.BENCH_CHUNKS ?? 20);
const chunkDelayMs = Number(process.env.BENCH_CHUNK_DELAY_MS ?? 10);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 0);

const answer = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4.1',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
});
const chunk = (content, finish) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } })}\n\n`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const server = createServer(async (request, response) => {
  let body = '';
  for await (const piece of request) body += piece;
  if (latencyMs > 0) await sleep(latencyMs);
  if (!body.includes('"stream":true')) {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    response.end(answer);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (let index = 0; index < chunks; index++) {
    response.write(chunk(`w${index} `, null));
    if (chunkDelayMs > 0) await sleep(chunkDelayMs);
  }
  response.write(chunk('', 'stop'));
  if (body.includes('"include_usage":true')) response.write(usageChunk);
  response.end('data: [DONE]\n\n');
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
