import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { MockOpenAIUpstream } from './mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './start-relay.js';

export interface TwoUpstreams {
  upstreamA: MockOpenAIUpstream;
  upstreamB: MockOpenAIUpstream;
  /** The relay the running test started, if any (closed after each test). */
  relay(): StartedRelay | undefined;
  /** Starts a relay with providers "a" and "b" (the two mocks) and the given extra relay.yaml. */
  startWith(yaml: string, environment?: Record<string, string>): Promise<{ relay: StartedRelay; client: OpenAI; directory: string }>;
  /** Starts a relay from a folder of the test's own (its relay.yaml written already). */
  startIn(directory: string, environment?: Record<string, string>): Promise<StartedRelay>;
}

/**
 * Two OpenAI-compatible mock upstreams for a test file, started before its tests and stopped after
 * them, and the relays its tests start in front of them, closed after each test (the mocks' scripts
 * and records reset with them).
 */
export function useTwoUpstreams(prefix: string): TwoUpstreams {
  const upstreamA = new MockOpenAIUpstream();
  const upstreamB = new MockOpenAIUpstream();
  let current: StartedRelay | undefined;
  beforeAll(async () => {
    await upstreamA.start();
    await upstreamB.start();
  });
  afterAll(async () => {
    await upstreamA.stop();
    await upstreamB.stop();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
    upstreamA.reset();
    upstreamB.reset();
  });
  const startIn = async (directory: string, environment: Record<string, string> = {}) => {
    current = await startRelay(environment, directory);
    return current;
  };
  return {
    upstreamA,
    upstreamB,
    relay: () => current,
    startIn,
    async startWith(yaml, environment = {}) {
      const directory = mkdtempSync(join(tmpdir(), prefix));
      writeFileSync(
        join(directory, 'relay.yaml'),
        `providers:\n  a: { type: openai, baseUrl: "${upstreamA.url}", apiKey: key-a-0123456789 }\n  b: { type: openai, baseUrl: "${upstreamB.url}", apiKey: key-b-0123456789 }\n${yaml}`,
      );
      const relay = await startIn(directory, environment);
      return { relay, client: new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 }), directory };
    },
  };
}
