import type { ChatRequest } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { convertToGeminiContents } from './convert-to-gemini-contents.js';
import type { GeminiFunctionDeclaration, GeminiGenerationConfig, GeminiRequest } from './gemini-wire.js';

export interface GeminiRequestOptions {
  provider: string;
  /** The Gemini model the request goes to (features differ between 2.5 and 3). */
  model: string;
  /** Refuse parameters Gemini cannot honour instead of dropping them. */
  strict: boolean;
  /** Where dropped parameter names are listed (reported to the client). */
  dropped: string[];
  recallSignature?: (toolCallId: string) => string | undefined;
}

/** Fields that are read below. */
const handledFields = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'n',
  'seed', 'presence_penalty', 'frequency_penalty', 'response_format', 'tools', 'tool_choice', 'functions', 'function_call',
  'reasoning_effort', 'parallel_tool_calls', 'logprobs', 'top_logprobs', 'logit_bias',
]);

/**
 * Fields about the caller or OpenAI's own account features (storage, tiers, cache routing): they do
 * not change the answer, so dropping them loses nothing the client could observe.
 */
const ignoredFields = new Set(['user', 'metadata', 'store', 'service_tier', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_options', 'prompt_cache_retention']);

/** OpenAI's `reasoning_effort` as Gemini 2.5 thinking budgets (tokens), the values of Gemini's own OpenAI layer. */
const thinkingBudgets: Record<string, number> = { none: 0, minimal: 1024, low: 1024, medium: 8192, high: 24576 };

/**
 * Converts an OpenAI chat request to a Gemini `GenerateContentRequest`. Every parameter is either
 * mapped, or (when Gemini cannot honour it) listed in `dropped` — or, in strict mode, refused with a
 * 400 naming it before anything is sent upstream.
 * @see https://ai.google.dev/api/generate-content#request-body
 * @see https://ai.google.dev/api/generate-content#generationconfig
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 * @see https://ai.google.dev/gemini-api/docs/structured-output
 */
export function convertToGeminiRequest(request: ChatRequest, options: GeminiRequestOptions): GeminiRequest {
  const unsupported: string[] = [];
  const isGemini3 = /(^|\/)gemini-3/.test(options.model);
  const { contents, systemInstruction } = convertToGeminiContents(request.messages, {
    provider: options.provider,
    unsupported,
    recallSignature: options.recallSignature,
    needsThoughtSignatures: isGemini3,
  });
  const result: GeminiRequest = { contents };
  if (systemInstruction !== undefined) result.systemInstruction = systemInstruction;

  const config = generationConfig(request, options.model, unsupported);
  if (Object.keys(config).length > 0) result.generationConfig = config;
  addTools(request, result, unsupported);

  for (const [field, value] of Object.entries(request)) {
    if (value === undefined || value === null || handledFields.has(field) || ignoredFields.has(field)) continue;
    unsupported.push(field);
  }
  if (request.logprobs === true) unsupported.push('logprobs');
  if (present(request.top_logprobs)) unsupported.push('top_logprobs');
  if (isObject(request.logit_bias) && Object.keys(request.logit_bias).length > 0) unsupported.push('logit_bias');
  // Gemini may always answer with parallel calls; only a request to forbid them cannot be honoured.
  if (request.parallel_tool_calls === false) unsupported.push('parallel_tool_calls');

  if (unsupported.length > 0) {
    if (options.strict) throw unsupportedParameter(options.provider, unsupported);
    options.dropped.push(...unsupported);
  }
  return result;
}

function generationConfig(request: ChatRequest, model: string, unsupported: string[]): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (present(maxTokens)) config.maxOutputTokens = maxTokens;
  if (present(request.temperature)) config.temperature = request.temperature as number;
  if (present(request.top_p)) config.topP = request.top_p as number;
  if (present(request.top_k)) config.topK = request.top_k as number;
  if (typeof request.stop === 'string') config.stopSequences = [request.stop];
  else if (Array.isArray(request.stop) && request.stop.length > 0) config.stopSequences = firstStopSequences(request.stop as string[], unsupported);
  if (present(request.n) && request.n !== 1) config.candidateCount = request.n as number;
  if (present(request.seed)) config.seed = request.seed as number;
  penalty(request.presence_penalty, 'presence_penalty', unsupported);
  penalty(request.frequency_penalty, 'frequency_penalty', unsupported);

  const format = request.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined;
  if (format?.type === 'json_object') config.responseMimeType = 'application/json';
  else if (format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    // responseJsonSchema takes JSON Schema as OpenAI clients write it (responseSchema is an OpenAPI subset).
    if (format.json_schema?.schema !== undefined) config.responseJsonSchema = withoutMetaSchema(format.json_schema.schema);
  } else if (isObject(format) && format.type !== 'text') unsupported.push('response_format');

  const effort = request.reasoning_effort;
  // Own entries only: an effort named `constructor` is no budget.
  if (typeof effort === 'string') {
    if (/(^|\/)gemini-3/.test(model) && Object.hasOwn(thinkingBudgets, effort)) {
      config.thinkingConfig = { thinkingLevel: effort === 'medium' || effort === 'high' ? 'high' : 'low' };
    } else if (/(^|\/)gemini-2\.5/.test(model) && Object.hasOwn(thinkingBudgets, effort)) {
      config.thinkingConfig = { thinkingBudget: thinkingBudgets[effort] };
    } else {
      unsupported.push('reasoning_effort');
    }
  }
  return config;
}

/**
 * A penalty as Gemini takes it: not at all. Gemini 2.0 Flash, the last model that took
 * `presencePenalty` and `frequencyPenalty`, was shut down on June 1, 2026; Gemini 2.5 and 3 refuse a
 * request with a value other than 0 ("Penalty is not enabled for models/…"), and Google's pages of
 * the 3.x models say so. The default 0 changes nothing and is not sent; another value is reported.
 * @see https://ai.google.dev/gemini-api/docs/deprecations
 * @see https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/gemini/3-6-flash
 */
function penalty(value: unknown, name: string, unsupported: string[]): void {
  if (present(value) && value !== 0) unsupported.push(name);
}

/** The most stop sequences Gemini takes: it refuses a request with more ("the number of stop_sequences must not exceed 5"). */
const geminiMaxStopSequences = 5;

/** The first 5 stop sequences, which Gemini takes; the others are listed by position (`stop[5]`, …). */
function firstStopSequences(stop: string[], unsupported: string[]): string[] {
  if (stop.length <= geminiMaxStopSequences) return stop;
  for (let index = geminiMaxStopSequences; index < stop.length; index++) unsupported.push(`stop[${index}]`);
  return stop.slice(0, geminiMaxStopSequences);
}

interface OpenAIFunction {
  name?: unknown;
  description?: unknown;
  parameters?: unknown;
}

function addTools(request: ChatRequest, result: GeminiRequest, unsupported: string[]): void {
  let declarations: GeminiFunctionDeclaration[] = [];
  const declare = (definition: OpenAIFunction | undefined) => {
    if (typeof definition?.name !== 'string') return;
    // `strict` has no Gemini switch: Gemini always fills function arguments from the schema.
    const declaration: GeminiFunctionDeclaration = { name: definition.name };
    if (typeof definition.description === 'string') declaration.description = definition.description;
    if (isObject(definition.parameters)) declaration.parametersJsonSchema = withoutMetaSchema(definition.parameters);
    declarations.push(declaration);
  };
  if (Array.isArray(request.tools)) {
    for (const tool of request.tools as Array<{ type?: unknown; function?: OpenAIFunction }>) {
      if (tool?.type === 'function') declare(tool.function);
      else unsupported.push(`tools[].${String(tool?.type)}`);
    }
  }
  if (Array.isArray(request.functions)) for (const definition of request.functions as OpenAIFunction[]) declare(definition);

  let mode: 'AUTO' | 'ANY' | 'NONE' | undefined;
  let allowedFunctionNames: string[] | undefined;
  const choice = (request.tool_choice ?? request.function_call) as unknown;
  if (choice === 'auto') mode = 'AUTO';
  else if (choice === 'none') mode = 'NONE';
  else if (choice === 'required') mode = 'ANY';
  else if (isObject(choice)) {
    const named = (choice.function as { name?: unknown } | undefined)?.name ?? choice.name;
    const allowed = choice.allowed_tools as { mode?: unknown; tools?: Array<{ function?: { name?: unknown } }> } | undefined;
    if (typeof named === 'string') {
      mode = 'ANY';
      allowedFunctionNames = [named];
    } else if (choice.type === 'allowed_tools' && Array.isArray(allowed?.tools)) {
      // Gemini restricts names only in ANY mode; an "auto" subset is the subset's declarations.
      const names = new Set(allowed.tools.map((tool) => tool.function?.name));
      declarations = declarations.filter((declaration) => names.has(declaration.name));
      mode = allowed.mode === 'required' ? 'ANY' : 'AUTO';
    } else {
      unsupported.push('tool_choice');
    }
  }

  if (declarations.length === 0) return;
  result.tools = [{ functionDeclarations: declarations }];
  if (mode !== undefined) {
    result.toolConfig = { functionCallingConfig: allowedFunctionNames === undefined ? { mode } : { mode, allowedFunctionNames } };
  }
}

function unsupportedParameter(provider: string, names: string[]): UpstreamError {
  const unique = [...new Set(names)];
  const message =
    `Gemini cannot honour ${unique.length === 1 ? 'the parameter' : 'the parameters'} ${unique.join(', ')}, and this request is strict. ` +
    'Remove them, or send the request without strict mode to have the relay drop them (it lists them in the x-relay-dropped-params header).';
  return new UpstreamError(`${provider}: ${message}`, {
    reason: 'invalid_request',
    status: 400,
    provider,
    upstreamMessage: message,
    upstreamType: 'invalid_request_error',
    upstreamCode: 'unsupported_parameter',
    upstreamParam: unique[0] ?? null,
  });
}

/**
 * Drops a top-level `$schema` (schema generators such as zod-to-json-schema add it): it only names
 * the JSON Schema dialect, and Gemini's schema fields are not documented to accept it.
 */
function withoutMetaSchema(schema: unknown): unknown {
  if (!isObject(schema) || !('$schema' in schema)) return schema;
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function present<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
