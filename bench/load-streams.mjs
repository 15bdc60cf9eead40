// Opens N concurrent chat streams and records time to first token, chunk rate and stalls.
//
// The client must cost far less than what it measures: with 1000 streams of a chunk every 10 ms it
// reads 100 000 events a second on one core beside the mock upstream. So it speaks HTTP/1.1 on raw
// sockets — one request per connection, the answer counted as bytes go by (`data: ` prefixes, the
// `[DONE]` event, the chunked body's terminator) and never decoded or parsed. The connections are
// opened before the clock starts, as an application's HTTP pool keeps them open: time to first token
// is the time from the request's first byte to the first event's, not TCP's handshake.
import { connect } from 'node:net';

const [url, count, key, chunkDelayMs] = process.argv.slice(2);
const streams = Number(count);
const target = new URL(url);
const body = JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'Stream to the benchmark.' }] });
const head = `POST ${target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\nauthorization: Bearer ${key}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
const requestBytes = Buffer.from(head + body);
const stallGapMs = Math.max(500, Number(chunkDelayMs) * 20);
const eventStart = Buffer.from('data: ');
const done = Buffer.from('data: [DONE]');
const chunkedEnd = Buffer.from('\r\n0\r\n\r\n');
const tailLength = Math.max(eventStart.length, done.length, chunkedEnd.length);

function open() {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function run(socket) {
  return new Promise((resolve) => {
    const result = { ttftMs: NaN, chunks: 0, complete: false, status: 0, maxGap: 0 };
    let startedAt = 0;
    let last = 0;
    let tail = Buffer.alloc(0);
    socket.on('data', (piece) => {
      const now = performance.now();
      if (result.status === 0) result.status = Number(piece.toString('latin1', 9, 12));
      // Events split across reads are counted once: the last bytes of one read are searched with the next.
      const bytes = tail.length === 0 ? piece : Buffer.concat([tail, piece]);
      let events = 0;
      for (let index = bytes.indexOf(eventStart); index !== -1; index = bytes.indexOf(eventStart, index + eventStart.length)) {
        if (index + eventStart.length > tail.length) events++;
      }
      if (events > 0) {
        if (result.chunks === 0) result.ttftMs = now - startedAt;
        else result.maxGap = Math.max(result.maxGap, now - last);
        last = now;
        result.chunks += events;
      }
      if (bytes.includes(done)) result.complete = true;
      tail = bytes.subarray(Math.max(0, bytes.length - tailLength));
      if (bytes.includes(chunkedEnd)) socket.end();
    });
    socket.once('close', () => resolve({ ...result, complete: result.complete && result.status === 200 }));
    socket.once('error', () => {});
    startedAt = performance.now();
    last = startedAt;
    socket.write(requestBytes);
  });
}

const sockets = [];
for (let opened = 0; opened < streams; opened += 100) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, streams - opened) }, open))));
}
const started = performance.now();
const results = await Promise.all(sockets.map(run));
const elapsedS = (performance.now() - started) / 1000;
const ttft = results.map((result) => result.ttftMs).filter(Number.isFinite).sort((a, b) => a - b);
const at = (quantile) => ttft[Math.min(ttft.length - 1, Math.ceil(quantile * ttft.length) - 1)];
process.stdout.write(
  `${JSON.stringify({
    streams,
    completed: results.filter((result) => result.complete).length,
    // A stall is a gap between chunks; the wait for the first one is the time to first token.
    stalled: results.filter((result) => !result.complete || result.maxGap > stallGapMs).length,
    ttftP50Ms: at(0.5),
    ttftP99Ms: at(0.99),
    chunksPerSecond: results.reduce((sum, result) => sum + result.chunks, 0) / elapsedS,
  })}\n`,
);
