import { MockAnthropicUpstream } from './mock-anthropic-upstream.js';
import { MockGeminiUpstream } from './mock-gemini-upstream.js';
import { MockOpenAIUpstream } from './mock-openai-upstream.js';
import { startRelay, type StartedRelay } from './start-relay.js';

/** The upstream keys the relay is given, one per vendor. */
export interface VendorKeys {
  holysheep: string;
  anthropic: string;
  gemini: string;
}

/**
 * One relay in front of three upstreams, each a mock speaking its vendor's wire format: HolySheep
 * (OpenAI-compatible) for GPT models, Anthropic for Claude, Gemini for Gemini. `start` starts the
 * mocks and the relay (in this process), `stop` closes them all.
 */
export function threeVendors(keys: VendorKeys) {
  const holysheep = new MockOpenAIUpstream();
  const anthropic = new MockAnthropicUpstream();
  const gemini = new MockGeminiUpstream(keys.gemini);
  let relay: StartedRelay | undefined;
  return {
    holysheep,
    anthropic,
    gemini,
    async start(): Promise<StartedRelay> {
      await Promise.all([holysheep.start(), anthropic.start(), gemini.start()]);
      relay = await startRelay({
        HOLYSHEEP_API_KEY: keys.holysheep,
        HOLYSHEEP_BASE_URL: holysheep.url,
        ANTHROPIC_API_KEY: keys.anthropic,
        ANTHROPIC_BASE_URL: anthropic.origin,
        GEMINI_API_KEY: keys.gemini,
        GEMINI_BASE_URL: gemini.origin,
      });
      return relay;
    },
    async stop(): Promise<void> {
      await relay?.close();
      await Promise.all([holysheep.stop(), anthropic.stop(), gemini.stop()]);
    },
  };
}
