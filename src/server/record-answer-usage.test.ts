import { describe, expect, it } from 'vitest';
import { recordAnswerUsage } from './record-answer-usage.js';
import { newRequestState } from './request-state.js';

/** The text metering counts for an answer without usage. */
function deliveredOf(answer: unknown): string | undefined {
  const state = newRequestState('req-1', '/v1/chat/completions');
  recordAnswerUsage(state, undefined, () => answer);
  return state.delivered?.text();
}

describe('recordAnswerUsage', () => {
  it("takes the upstream's usage when it gave one, and leaves the answer unread", () => {
    const state = newRequestState('req-1', '/v1/chat/completions');
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    recordAnswerUsage(state, usage, () => {
      throw new Error('read');
    });
    expect(state.usage).toBe(usage);
    expect(state.delivered).toBeUndefined();
  });

  it("reads every chat choice's content (text parts too), refusal, reasoning, tool calls and legacy function call", () => {
    const answer = {
      choices: [
        { message: { content: 'Hello. ', reasoning_content: 'Thought. ', tool_calls: [{ function: { name: 'lookup', arguments: '{"q":1}' } }, null, { function: { name: 7 } }] } },
        { message: { content: [{ type: 'text', text: 'Part one, ' }, null, { type: 'text', text: 'part two. ' }], refusal: 'No. ', function_call: { name: 'legacy', arguments: '{}' } } },
        null,
        { message: null },
      ],
    };
    expect(deliveredOf(answer)).toBe('Hello. Thought. lookup{"q":1}Part one, part two. No. legacy{}');
  });

  it('reads reasoning sent as `reasoning` (vLLM, OpenRouter), and the same text sent under both names once', () => {
    const answer = { choices: [{ message: { content: 'Answer.', reasoning: 'Thought. ' } }, { message: { content: 'Again.', reasoning_content: 'Once. ', reasoning: 'Once. ' } }] };
    expect(deliveredOf(answer)).toBe('Answer.Thought. Again.Once. ');
  });

  it("reads a legacy completion's choices' text", () => {
    expect(deliveredOf({ object: 'text_completion', choices: [{ text: 'One. ' }, { text: 'Two.' }] })).toBe('One. Two.');
  });

  it('delivers nothing to count for an answer of another shape, or one that cannot be read', () => {
    for (const answer of [null, 'text', {}, { choices: 'none' }, { choices: [{ message: { content: 5 } }] }]) expect(deliveredOf(answer)).toBe('');
    const state = newRequestState('req-1', '/v1/completions');
    recordAnswerUsage(state, undefined, () => JSON.parse('not json'));
    expect(state.delivered?.text()).toBe('');
  });
});
