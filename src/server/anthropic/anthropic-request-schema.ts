import { Type } from '@sinclair/typebox';
import { ModelField } from '../request-schemas.js';

/**
 * Inbound schemas of the Anthropic front door, checked by Fastify before a handler runs. Lenient
 * like the OpenAI ones: only what the relay itself reads is checked, and every other field is
 * passed on (untouched to an Anthropic upstream, translated or reported otherwise).
 * @see https://docs.anthropic.com/en/api/messages
 */

const Block = Type.Object({ type: Type.String({ minLength: 1 }) }, { additionalProperties: true });

/** A content block; one that holds content (a tool result's) holds a string, blocks, or a block (a server tool's error). */
const ContentBlock = Type.Object(
  { type: Type.String({ minLength: 1 }), content: Type.Optional(Type.Union([Type.String(), Type.Array(Block), Block])) },
  { additionalProperties: true },
);

const Message = Type.Object(
  {
    role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
    content: Type.Union([Type.String(), Type.Array(ContentBlock)]),
  },
  { additionalProperties: true },
);

/**
 * A tool: a custom tool (no `type`, or `custom`) has a name, which a translation sends as the
 * function's; a tool of another type, which Anthropic's servers run (web search, code execution, an
 * MCP connector's `mcp_toolset`, which names its server in `mcp_server_name`), may have none.
 * @see https://docs.anthropic.com/en/docs/agents-and-tools/mcp-connector
 */
const Tool = Type.Union([
  Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
  Type.Object({ type: Type.String({ minLength: 1, pattern: '^(?!custom$)' }) }, { additionalProperties: true }),
]);

/** What the translations read beyond the messages: the system prompt (text or blocks) and the tools. */
const SystemAndTools = {
  system: Type.Optional(Type.Union([Type.String(), Type.Array(Block)])),
  tools: Type.Optional(Type.Array(Tool)),
};

export const AnthropicMessagesBody = Type.Object(
  {
    model: ModelField,
    max_tokens: Type.Integer({ minimum: 1 }),
    messages: Type.Array(Message, { minItems: 1 }),
    ...SystemAndTools,
    stream: Type.Optional(Type.Boolean()),
    /** The relay's own field: models to try if this one fails; removed before the request goes upstream. */
    fallbacks: Type.Optional(Type.Array(ModelField, { maxItems: 5 })),
  },
  { additionalProperties: true },
);

export const AnthropicCountTokensBody = Type.Object(
  {
    model: ModelField,
    messages: Type.Array(Message, { minItems: 1 }),
    ...SystemAndTools,
  },
  { additionalProperties: true },
);
