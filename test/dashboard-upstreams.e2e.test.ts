import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt } from './support/ensure-dashboard-built.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/*
 * The Upstreams page in a real browser (the system's Chromium, through playwright-core) while a
 * deployment goes through its circuit's states: healthy, ejected, and probing once its cooldown is over.
 */

const chromiumPath = process.env.RELAY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const upstream = new MockOpenAIUpstream();
let relay: StartedRelay;
let context: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

interface Deployment {
  id: string;
  state: string;
}

async function deployments(): Promise<Deployment[]> {
  const response = await request(`${relay.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } });
  return ((await response.body.json()) as { data: Deployment[] }).data;
}

describe.skipIf(!existsSync(chromiumPath) && process.env.REQUIRE_SERVICES !== '1')('the Upstreams page in a browser', () => {
  beforeAll(async () => {
    ensureDashboardBuilt();
    await upstream.start();
    const directory = mkdtempSync(join(tmpdir(), 'relay-dashboard-upstreams-'));
    writeFileSync(join(directory, 'relay.yaml'), `providers:\n  a: { type: openai, baseUrl: "${upstream.url}", apiKey: a-key-0123456789 }\nmodels:\n  gpt-4.1: { targets: [{ provider: a }] }\n`);
    relay = await startRelay({ MAX_RETRIES: '0' }, directory);
    profile = mkdtempSync(join(tmpdir(), 'relay-dashboard-upstreams-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      locale: 'en-US',
      timezoneId: 'UTC',
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await relay?.close();
    await upstream.stop();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  it('shows a deployment whose cooldown is over as probing, as the admin API and /metrics report it', async () => {
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    // Five failures in a row eject the deployment, for the first cooldown (5 s).
    for (let failure = 0; failure < 5; failure++) {
      upstream.next({ kind: 'status', status: 500 });
      await expect(client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow();
    }
    expect((await deployments()).find((deployment) => deployment.id === 'a/gpt-4.1')?.state).toBe('open');
    // After its cooldown the circuit lets one probe through: half-open.
    await expect.poll(async () => (await deployments()).find((deployment) => deployment.id === 'a/gpt-4.1')?.state, { timeout: 15_000, interval: 250 }).toBe('half_open');
    const metrics = await (await request(`${relay.url}/metrics`)).body.text();
    expect(metrics).toContain('relay_circuit_state{deployment="a/gpt-4.1"} 1');

    await page.goto(`${relay.url}/dashboard`);
    await page.getByLabel('Master key').fill(masterKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Upstreams', exact: true }).click();
    const row = page.locator('tr[data-deployment="a/gpt-4.1"]');
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(1).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; page errors: ${pageErrors.join(' / ')}; page: ${(await page.locator('body').textContent()) ?? ''}`);
    });
    expect(await row.locator('.badge').textContent()).toBe('probing');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
