import { Type } from '@sinclair/typebox';

/**
 * Inbound request schemas, checked by Fastify's compiled validator before a handler runs. They are
 * lenient on purpose: only what the relay itself or one of its translations reads is checked (the
 * shapes of content parts, tool calls and tools among them, so that a malformed one is a 400
 * naming the field whatever the upstream, never a failure inside a translation); every other
 * field is passed to the upstream untouched, so a new OpenAI parameter works the day it ships.
 */

/**
 * A model name: not empty, and without control characters (line breaks, tabs, NUL, DEL). No real
 * model has one, and a name with a line break is refused here rather than matched against globs,
 * prices and upstream paths.
 */
export const ModelField = Type.String({ minLength: 1, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'a model name without control characters (line breaks, tabs)' });

/** A content part or block: an object with a type (what it holds is the upstream's to judge). */
export const TypedObject = Type.Object({ type: Type.String({ minLength: 1 }) }, { additionalProperties: true });

/**
 * A chat message, checked as far as the translations to other APIs read it: content is a string,
 * null or content parts; tool calls name their function. Requests OpenAI itself would refuse for
 * their shape are refused here with the path of the field, before any upstream call.
 */
const ChatMessageShape = Type.Object(
  {
    role: Type.String({ minLength: 1 }),
    content: Type.Optional(Type.Union([Type.String(), Type.Null(), Type.Array(TypedObject)])),
    tool_calls: Type.Optional(
      Type.Union([
        Type.Null(),
        Type.Array(
          Type.Object(
            { id: Type.Optional(Type.String()), function: Type.Object({ name: Type.String({ minLength: 1 }), arguments: Type.Optional(Type.String()) }, { additionalProperties: true }) },
            { additionalProperties: true },
          ),
        ),
      ]),
    ),
  },
  { additionalProperties: true },
);

export const ChatCompletionBody = Type.Object(
  {
    model: ModelField,
    messages: Type.Array(ChatMessageShape, { minItems: 1 }),
    tools: Type.Optional(Type.Union([Type.Null(), Type.Array(TypedObject)])),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    stream_options: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
    max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    max_completion_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    /** The relay's own field: models to try if this one fails; removed before the request goes upstream. */
    fallbacks: Type.Optional(Type.Array(ModelField, { maxItems: 5 })),
  },
  { additionalProperties: true },
);

export const EmbeddingsBody = Type.Object(
  {
    model: ModelField,
    input: Type.Union([Type.String(), Type.Array(Type.Unknown(), { minItems: 1 })]),
  },
  { additionalProperties: true },
);

/** `model` is optional here, as at OpenAI (`omni-moderation-latest`). */
export const ModerationsBody = Type.Object(
  {
    model: Type.Optional(ModelField),
    input: Type.Union([Type.String(), Type.Array(Type.Unknown(), { minItems: 1 })]),
  },
  { additionalProperties: true },
);

export const CompletionsBody = Type.Object(
  {
    model: ModelField,
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  },
  { additionalProperties: true },
);

/**
 * `/v1/responses`. `input` may be left out only where the upstream serves the Responses API itself
 * (with a `previous_response_id` or a stored `prompt`); the translation to chat refuses a request without it.
 */
export const ResponsesBody = Type.Object(
  {
    model: ModelField,
    input: Type.Optional(Type.Union([Type.String(), Type.Array(Type.Object({}, { additionalProperties: true }))])),
    instructions: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    max_output_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    tools: Type.Optional(Type.Array(Type.Object({ type: Type.String({ minLength: 1 }) }, { additionalProperties: true }))),
    /** The relay's own field: models to try if this one fails; never sent upstream. */
    fallbacks: Type.Optional(Type.Array(ModelField, { maxItems: 5 })),
  },
  { additionalProperties: true },
);
