import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the mock received, as it arrived. */
export interface GeminiReceivedRequest {
  method: string;
  /** Path and query string exactly as received: tests check that no key is in it. */
  url: string;
  /** `gemini-2.5-flash` in `/v1beta/models/gemini-2.5-flash:generateContent`. */
  model: string;
  /** `generateContent`, `streamGenerateContent` or `batchEmbedContents`. */
  action: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** True when the relay closed the connection before the answer was complete. */
  aborted: boolean;
}

/** What the mock does with the next request; unscripted requests get the default answer. */
export type GeminiBehaviour =
  | { kind: 'ok' }
  | { kind: 'text'; text: string; finishReason?: string }
  | { kind: 'functionCall'; calls: Array<{ name: string; args: Record<string, unknown> }> }
  | { kind: 'blocked'; blockReason?: string }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  /** A stream that sends its first `events` text events, then Gemini's error event. */
  | { kind: 'stream-error'; events: number };

interface Part {
  text?: string;
  thought?: boolean;
  inlineData?: { mimeType: string; data: string };
  functionCall?: { name: string; args: Record<string, unknown> };
  functionResponse?: { name: string; response: unknown };
}

interface Content {
  role?: string;
  parts?: Part[];
}

/** Gemini's longest `stopSequences`: a request with more is refused (400 INVALID_ARGUMENT). */
export const geminiMaxStopSequences = 5;

/** Gemini's largest `batchEmbedContents` batch: a request with more is refused (400 INVALID_ARGUMENT). */
export const geminiMaxEmbedBatch = 100;

/** The usage every answer reports: 11 prompt, 7 answer and 3 thinking tokens. */
export const mockGeminiUsage = { promptTokenCount: 11, candidatesTokenCount: 7, thoughtsTokenCount: 3, totalTokenCount: 21 };

/**
 * A Gemini API upstream for tests, speaking the real wire format: `generateContent` (JSON),
 * `streamGenerateContent?alt=sse` (SSE events separated by CRLF CRLF, each a whole
 * GenerateContentResponse, thoughts first), `batchEmbedContents`, and Google's error bodies. It
 * checks the key in `x-goog-api-key` as Gemini does (400 API_KEY_INVALID, 403 without a key), and
 * refuses more than 5 stop sequences, embedding batches of more than 100 texts, and penalties other than 0
 * on Gemini 2.5 and later models, as Gemini does.
 *
 * Default answers: a request whose last turn holds function responses gets "Results: name=json; …";
 * a request with function declarations (and a mode other than NONE) gets a call of the first allowed
 * function with arguments sampled from its schema; a request for JSON (`responseMimeType:
 * application/json`) gets an object sampled from `responseJsonSchema`, or `{"echo": <last user text>}`
 * without one; anything else gets "echo: <last user text>", with
 * inline media described as "[mime, N bytes]".
 * @see https://ai.google.dev/api/generate-content
 */
export class MockGeminiUpstream {
  readonly requests: GeminiReceivedRequest[] = [];
  private readonly script: GeminiBehaviour[] = [];
  private server: Server | undefined;

  /** `http://127.0.0.1:<port>`: Gemini's base URL is the origin. */
  origin = '';

  constructor(private readonly apiKey: string) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Queues behaviours for the next requests, in order. */
  next(...behaviours: GeminiBehaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
    this.outputLimits.clear();
  }

  /** The output limits of some models: a request asking for more is refused in Gemini's words, until `reset`. */
  setOutputLimits(limits: Record<string, number>): void {
    for (const [model, limit] of Object.entries(limits)) this.outputLimits.set(model, limit);
  }

  private readonly outputLimits = new Map<string, number>();

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = request.url ?? '/';
    const match = /^\/v1beta\/models\/([^/:?]+):([A-Za-z]+)(\?.*)?$/.exec(url);
    const received: GeminiReceivedRequest = {
      method: request.method ?? 'GET',
      url,
      model: decodeURIComponent(match?.[1] ?? ''),
      action: match?.[2] ?? '',
      headers: request.headers,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      aborted: false,
    };
    this.requests.push(received);
    response.on('close', () => {
      if (!response.writableFinished) received.aborted = true;
    });

    const key = request.headers['x-goog-api-key'];
    if (key === undefined) {
      return error(response, 403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
    }
    if (key !== this.apiKey) {
      return error(response, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
      ]);
    }
    const behaviour = this.script.shift() ?? { kind: 'ok' };
    if (behaviour.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (behaviour.kind === 'status') {
      response.writeHead(behaviour.status, { 'content-type': 'application/json; charset=UTF-8', ...behaviour.headers });
      response.end(JSON.stringify(behaviour.body ?? { error: { code: behaviour.status, message: `mock failure ${behaviour.status}`, status: 'INTERNAL' } }));
      return;
    }
    if (match === null || received.method !== 'POST') return error(response, 404, 'NOT_FOUND', `The requested URL ${url} was not found on this server.`);
    if (received.action === 'batchEmbedContents') return this.embed(received, response);
    const stopSequences = (received.body.generationConfig as { stopSequences?: unknown[] } | undefined)?.stopSequences;
    if (Array.isArray(stopSequences) && stopSequences.length > geminiMaxStopSequences) {
      return error(response, 400, 'INVALID_ARGUMENT', `the number of stop_sequences must not exceed ${geminiMaxStopSequences}`);
    }
    // Gemini 2.5 and later take no penalties (Gemini 2.0 Flash did); a 0, which changes nothing, passes.
    const generationConfig = received.body.generationConfig as { presencePenalty?: unknown; frequencyPenalty?: unknown } | undefined;
    const penalized = (value: unknown) => value !== undefined && value !== 0;
    if (/^gemini-(2\.5|3)/.test(received.model) && (penalized(generationConfig?.presencePenalty) || penalized(generationConfig?.frequencyPenalty))) {
      return error(response, 400, 'INVALID_ARGUMENT', `Penalty is not enabled for models/${received.model}`);
    }
    const asked = (received.body.generationConfig as { maxOutputTokens?: unknown } | undefined)?.maxOutputTokens;
    const outputLimit = this.outputLimits.get(received.model);
    if (outputLimit !== undefined && typeof asked === 'number' && asked > outputLimit) {
      return error(response, 400, 'INVALID_ARGUMENT', `Unable to submit request because it has a maxOutputTokens value of ${asked} but the supported range is from 1 (inclusive) to ${outputLimit + 1} (exclusive). Update the value and try again.`);
    }
    if (received.action === 'generateContent') return json(response, this.answer(received, behaviour));
    if (received.action === 'streamGenerateContent' && match[3] === '?alt=sse') return this.stream(received, response, behaviour);
    return error(response, 404, 'NOT_FOUND', `Method ${received.action} is not served by this mock.`);
  }

  /** A whole GenerateContentResponse for a behaviour. */
  private answer(received: GeminiReceivedRequest, behaviour: GeminiBehaviour): Record<string, unknown> {
    const envelope = { modelVersion: received.model, responseId: `mock-${this.requests.length}` };
    if (behaviour.kind === 'blocked') {
      return { promptFeedback: { blockReason: behaviour.blockReason ?? 'SAFETY' }, usageMetadata: { promptTokenCount: 11, totalTokenCount: 11 }, ...envelope };
    }
    const parts = this.answerParts(received.body, behaviour);
    const finishReason = behaviour.kind === 'text' ? (behaviour.finishReason ?? 'STOP') : 'STOP';
    return { candidates: [{ content: { parts, role: 'model' }, finishReason, index: 0 }], usageMetadata: mockGeminiUsage, ...envelope };
  }

  private answerParts(body: Record<string, unknown>, behaviour: GeminiBehaviour): Part[] {
    if (behaviour.kind === 'text') return [{ text: behaviour.text }];
    if (behaviour.kind === 'functionCall') return behaviour.calls.map((call) => ({ functionCall: call }));
    const contents = (body.contents ?? []) as Content[];
    const last = contents[contents.length - 1]?.parts ?? [];
    const responses = last.filter((part) => part.functionResponse !== undefined);
    if (responses.length > 0) {
      return [{ text: `Results: ${responses.map((part) => `${part.functionResponse!.name}=${JSON.stringify(part.functionResponse!.response)}`).join('; ')}` }];
    }
    const config = body.generationConfig as { responseMimeType?: string; responseJsonSchema?: unknown } | undefined;
    if (config?.responseMimeType === 'application/json') {
      // JSON mode: an object, matching the schema when one was given.
      return [{ text: JSON.stringify(config.responseJsonSchema === undefined ? { echo: last.map((part) => part.text ?? '').join(' ') } : sampleArguments(config.responseJsonSchema)) }];
    }
    const declarations = ((body.tools ?? []) as Array<{ functionDeclarations?: Array<{ name: string; parametersJsonSchema?: unknown; parameters?: unknown }> }>).flatMap(
      (tool) => tool.functionDeclarations ?? [],
    );
    const calling = (body.toolConfig as { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } } | undefined)?.functionCallingConfig;
    if (declarations.length > 0 && calling?.mode !== 'NONE') {
      const allowed = calling?.allowedFunctionNames;
      const declaration = declarations.find((candidate) => allowed === undefined || allowed.includes(candidate.name)) ?? declarations[0]!;
      return [{ functionCall: { name: declaration.name, args: sampleArguments(declaration.parametersJsonSchema ?? declaration.parameters) } }];
    }
    const described = last.map((part) => (part.text !== undefined ? part.text : part.inlineData ? `[${part.inlineData.mimeType}, ${Buffer.from(part.inlineData.data, 'base64').length} bytes]` : '')).join(' ');
    return [{ text: `echo: ${described}` }];
  }

  private async stream(received: GeminiReceivedRequest, response: ServerResponse, behaviour: GeminiBehaviour): Promise<void> {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (payload: unknown) => response.write(`data: ${JSON.stringify(payload)}\r\n\r\n`);
    const envelope = { modelVersion: received.model, responseId: `mock-${this.requests.length}` };
    const running = { promptTokenCount: 11, totalTokenCount: 11 };
    const whole = this.answer(received, behaviour);
    const candidate = (whole.candidates as Array<{ content: { parts: Part[] }; finishReason: string }> | undefined)?.[0];
    if (candidate === undefined) {
      send(whole);
      response.end();
      return;
    }
    // Thinking comes first, as thinking models send it; the relay must not show it.
    send({ candidates: [{ content: { parts: [{ text: 'Thinking about it.', thought: true }], role: 'model' }, index: 0 }], usageMetadata: running, ...envelope });
    const calls = candidate.content.parts.filter((part) => part.functionCall !== undefined);
    const text = candidate.content.parts.map((part) => part.text ?? '').join('');
    const pieces = calls.length > 0 ? [] : text.split(/(?<= )/);
    for (const [index, piece] of pieces.entries()) {
      if (behaviour.kind === 'stream-error' && index === behaviour.events) {
        send({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } });
        response.end();
        return;
      }
      const last = index === pieces.length - 1;
      send({
        candidates: [{ content: { parts: [{ text: piece }], role: 'model' }, index: 0, ...(last ? { finishReason: candidate.finishReason } : {}) }],
        usageMetadata: last ? mockGeminiUsage : running,
        ...envelope,
      });
    }
    if (calls.length > 0) send({ candidates: [{ content: { parts: calls, role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: mockGeminiUsage, ...envelope });
    response.end();
  }

  private embed(received: GeminiReceivedRequest, response: ServerResponse): void {
    const requests = (received.body.requests ?? []) as Array<{ model?: string; content?: Content; outputDimensionality?: number }>;
    if (requests.length > geminiMaxEmbedBatch) {
      return error(response, 400, 'INVALID_ARGUMENT', `* BatchEmbedContentsRequest.requests: at most ${geminiMaxEmbedBatch} requests can be in one batch`);
    }
    for (const [index, entry] of requests.entries()) {
      if (entry.model !== `models/${received.model}`) {
        return error(response, 400, 'INVALID_ARGUMENT', `* BatchEmbedContentsRequest.requests[${index}].model: the model must be the one in the URL`);
      }
    }
    const embeddings = requests.map((entry) => {
      const text = (entry.content?.parts ?? []).map((part) => part.text ?? '').join('');
      const size = entry.outputDimensionality ?? 8;
      return { values: Array.from({ length: size }, (_value, position) => Number(((text.length + position) / 100).toFixed(4))) };
    });
    json(response, { embeddings });
  }
}

/** Arguments that satisfy a JSON Schema: the first enum value, else "sample <name>", 1, true. */
export function sampleArguments(schema: unknown): Record<string, unknown> {
  const properties = ((schema as { properties?: Record<string, { type?: string; enum?: unknown[] }> } | undefined)?.properties ?? {}) as Record<
    string,
    { type?: string; enum?: unknown[] }
  >;
  const args: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (Array.isArray(property.enum) && property.enum.length > 0) args[name] = property.enum[0];
    else if (property.type === 'number' || property.type === 'integer') args[name] = 1;
    else if (property.type === 'boolean') args[name] = true;
    else args[name] = `sample ${name}`;
  }
  return args;
}

function json(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  response.end(JSON.stringify(body));
}

function error(response: ServerResponse, code: number, status: string, message: string, details?: unknown[]): void {
  response.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' });
  response.end(JSON.stringify({ error: { code, message, status, ...(details === undefined ? {} : { details }) } }));
}
