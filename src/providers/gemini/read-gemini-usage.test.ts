import { describe, expect, it } from 'vitest';
import { readGeminiUsage } from './read-gemini-usage.js';

describe('readGeminiUsage', () => {
  it('counts thinking as completion and tool-use prompts as prompt tokens', () => {
    expect(readGeminiUsage({ promptTokenCount: 10, toolUsePromptTokenCount: 5, candidatesTokenCount: 7, thoughtsTokenCount: 3, totalTokenCount: 25 })).toEqual({
      prompt_tokens: 15,
      completion_tokens: 10,
      total_tokens: 25,
      completion_tokens_details: { reasoning_tokens: 3 },
    });
  });

  it('adds up a missing total and gives nothing for metadata without a prompt count', () => {
    expect(readGeminiUsage({ promptTokenCount: 4, candidatesTokenCount: 2 })).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    expect(readGeminiUsage({ totalTokenCount: 3 })).toBeUndefined();
    expect(readGeminiUsage(undefined)).toBeUndefined();
  });
});
