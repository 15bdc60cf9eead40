import { describe, expect, it } from 'vitest';
import { knownOutputLimit } from './model-output-limits.js';

describe('knownOutputLimit', () => {
  it.each([
    ['gpt-4o', 16_384],
    ['gpt-4o-2024-11-20', 16_384],
    ['gpt-4o-mini', 16_384],
    ['gpt-4.1', 32_768],
    ['gpt-4.1-nano-2025-04-14', 32_768],
    ['gpt-3.5-turbo', 4_096],
    ['gemini-2.5-flash', 65_536],
    ['gemini-2.5-pro', 65_536],
    ['gemini-2.5-flash-lite', 65_536],
    ['gemini-3-flash-preview', 65_536],
    ['gemini-3.1-pro-preview', 65_536],
    ['gemini-3.1-flash-lite', 65_536],
    ['gemini-3.5-flash', 65_536],
    ['gemini-3.5-flash-lite', 65_536],
    ['gemini-3.6-flash', 65_536],
    ['gemini-3.7-flash', 65_536],
    ['gemini-3.8-flash', 65_536],
    ['claude-sonnet-4-0', 64_000],
    ['claude-sonnet-4-20250514', 64_000],
    ['claude-sonnet-4.5', 64_000],
    ['claude-opus-4', 32_000],
    ['claude-opus-4-1-20250805', 32_000],
    ['claude-opus-4-5', 64_000],
    ['claude-haiku-4.5', 64_000],
    ['claude-3-5-haiku-latest', 8_192],
    ['claude-3-opus-20240229', 4_096],
  ])('knows %s: %i', (model, limit) => {
    expect(knownOutputLimit(model)).toBe(limit);
  });

  it.each([
    // Its first snapshot stops at 4096: no prefix match.
    'gpt-4o-2024-05-13',
    // Once 8K, now an alias of a model with a far larger limit.
    'deepseek-chat',
    // HolySheep's public name: whatever serves it there, its limit is not documented.
    'deepseek-v3.2',
    // Later Claude versions, whose limits are larger than their family's first.
    'claude-opus-4-6',
    'claude-sonnet-4-6',
    // Gemini's image models write fewer tokens than its text models, and their limits are not confirmed here.
    'gemini-3.1-flash-image-preview',
    'gemini-2.5-flash-image',
    'gpt-4.1-turbo-preview',
    'my-local-model',
  ])('does not guess %s', (model) => {
    expect(knownOutputLimit(model)).toBeUndefined();
  });
});
