// The baseline: the least a Node relay can do — node:http in, undici request out, bytes piped back.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new Pool(process.env.UPSTREAM_ORIGIN, { connections: Number(process.env.CONNECTION_POOL_SIZE ?? 100), pipelining: 1 });
const server = createServer(async (request, response) => {
  const chunks = [];
  for await (const piece of request) chunks.push(piece);
  try {
    const answer = await upstream.request({
      path: request.url,
      method: request.method,
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench-upstream-key' },
      body: Buffer.concat(chunks),
    });
    response.writeHead(answer.statusCode, { 'content-type': answer.headers['content-type'] });
    for await (const piece of answer.body) response.write(piece);
    response.end();
  } catch {
    response.writeHead(502).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
