import OpenAI, { type APIError } from 'openai';

/**
 * A `gpt-4.1` chat stream (`max_tokens` 50, "Hello.") through the official SDK, read to its end:
 * 'ok', or the refusal's code (its status, else its message, when it has none).
 */
export async function streamGpt41(base: string, key: string): Promise<string> {
  try {
    const chunks = await new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4.1', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Hello.' }] });
    for await (const chunk of chunks) void chunk;
    return 'ok';
  } catch (error) {
    return (error as APIError).code ?? String((error as APIError).status ?? (error as Error).message);
  }
}
