// A fast OpenAI-compatible upstream for the benchmark: a fixed JSON answer, or an SSE stream of
// BENCH_CHUNKS chunks BENCH_CHUNK_DELAY_MS apart; BENCH_LATENCY_MS delays every answer.
//
// Streams are driven by one shared clock instead of a timer per stream: every tick writes each open
// stream the chunks that have come due (chunk i is due i × BENCH_CHUNK_DELAY_MS after the stream
// began). With a thousand streams this process would otherwise run 100 000 timers a second and
// become the bottleneck of the run; when a tick comes late, the chunks due meanwhile leave in one
// write, as a real upstream's would in one TCP segment.
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
const contentChunks = Array.from({ length: chunks }, (_, index) => chunk(`w${index} `, null));
const usageChunk = `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } })}\n\n`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Open streams: the response, when it began, how many chunks it has been sent, whether it wants usage. */
const streams = new Set();
let clock;

function tick() {
  const now = performance.now();
  for (const stream of streams) {
    const due = Math.min(chunks, Math.floor((now - stream.startedAt) / chunkDelayMs) + 1);
    let text = '';
    while (stream.sent < due) text += contentChunks[stream.sent++];
    if (stream.sent === chunks && now - stream.startedAt >= chunks * chunkDelayMs) {
      text += chunk('', 'stop') + (stream.usage ? usageChunk : '') + 'data: [DONE]\n\n';
      stream.response.end(text);
      streams.delete(stream);
    } else if (text !== '') {
      stream.response.write(text);
    }
  }
  if (streams.size === 0) {
    clearInterval(clock);
    clock = undefined;
  }
}

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
  // The first chunk leaves at once (time to first token is the relay's, not the clock's).
  response.write(contentChunks[0]);
  const stream = { response, startedAt: performance.now(), sent: 1, usage: body.includes('"include_usage":true') };
  streams.add(stream);
  response.once('close', () => streams.delete(stream));
  clock ??= setInterval(tick, Math.max(1, chunkDelayMs / 2));
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
