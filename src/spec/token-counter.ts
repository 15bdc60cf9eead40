import { Worker } from 'node:worker_threads';

/**
 * What a count adds up: `texts` for the tokenizer, and `tokens` already known without it (a
 * message's framing, an image's fixed figure).
 */
export interface TokenTally {
  texts: string[];
  tokens: number;
}

/** How long the counting thread stays after its last count: it holds the encoder's ranks (tens of MB). */
const idleMs = 5 * 60_000;

interface Pending {
  resolve: (counts: number[]) => void;
  reject: (error: Error) => void;
}

let thread: { worker: Worker; pending: Map<number, Pending>; idle: NodeJS.Timeout | undefined } | undefined;
let nextId = 0;

/**
 * Counts `texts` with cl100k_base, each on its own, in a thread of its own: for when no upstream
 * count exists (`/v1/messages/count_tokens`, a stream that ended without its usage). On the event
 * loop, a 50 000-token prompt took 100–170 ms to count (and the encoder's first load ~0.5 s), during
 * which no other request moved; a relay whose upstream streams without usage counts every prompt.
 * The thread starts on first use and ends after 5 idle minutes; it keeps the process alive only
 * while a count is under way.
 * cl100k_base rather than o200k_base for half the load time: neither is every vendor's tokenizer,
 * so these are estimates either way.
 */
export function countEach(texts: readonly string[]): Promise<number[]> {
  if (texts.every((text) => text === '')) return Promise.resolve(texts.map(() => 0));
  const current = (thread ??= startThread());
  clearTimeout(current.idle);
  current.idle = undefined;
  const id = nextId++;
  return new Promise<number[]>((resolve, reject) => {
    current.pending.set(id, { resolve, reject });
    // Held while a count is under way: a relay shutting down waits for its last requests' counts.
    current.worker.ref();
    current.worker.postMessage({ id, texts });
  });
}

/** The tally's tokens: its known ones plus its texts' counts. */
export async function countTally(tally: TokenTally): Promise<number> {
  const counts = await countEach(tally.texts);
  return counts.reduce((sum, count) => sum + count, tally.tokens);
}

function startThread(): NonNullable<typeof thread> {
  const worker = new Worker(new URL('./token-count-worker.mjs', import.meta.url));
  worker.unref();
  const started: NonNullable<typeof thread> = { worker, pending: new Map(), idle: undefined };
  worker.on('message', (message: { id?: number; counts?: number[]; error?: string }) => {
    if (message.id === undefined) return;
    const pending = started.pending.get(message.id);
    if (pending === undefined) return;
    started.pending.delete(message.id);
    if (message.counts !== undefined) pending.resolve(message.counts);
    else pending.reject(new Error(`the token counter failed: ${message.error ?? 'no answer'}`));
    if (started.pending.size === 0) {
      worker.unref();
      started.idle = setTimeout(() => {
        // Counts asked for from now on start a new thread: none is handed to one that is ending.
        if (thread === started) thread = undefined;
        void worker.terminate();
      }, idleMs);
      started.idle.unref();
    }
  });
  const fail = (error: Error) => {
    if (thread === started) thread = undefined;
    for (const pending of started.pending.values()) pending.reject(error);
    started.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the token counter's thread ended (exit code ${code})`)));
  return started;
}
