import type { Dispatcher } from 'undici';
import type { ChatRequest } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { CallSignal, onAbort } from '../call-signal.js';
import type { ChatResult, JsonResult, Provider, ProviderCall, ProviderOptions, RawStream, StreamPart } from '../provider.js';
import { postUpstream, postUpstreamJson } from '../post-upstream.js';
import { guardUpstreamBody } from '../upstream-failure.js';
import { asksLegacyFunctions, legacyFunctionCallAnswer, legacyFunctionCallStream } from '../legacy-function-call.js';
import { classifyGeminiError } from './classify-gemini-error.js';
import { convertGeminiEmbeddings } from './convert-gemini-embeddings.js';
import { convertGeminiResponse } from './convert-gemini-response.js';
import { convertToGeminiEmbeddings } from './convert-to-gemini-embeddings.js';
import { convertToGeminiRequest } from './convert-to-gemini-request.js';
import { readGeminiStream } from './gemini-stream.js';
import type { GeminiRequest, GeminiResponse } from './gemini-wire.js';
import { ThoughtSignatureCache } from './thought-signature-cache.js';
import { toolCallIdPrefix } from './tool-call-id-prefix.js';

/** Embedding batches sent at once for one request: a request of 2048 texts is 21 batches. */
const batchesInFlight = 4;

/**
 * The adapter for Google's Gemini API (`generativelanguage.googleapis.com`): OpenAI chat requests
 * are translated to `generateContent` / `streamGenerateContent`, embeddings to
 * `batchEmbedContents`, and the answers back to OpenAI's shapes. The base URL is the origin (a
 * trailing `/v1beta` is tolerated); the key travels in the `x-goog-api-key` header, never in the
 * URL, so it cannot end up in access logs or error messages that quote URLs.
 * @see https://ai.google.dev/api/generate-content
 * @see https://ai.google.dev/api/embeddings
 */
export class GeminiProvider implements Provider {
  readonly type = 'gemini';
  readonly name: string;
  private readonly apiRoot: string;
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher;
  private readonly signatures = new ThoughtSignatureCache();

  constructor(options: ProviderOptions) {
    this.name = options.name;
    this.apiRoot = `${options.baseUrl.replace(/\/+$/, '').replace(/\/v1beta$/, '')}/v1beta`;
    this.dispatcher = options.dispatcher;
    this.headers = {
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      ...(options.apiKey === undefined ? {} : { 'x-goog-api-key': options.apiKey }),
    };
  }

  async chat(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<ChatResult> {
    const body = this.convert(chatRequest, model, call);
    const answer = (await this.postJson(`${modelPath(model, this.name)}:generateContent`, body, call)) as GeminiResponse;
    const completion = convertGeminiResponse(answer, {
      model,
      completionId: `chatcmpl-${call.requestId}`,
      created: Math.floor(Date.now() / 1000),
      toolCallIdPrefix: toolCallIdPrefix(call.requestId),
      rememberSignature: (id, signature) => this.signatures.remember(id, signature),
    });
    if (asksLegacyFunctions(chatRequest)) legacyFunctionCallAnswer(completion);
    return { kind: 'json', body: Buffer.from(JSON.stringify(completion)), usage: completion.usage, completion: () => completion };
  }

  async chatStream(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<AsyncIterator<StreamPart>> {
    const body = this.convert(chatRequest, model, call);
    const response = await this.post(`${modelPath(model, this.name)}:streamGenerateContent?alt=sse`, body, call, 'text/event-stream');
    const parts = readGeminiStream(guardUpstreamBody(response.body, this.name, call.signal), {
      provider: this.name,
      model,
      completionId: `chatcmpl-${call.requestId}`,
      created: Math.floor(Date.now() / 1000),
      toolCallIdPrefix: toolCallIdPrefix(call.requestId),
      rememberSignature: (id, signature) => this.signatures.remember(id, signature),
    });
    return (asksLegacyFunctions(chatRequest) ? legacyFunctionCallStream(parts) : parts)[Symbol.asyncIterator]();
  }

  async embeddings(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult> {
    const batches = convertToGeminiEmbeddings(body, model, { provider: this.name, strict: call.strict, dropped: call.dropped });
    const path = `${modelPath(model, this.name)}:batchEmbedContents`;
    const answers = batches.length === 1 ? [await this.postJson(path, batches[0], call)] : await this.postBatches(path, batches, call);
    const converted = convertGeminiEmbeddings(answers, batches, model, body.encoding_format, this.name);
    return { kind: 'json', body: Buffer.from(JSON.stringify(converted.body)), usage: converted.usage };
  }

  /**
   * Sends each batch to `path`, `batchesInFlight` at a time, and gives their answers in the batches'
   * order. The first failure fails the whole (one error, as for one call): the calls still running
   * are aborted, and no further batch is sent.
   */
  private async postBatches(path: string, batches: readonly unknown[], call: ProviderCall): Promise<Array<Record<string, unknown>>> {
    const signal = new CallSignal();
    const detach = onAbort(call.signal, () => signal.abort());
    if (call.signal.aborted) signal.abort();
    const batchCall: ProviderCall = { ...call, signal };
    const answers: Array<Record<string, unknown>> = [];
    let failure: { error: unknown } | undefined;
    let next = 0;
    const sendNext = async (): Promise<void> => {
      while (failure === undefined && next < batches.length) {
        const position = next++;
        try {
          answers[position] = await this.postJson(path, batches[position], batchCall);
        } catch (error) {
          failure ??= { error };
          signal.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(batchesInFlight, batches.length) }, sendNext));
    } finally {
      detach();
    }
    if (failure !== undefined) throw failure.error;
    return answers;
  }

  async completions(_body: Record<string, unknown>, model: string): Promise<JsonResult | RawStream> {
    const message = `The Gemini API has no legacy completions endpoint, so "${model}" cannot serve POST /v1/completions. Send the prompt as a user message to POST /v1/chat/completions instead.`;
    throw new UpstreamError(`${this.name}: ${message}`, {
      reason: 'invalid_request',
      status: 400,
      provider: this.name,
      upstreamMessage: message,
      upstreamType: 'invalid_request_error',
      upstreamCode: 'unsupported_endpoint',
    });
  }

  private convert(chatRequest: ChatRequest, model: string, call: ProviderCall): GeminiRequest {
    return convertToGeminiRequest(chatRequest, {
      provider: this.name,
      model,
      strict: call.strict,
      dropped: call.dropped,
      recallSignature: (id) => this.signatures.recall(id),
    });
  }

  private post(path: string, body: unknown, call: ProviderCall, accept = 'application/json'): Promise<Dispatcher.ResponseData> {
    return postUpstream({
      url: `${this.apiRoot}/${path}`,
      dispatcher: this.dispatcher,
      headers: accept === 'application/json' ? this.headers : { ...this.headers, accept },
      body,
      call,
      provider: this.name,
      classifyError: classifyGeminiError,
    });
  }

  private async postJson(path: string, body: unknown, call: ProviderCall): Promise<Record<string, unknown>> {
    const answer = await postUpstreamJson({ url: `${this.apiRoot}/${path}`, dispatcher: this.dispatcher, headers: this.headers, body, call, provider: this.name, classifyError: classifyGeminiError });
    return answer.parsed;
  }
}

/**
 * `gemini-2.5-flash` → `models/gemini-2.5-flash`; a full resource name (`tunedModels/x`) stays as it is.
 * A name with an empty, `.` or `..` segment is refused: escaping leaves `..` as it is, so the URL
 * would climb out of the model, and a client's model name would choose which path of the API the
 * relay's key is sent to (`gemini-2.5-flash/../models/gemini-2.5-pro` reached a model the key may
 * not use, billed as another).
 */
function modelPath(model: string, provider: string): string {
  const name = model.includes('/') ? model : `models/${model}`;
  const segments = name.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    const message = `"${model}" is not a Gemini model name: a resource name's parts may not be empty, "." or "..".`;
    throw new UpstreamError(`${provider}: ${message}`, { reason: 'invalid_request', status: 400, provider, upstreamMessage: message, upstreamType: 'invalid_request_error', upstreamCode: 'model_not_found' });
  }
  return segments.map(encodeURIComponent).join('/');
}

