import { refusesForcedToolUse } from './anthropic-thinking.js';
import type { AnthropicTool, AnthropicToolChoice } from '../../spec/anthropic-messages.js';
import type { ChatRequest } from '../../spec/openai-chat.js';
import type { ProviderCall } from '../provider.js';
import { cacheControlOf } from './convert-to-anthropic-messages.js';
import { reportUnsupportedParameter } from './report-unsupported-parameter.js';

/** Tools, tool choice and JSON mode, as Anthropic takes them. */
export interface AnthropicToolSettings {
  tools: AnthropicTool[] | undefined;
  toolChoice: AnthropicToolChoice | undefined;
  /**
   * Set when `response_format: json_schema` is served by a forced tool: the answer's call of this
   * tool is the JSON answer, and is given back to the client as message text.
   */
  jsonToolName: string | undefined;
  /** An instruction appended to the system prompt (JSON mode without a forced tool). */
  systemInstruction: string | undefined;
  /** `output_config.format`: `response_format: json_schema` served by structured outputs, on a model that refuses forced tool use. */
  outputFormat?: { type: 'json_schema'; schema: unknown };
}

interface OpenAITool {
  type?: string;
  function?: { name?: string; description?: string; parameters?: Record<string, unknown> };
}

interface JsonSchemaFormat {
  name?: string;
  description?: string;
  schema?: Record<string, unknown>;
}

const emptySchema = { type: 'object', properties: {} };
const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;
const jsonObjectInstruction = 'Answer with one valid JSON object and nothing else: no prose before or after it, no Markdown code fences.';

function convertTools(request: ChatRequest, call: ProviderCall, provider: string): AnthropicTool[] {
  if (!Array.isArray(request.tools)) return [];
  const tools: AnthropicTool[] = [];
  (request.tools as OpenAITool[]).forEach((tool, index) => {
    if (tool.type !== 'function' || typeof tool.function?.name !== 'string') {
      reportUnsupportedParameter(`tools[${index}]`, `tools of type "${String(tool.type)}" have no Anthropic equivalent`, call, provider);
      return;
    }
    const converted: AnthropicTool = { name: tool.function.name, input_schema: tool.function.parameters ?? emptySchema };
    if (typeof tool.function.description === 'string') converted.description = tool.function.description;
    // A cache breakpoint on the tool (`tools[i].cache_control`): the tool definitions up to it are cached.
    const control = cacheControlOf(tool);
    if (control !== undefined) converted.cache_control = control;
    tools.push(converted);
  });
  return tools;
}

function convertToolChoice(choice: unknown): AnthropicToolChoice | undefined {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  const named = (choice as { function?: { name?: unknown } } | null | undefined)?.function?.name;
  if (typeof named === 'string') return { type: 'tool', name: named };
  return undefined;
}

/**
 * Converts OpenAI's `tools`, `tool_choice`, `parallel_tool_calls` and `response_format`.
 * Function tools become Anthropic tools (`parameters` → `input_schema`); `tool_choice` auto / none /
 * required / a named function become auto / none / any / tool; `parallel_tool_calls: false` becomes
 * `disable_parallel_tool_use`. JSON mode, which Anthropic has no switch for, is served this way:
 * `json_schema` without other tools becomes a forced tool whose input schema is the requested
 * schema (so the answer is guaranteed to parse and match), and `json_object` — or `json_schema`
 * next to the client's own tools, where forcing one tool would disable the others — becomes a
 * system instruction (with the schema spelled out). Claude 5.5 and later refuse forced tool use
 * (`model`: `refusesForcedToolUse`): there `json_schema` without other tools becomes structured
 * outputs (`outputFormat`), and a forced `tool_choice` is sent as auto, reported.
 * @see https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
 * @see https://docs.anthropic.com/en/docs/test-and-evaluate/strengthen-guardrails/increase-consistency#specify-the-desired-output-format
 * @see https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format
 */
export function convertToAnthropicTools(request: ChatRequest, call: ProviderCall, provider: string, model = ''): AnthropicToolSettings {
  const tools = convertTools(request, call, provider);
  const noForcing = refusesForcedToolUse(model);
  let toolChoice = tools.length > 0 ? convertToolChoice(request.tool_choice) : undefined;
  if (tools.length > 0 && request.tool_choice !== undefined && request.tool_choice !== null && toolChoice === undefined) {
    reportUnsupportedParameter('tool_choice', 'only auto, none, required and a named function can be sent to Anthropic', call, provider);
  }
  if (noForcing && (toolChoice?.type === 'any' || toolChoice?.type === 'tool')) {
    // The model may still call the tool, and usually does when asked to: it is only not forced.
    reportUnsupportedParameter('tool_choice', 'this Claude model refuses forced tool use (required or a named function): sent as auto', call, provider);
    toolChoice = { type: 'auto' };
  }
  if (tools.length > 0 && request.parallel_tool_calls === false && toolChoice?.type !== 'none') {
    toolChoice = { ...(toolChoice ?? { type: 'auto' }), disable_parallel_tool_use: true } as AnthropicToolChoice;
  }
  const settings: AnthropicToolSettings = { tools: tools.length > 0 ? tools : undefined, toolChoice, jsonToolName: undefined, systemInstruction: undefined };
  const format = request.response_format as { type?: unknown; json_schema?: JsonSchemaFormat } | null | undefined;
  if (format === undefined || format === null || format.type === 'text') return settings;
  if (format.type === 'json_object') {
    settings.systemInstruction = jsonObjectInstruction;
    return settings;
  }
  if (format.type !== 'json_schema' || format.json_schema?.schema === undefined) {
    reportUnsupportedParameter('response_format', `response_format of type "${String(format.type)}" has no Anthropic equivalent`, call, provider);
    return settings;
  }
  const schema = format.json_schema;
  if (tools.length > 0) {
    settings.systemInstruction = `Answer with one valid JSON object that matches this JSON Schema, and nothing else (no prose, no Markdown code fences):\n${JSON.stringify(schema.schema)}`;
    return settings;
  }
  if (noForcing) {
    // Structured outputs: the answer is JSON the schema holds, as its text.
    settings.outputFormat = { type: 'json_schema', schema: schema.schema ?? emptySchema };
    return settings;
  }
  const name = typeof schema.name === 'string' && toolNamePattern.test(schema.name) ? schema.name : 'json_response';
  settings.tools = [
    {
      name,
      description: schema.description ?? 'Give your answer by calling this tool: its input is the answer, as JSON matching the schema.',
      input_schema: schema.schema ?? emptySchema,
    },
  ];
  settings.toolChoice = { type: 'tool', name, disable_parallel_tool_use: true };
  settings.jsonToolName = name;
  return settings;
}
