import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI, { AuthenticationError } from 'openai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRelayStore } from '../src/store/memory-relay-store.js';
import type { CanaryStore, DashboardSessionStore } from '../src/store/relay-store.js';
import { ensureDashboardBuilt } from './support/ensure-dashboard-built.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/*
 * The dashboard in a real browser (the system's Chromium, headless, driven by playwright-core)
 * against a relay in this process with two mock upstreams and a canary route: sign in, create a
 * key and use it with the OpenAI SDK, see it in usage and the charts, revoke it, move the canary,
 * and check what the page must never do (talk to another host, keep the key where scripts or URLs
 * can see it, break its own Content-Security-Policy). Screenshots of every page, at desktop and
 * phone widths, go to test-results/dashboard/.
 */

/** The system's Chromium (apt install chromium); RELAY_TEST_CHROMIUM points elsewhere. */
const chromiumPath = process.env.RELAY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const screenshots = fileURLToPath(new URL('../test-results/dashboard/', import.meta.url));
const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };

const stable = new MockOpenAIUpstream();
const candidate = new MockOpenAIUpstream();
let relay: StartedRelay;
let context: BrowserContext;
let page: Page;
let profile: string;
const requested: string[] = [];
const navigated: string[] = [];
const consoleProblems: string[] = [];
/** Secrets the page must never leak, filled in as the test learns them. */
const secrets = [masterKey];
let created: { id: string; secret: string };
/** While true, the store refuses canary writes, as a database that went away would. */
let canaryWritesFail = false;
/** While true, the store cannot delete a dashboard session (the database is unreachable). */
let sessionDeletesFail = false;

/** The relay's store, in memory, with canary writes and session deletes that the flags above turn into errors. */
function storeWithFlakyCanaryWrites(): MemoryRelayStore {
  const store = new MemoryRelayStore();
  const sessions = store.sessions;
  const flakySessions: DashboardSessionStore = {
    create: (record) => sessions.create(record),
    find: (idSha256, now) => sessions.find(idSha256, now),
    delete: (idSha256) => (sessionDeletesFail ? Promise.reject(new Error('the database is unreachable')) : sessions.delete(idSha256)),
    prune: (now, keep) => sessions.prune(now, keep),
  };
  (store as { sessions: DashboardSessionStore }).sessions = flakySessions;
  const canaries = store.canaries;
  const refusing: CanaryStore = {
    get: (model, fingerprint) => canaries.get(model, fingerprint),
    compareAndSet: (state) => (canaryWritesFail ? Promise.reject(new Error('the database is unreachable')) : canaries.compareAndSet(state)),
    addSamples: (model, fingerprint, interval, samples) => canaries.addSamples(model, fingerprint, interval, samples),
    samples: (model, fingerprint, interval) => canaries.samples(model, fingerprint, interval),
    pruneSamples: (model, fingerprint, interval) => canaries.pruneSamples(model, fingerprint, interval),
  };
  (store as { canaries: CanaryStore }).canaries = refusing;
  return store;
}

async function admin<T>(path: string, method = 'GET'): Promise<T> {
  const response = await request(`${relay.url}${path}`, { method, headers: { authorization: `Bearer ${masterKey}` } });
  return (await response.body.json()) as T;
}

async function shoot(name: string): Promise<void> {
  await page.setViewportSize(desktop);
  await page.screenshot({ path: join(screenshots, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(phone);
  // Let charts follow the new width (ResizeObserver) before the picture.
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(screenshots, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(desktop);
  await page.waitForTimeout(150);
}

/** Moves to a page through the menu, as a user would. */
async function open(title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: title, exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(title);
}

const browserMissing = !existsSync(chromiumPath);
if (browserMissing && process.env.REQUIRE_SERVICES === '1') {
  describe('dashboard in a browser', () => {
    it(`has Chromium at ${chromiumPath} (REQUIRE_SERVICES=1)`, () => {
      throw new Error(`${chromiumPath} does not exist: install it (apt-get install chromium) to run the dashboard's browser tests`);
    });
  });
} else if (browserMissing) {
  console.log(`skipping the dashboard browser tests: ${chromiumPath} does not exist (install chromium; set REQUIRE_SERVICES=1 to make this a failure)`);
  describe.skip('dashboard in a browser', () => {
    it('needs Chromium', () => {});
  });
} else {
  describe('dashboard in a browser', () => {
    beforeAll(async () => {
      ensureDashboardBuilt();
      rmSync(screenshots, { recursive: true, force: true });
      mkdirSync(screenshots, { recursive: true });
      await stable.start();
      await candidate.start();
      const directory = mkdtempSync(join(tmpdir(), 'relay-dashboard-'));
      writeFileSync(
        join(directory, 'relay.yaml'),
        [
          'providers:',
          `  stable: { type: openai, baseUrl: "${stable.url}", apiKey: stable-key-0123456789 }`,
          `  candidate: { type: openai, baseUrl: "${candidate.url}", apiKey: candidate-key-0123456789 }`,
          'models:',
          '  gpt-4.1:',
          '    targets: [{ provider: stable }]',
          '    canary:',
          '      targets: [{ provider: candidate }]',
          '      initialWeight: 5',
          '      stepWeight: 10',
          '      maxWeight: 50',
          // No automatic analysis during the test: only the buttons move it.
          '      intervalMs: 3600000',
          'billing:',
          '  prices:',
          '    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }',
          'ledger:',
          '  flushIntervalMs: 100',
          '',
        ].join('\n'),
      );
      relay = await startRelay({}, directory, { store: storeWithFlakyCanaryWrites() });
      profile = mkdtempSync(join(tmpdir(), 'relay-dashboard-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: chromiumPath,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
        viewport: desktop,
        acceptDownloads: true,
        locale: 'en-US',
        timezoneId: 'UTC',
      });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: relay.url });
      context.on('request', (sent) => requested.push(sent.url()));
      page = context.pages()[0] ?? (await context.newPage());
      page.on('framenavigated', (frame) => navigated.push(frame.url()));
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') consoleProblems.push(message.text());
      });
      page.on('pageerror', (error) => consoleProblems.push(error.message));
    }, 240_000);

    afterAll(async () => {
      await context?.close();
      await relay?.close();
      await stable.stop();
      await candidate.stop();
      if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    });

    it('signs in with the master key, by keyboard, into an HttpOnly SameSite=Strict session', async () => {
      await page.goto(`${relay.url}/dashboard`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Relay dashboard');
      await shoot('sign-in');

      await page.getByLabel('Master key').fill('sk-relay-this-is-not-the-master-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Invalid API key/);

      await page.getByLabel('Master key').fill('');
      await page.getByLabel('Master key').focus();
      await page.keyboard.type(masterKey);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');

      const cookies = await context.cookies(relay.url);
      expect(cookies).toEqual([expect.objectContaining({ name: 'relay_session', httpOnly: true, sameSite: 'Strict', path: '/' })]);
      expect(await page.evaluate(() => document.cookie)).not.toContain('relay_session');
      const response = await page.goto(`${relay.url}/dashboard`);
      expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'self'/);
      // A reload keeps the session (the page asks the relay, it stored nothing).
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    });

    it('creates a key with limits and a budget, shows the secret once, and copies it', async () => {
      await open('Keys');
      await page.getByLabel('Name', { exact: true }).fill('e2e-app');
      await page.getByLabel('Models').fill('gpt-*');
      await page.getByLabel('Requests per minute').fill('100');
      await page.getByLabel('Amount').fill('5');
      await page.getByLabel('Period').selectOption('monthly');
      await page.getByRole('button', { name: 'Create key' }).click();

      const secretField = page.getByLabel('New key');
      await expect.poll(() => secretField.inputValue()).toMatch(/^sk-relay-[0-9a-f]{48}$/);
      const secret = await secretField.inputValue();
      secrets.push(secret);
      await page.getByRole('button', { name: 'Copy', exact: true }).click();
      await expect.poll(() => page.locator('.secret-panel [role=status]').textContent()).toMatch(/Copied|Selected/);
      if ((await page.locator('.secret-panel [role=status]').textContent())?.startsWith('Copied')) {
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
      }
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Key e2e-app created/);

      const keys = await admin<{ data: Array<{ id: string; name: string; rpm: number; models: string[]; budget: { amount: number; period: string } }> }>('/admin/keys');
      const stored = keys.data.find((key) => key.name === 'e2e-app');
      expect(stored).toMatchObject({ rpm: 100, models: ['gpt-*'], budget: { amount: 5, currency: 'USD', period: 'monthly' } });
      created = { id: stored!.id, secret };
      await expect.poll(() => page.locator(`tr[data-key-id="${created.id}"]`).textContent()).toContain('100 rpm');
      await shoot('keys');
      await page.getByRole('button', { name: 'I have stored it' }).click();
      expect(await page.getByLabel('New key').count()).toBe(0);
    });

    it('changes a key’s limits and budget in place, keeping its secret', async () => {
      await open('Keys');
      await page.getByRole('button', { name: 'Edit e2e-app' }).click();
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Edit key “e2e-app”');
      expect(await page.getByLabel('Requests per minute').inputValue()).toBe('100');
      expect(await page.getByLabel('Models').inputValue()).toBe('gpt-*');
      await page.getByLabel('Requests per minute').fill('250');
      await page.getByLabel('Parallel requests').fill('4');
      await page.getByLabel('Amount').fill('');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Key e2e-app saved/);
      await expect.poll(() => page.locator(`tr[data-key-id="${created.id}"]`).textContent()).toContain('250 rpm, 4 parallel');
      expect(await page.getByRole('heading', { name: 'Create a key' }).count()).toBe(1);

      const stored = (await admin<{ data: Array<{ id: string; prefix: string; rpm: number; max_parallel: number; models: string[]; budget: unknown }> }>('/admin/keys')).data.find((key) => key.id === created.id);
      // The secret is the same (the next test's requests use it).
      expect(stored).toMatchObject({ prefix: created.secret.slice(0, 13), rpm: 250, max_parallel: 4, models: ['gpt-*'], budget: null });
    });

    it('marks an expired key as expired, revives it with a later expiry, and keeps an expiry an edit did not touch', async () => {
      const create = async (name: string, expiresAt: string) => {
        const response = await request(`${relay.url}/admin/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name, expires_at: expiresAt }),
        });
        return ((await response.body.json()) as { id: string }).id;
      };
      const lapsed = await create('lapsed', '2020-01-01T00:00:30Z');
      const dated = await create('dated', '2031-05-06T07:08:09Z');
      await open('Usage');
      await open('Keys');
      const badge = (id: string) => page.locator(`tr[data-key-id="${id}"] .badge`);
      await expect.poll(() => badge(lapsed).textContent()).toBe('expired');
      expect(await badge(dated).textContent()).toBe('active');

      // Changing only a limit leaves the stored expiry as it was, seconds included.
      await page.getByRole('button', { name: 'Edit dated' }).click();
      expect(await page.getByLabel('Expires').inputValue()).toBe('2031-05-06T07:08');
      await page.getByLabel('Requests per minute').fill('7');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Key dated saved/);
      expect(await admin<{ rpm: number; expires_at: string }>(`/admin/keys/${dated}`)).toMatchObject({ rpm: 7, expires_at: '2031-05-06T07:08:09.000Z' });

      // A later expiry (the browser's time zone is UTC here) makes the key usable again.
      await page.getByRole('button', { name: 'Edit lapsed' }).click();
      await page.getByLabel('Expires').fill('2032-01-02T03:04');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => badge(lapsed).textContent()).toBe('active');
      expect((await admin<{ expires_at: string }>(`/admin/keys/${lapsed}`)).expires_at).toBe('2032-01-02T03:04:00.000Z');
      for (const id of [lapsed, dated]) await admin(`/admin/keys/${id}`, 'DELETE');
    });

    it('shows a key allowed no model as such, and an edit of its limits leaves it allowed none', async () => {
      const response = await request(`${relay.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'parked', models: [] }),
      });
      const parked = ((await response.body.json()) as { id: string }).id;
      await open('Usage');
      await open('Keys');
      const row = page.locator(`tr[data-key-id="${parked}"]`);
      await expect.poll(() => row.locator('td').nth(1).textContent()).toBe('none');

      await page.getByRole('button', { name: 'Edit parked' }).click();
      expect(await page.getByLabel('Models').getAttribute('placeholder')).toBe('no models');
      await page.getByLabel('Requests per minute').fill('3');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Key parked saved/);
      expect(await admin<{ rpm: number; models: string[] | null }>(`/admin/keys/${parked}`)).toMatchObject({ rpm: 3, models: [] });

      // Models written in then cleared again mean every model, as the field says.
      await page.getByRole('button', { name: 'Edit parked' }).click();
      await page.getByLabel('Models').fill('gpt-4.1');
      await page.getByLabel('Models').fill('');
      expect(await page.getByLabel('Models').getAttribute('placeholder')).toBe('all models');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(async () => (await admin<{ models: string[] | null }>(`/admin/keys/${parked}`)).models).toBeNull();
      await admin(`/admin/keys/${parked}`, 'DELETE');
    });

    it('counts the key’s requests, errors included, in the overview’s totals and charts and in usage', async () => {
      const client = new OpenAI({ apiKey: created.secret, baseURL: relay.baseURL, maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hello from the dashboard test' }] });
      expect(completion.choices[0]?.message.content).toBe('echo: Hello from the dashboard test');
      // One refusal by the upstream (whichever side of the canary the key lands on): a 400 that counts as an error.
      const refusal = { kind: 'status' as const, status: 400, body: { error: { message: 'bad request', type: 'invalid_request_error', param: null, code: null } } };
      stable.next(refusal);
      candidate.next(refusal);
      await expect(client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'fail' }] })).rejects.toMatchObject({ status: 400 });
      // The side that did not answer keeps its scripted refusal: drop it.
      stable.reset();
      candidate.reset();
      await expect.poll(async () => (await admin<{ data: Array<{ requests: number }> }>(`/admin/usage?group_by=key&key=${created.id}`)).data[0]?.requests).toBe(2);
      const usage = await admin<{ data: Array<{ errors: number }>; totals: Array<{ errors: number }> }>(`/admin/usage?group_by=day&key=${created.id}`);
      expect(usage.data[0]?.errors).toBe(1);
      expect(usage.totals[0]?.errors).toBe(1);

      await open('Overview');
      await expect
        .poll(async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return page.getByTestId('total-requests').textContent();
        })
        .toBe('2');
      expect(await page.getByTestId('total-errors').textContent()).toMatch(/^1\b/);
      expect(await page.locator('.chart .uplot canvas').count()).toBe(3);
      const today = new Date().toISOString().slice(0, 10);
      const requestsChart = page.getByRole('figure', { name: 'Requests and errors per day' });
      await requestsChart.getByText('Data table').click();
      expect(await requestsChart.locator('tr', { hasText: today }).locator('td').allTextContents()).toEqual(['2', '1']);
      expect(await page.getByRole('img', { name: /Requests and errors per day: 7 days, totals Requests 2, Errors 1/ }).count()).toBe(1);
      await shoot('overview');
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForTimeout(200);
      await page.screenshot({ path: join(screenshots, 'overview-dark-desktop.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });

      await open('Usage');
      const row = page.locator('.usage-table tbody tr', { hasText: 'e2e-app' });
      await expect.poll(() => row.count()).toBe(1);
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 3)).toEqual(['USD', '2', '1']);
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export CSV' }).click();
      const csv = readFileSync((await (await download).path())!, 'utf8');
      expect(csv.split('\r\n')[0]).toBe('group,currency,requests,errors,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,cost,official_cost,savings,savings_percent');
      expect(csv).toContain(`${created.id},USD,2,`);
      await page.getByLabel('Group by').selectOption('model');
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => page.locator('.usage-table tbody tr', { hasText: 'gpt-4.1' }).count()).toBe(1);
      await shoot('usage');
    });

    it('asks before revoking even when Revoke is double-clicked', async () => {
      const response = await request(`${relay.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'double-clicked' }),
      });
      const id = ((await response.body.json()) as { id: string }).id;
      await open('Usage');
      await open('Keys');
      await page.getByRole('button', { name: 'Revoke double-clicked' }).dblclick();
      await expect.poll(() => page.getByRole('button', { name: 'Confirm revoke double-clicked' }).count()).toBe(1);
      // Whatever the second click started has reached the relay by now.
      await page.waitForLoadState('networkidle');
      expect((await admin<{ revoked_at: string | null }>(`/admin/keys/${id}`)).revoked_at).toBeNull();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await admin(`/admin/keys/${id}`, 'DELETE');
    });

    it('revokes the key: the relay refuses it at once', async () => {
      await open('Keys');
      await page.getByRole('button', { name: 'Revoke e2e-app' }).click();
      await page.getByRole('button', { name: 'Confirm revoke e2e-app' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Key e2e-app revoked/);
      await expect.poll(() => page.locator(`tr[data-key-id="${created.id}"]`).count()).toBe(0);
      await page.getByLabel('Show revoked keys').check();
      await expect.poll(() => page.locator(`tr[data-key-id="${created.id}"] .badge`).textContent()).toBe('revoked');
      const client = new OpenAI({ apiKey: created.secret, baseURL: relay.baseURL, maxRetries: 0 });
      await expect(client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'still there?' }] })).rejects.toBeInstanceOf(AuthenticationError);
    });

    it('creates a prepaid account and tops it up, in its currency and in another', async () => {
      await open('Accounts');
      await page.getByLabel('Name', { exact: true }).fill('e2e-team');
      await page.getByLabel('Currency of the balance').selectOption('EUR');
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Account e2e-team created/);
      const accountId = async () => (await admin<{ data: Array<{ id: string; name: string; currency: string; balance: number }> }>('/admin/accounts')).data.find((account) => account.name === 'e2e-team')!;
      const { id } = await accountId();
      const balanceCell = page.locator(`tr[data-account-id="${id}"] [data-testid=account-balance]`);
      await expect.poll(() => balanceCell.textContent()).toBe('€0.00');

      await page.getByLabel('Account', { exact: true }).selectOption(id);
      await page.getByLabel('Amount').fill('10');
      await page.getByLabel('Note').fill('invoice 2026-117');
      await page.getByRole('button', { name: 'Top up', exact: true }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toBe('e2e-team topped up: balance €0.00 → €10.00.');
      await expect.poll(() => balanceCell.textContent()).toBe('€10.00');

      // Dollars, converted at the relay's rates into the account's euros.
      await page.getByLabel('Amount').fill('2');
      await page.getByLabel('Currency', { exact: true }).selectOption('USD');
      await page.getByRole('button', { name: 'Top up', exact: true }).click();
      await expect.poll(async () => (await accountId()).balance).toBeGreaterThan(10);
      const stored = await accountId();
      expect(stored).toMatchObject({ currency: 'EUR' });
      expect(stored.balance).toBeLessThan(12);
      const euros = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR', minimumFractionDigits: 2, maximumFractionDigits: 6 });
      await expect.poll(() => balanceCell.textContent()).toBe(euros.format(stored.balance));

      await page.getByRole('button', { name: 'Balance history of e2e-team' }).click();
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Balance history: e2e-team');
      const history = page.locator('tr[data-transaction-id]');
      await expect.poll(() => history.count()).toBe(2);
      expect(await history.nth(0).locator('td').allTextContents()).toEqual([expect.any(String), `+${euros.format(stored.balance - 10)}`, euros.format(stored.balance), 'top-up of 2 USD']);
      expect(await history.nth(1).locator('td').allTextContents()).toEqual([expect.any(String), '+€10.00', '€10.00', 'invoice 2026-117']);
      await shoot('accounts');
    });

    it('shows each deployment’s health', async () => {
      await open('Upstreams');
      const stableRow = page.locator('tr[data-deployment="stable/gpt-4.1"]');
      await expect.poll(() => stableRow.count()).toBe(1);
      expect(await stableRow.locator('.badge').textContent()).toBe('healthy');
      await shoot('upstreams');
    });

    it('moves the canary with its buttons, and the state follows', async () => {
      await open('Canary');
      const card = page.locator('[data-canary="gpt-4.1"]');
      await expect.poll(() => card.getByTestId('canary-phase').textContent()).toBe('progressing');
      expect(await card.getByTestId('canary-weight').textContent()).toBe('5 %');

      // By keyboard: focus the button, press Enter.
      await card.getByRole('button', { name: 'Pause' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => card.getByTestId('canary-phase').textContent()).toBe('paused');
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/gpt-4\.1: paused, candidate weight 5 %/);
      expect((await admin<{ phase: string }>('/admin/canaries/gpt-4.1')).phase).toBe('paused');

      // Promote moves every request to the candidate: the first press asks, the second (in the same
      // place) confirms. A third there, as a double-click's second half would be, does nothing: the
      // Roll back button must not have moved under the pointer.
      const promote = card.getByRole('button', { name: 'Promote gpt-4.1', exact: true });
      const box = (await promote.boundingBox())!;
      const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
      await page.mouse.click(x, y);
      expect(await card.getByTestId('canary-phase').textContent()).toBe('paused');
      await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Confirm promote gpt-4.1');
      await page.mouse.click(x, y);
      await expect.poll(() => card.getByTestId('canary-weight').textContent()).toBe('100 %');
      expect(await card.getByTestId('canary-phase').textContent()).toBe('promoted');
      const underPointer = () => page.evaluate(([left, top]) => {
        const button = document.elementFromPoint(left!, top!)?.closest('button');
        return { label: button?.textContent, disabled: button?.disabled };
      }, [x, y]);
      await expect.poll(underPointer).toEqual({ label: 'Promote', disabled: true });
      await page.mouse.click(x, y);
      const state = await admin<{ phase: string; weight: number; history: Array<{ action: string }> }>('/admin/canaries/gpt-4.1');
      expect(state).toMatchObject({ phase: 'promoted', weight: 100 });
      expect(state.history.map((check) => check.action)).toEqual(['pause', 'promote']);
      expect(await card.locator('table tbody tr').count()).toBe(2);
      await shoot('canary');
    });

    it('says when a canary change is not in the database yet, until the relay has written it', async () => {
      const card = page.locator('[data-canary="gpt-4.1"]');
      canaryWritesFail = true;
      await card.getByRole('button', { name: 'Roll back gpt-4.1', exact: true }).click();
      await card.getByRole('button', { name: 'Confirm roll back gpt-4.1' }).click();
      await expect.poll(() => card.getByTestId('canary-phase').textContent()).toBe('rolled back');
      await expect.poll(() => card.locator('.notice').count()).toBe(1);
      expect(await card.locator('.notice').textContent()).toContain('could not write the canary’s last change to the database');
      // The relay routes by the change meanwhile.
      expect(await admin<{ phase: string; synced: boolean }>('/admin/canaries/gpt-4.1')).toMatchObject({ phase: 'rolled_back', synced: false });
      await shoot('canary-not-synced');
      canaryWritesFail = false;
      // The relay writes it within a second; the page shows so at its next load.
      await expect.poll(async () => (await admin<{ synced: boolean }>('/admin/canaries/gpt-4.1')).synced, { timeout: 5_000 }).toBe(true);
      await open('Usage');
      await open('Canary');
      await expect.poll(() => card.getByTestId('canary-phase').textContent()).toBe('rolled back');
      expect(await card.locator('.notice').count()).toBe(0);
    });

    it('talked only to the relay, kept the keys out of storage and URLs, and broke no CSP rule', async () => {
      const origin = new URL(relay.url).origin;
      expect(requested.length).toBeGreaterThan(10);
      expect(requested.filter((url) => new URL(url).origin !== origin)).toEqual([]);
      for (const secret of secrets) {
        expect(requested.filter((url) => url.includes(secret))).toEqual([]);
        expect(navigated.filter((url) => url.includes(secret))).toEqual([]);
      }
      const storage = await page.evaluate(() => ({ local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }), url: location.href }));
      for (const secret of secrets) {
        expect(storage.local).not.toContain(secret);
        expect(storage.session).not.toContain(secret);
        expect(storage.url).not.toContain(secret);
      }
      expect(consoleProblems.filter((text) => /Content.Security.Policy|Refused to/i.test(text))).toEqual([]);
      // The only console errors allowed are the failed requests the test made on purpose (the wrong key's 401).
      expect(consoleProblems.filter((text) => !/401 \(Unauthorized\)/.test(text))).toEqual([]);
    });

    it('keeps making changes after the browser signed in again in another tab', async () => {
      const other = await context.newPage();
      await other.goto(`${relay.url}/dashboard`);
      await other.getByRole('button', { name: 'Sign out' }).click();
      await other.getByLabel('Master key').fill(masterKey);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => other.getByRole('navigation', { name: 'Dashboard' }).count()).toBe(1);
      await other.close();
      await page.bringToFront();
      // This tab's cookie is now the new session's; the token it holds was the ended session's.
      await open('Accounts');
      await page.getByLabel('Name', { exact: true }).fill('second-tab-team');
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => page.locator('.announcement').textContent()).toMatch(/Account second-tab-team created/);
      const accounts = await admin<{ data: Array<{ name: string }> }>('/admin/accounts');
      expect(accounts.data.map((account) => account.name)).toContain('second-tab-team');
    });

    it('says so when signing out fails, and stays signed in', async () => {
      sessionDeletesFail = true;
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/^Signing out failed: .+ You are still signed in\.$/);
      expect(await page.getByRole('navigation', { name: 'Dashboard' }).count()).toBe(1);
      // The session is indeed still there.
      expect(await page.evaluate(async () => (await fetch('/admin/keys')).status)).toBe(200);
      sessionDeletesFail = false;
    });

    it('signs out: the session cookie no longer opens the admin API', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Relay dashboard');
      const status = await page.evaluate(async () => (await fetch('/admin/keys')).status);
      expect(status).toBe(401);
    });

    it('says the session has ended when the browser dropped its cookie, not what an API client is told', async () => {
      await page.getByLabel('Master key').fill(masterKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('navigation', { name: 'Dashboard' }).count()).toBe(1);
      // The keys page loads once and does not refresh by itself: nothing else asks the relay meanwhile.
      await open('Keys');
      await expect.poll(() => page.getByText('Loading…').count()).toBe(0);
      // What the browser does when the session's 12 hours are over: the cookie is gone.
      await context.clearCookies();
      await page.getByLabel('Show revoked keys').click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Relay dashboard');
      const notice = await page.locator('.notice').textContent();
      expect(notice).toMatch(/^Your session has ended/);
      expect(notice).not.toMatch(/API key|Authorization/);
    });
  });
}
