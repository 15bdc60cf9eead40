import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'undici';
import { maskUrlPassword } from '../observability/mask-url-password.js';

export interface AdminClientOptions {
  /** Base URL of a running relay (default http://127.0.0.1:$PORT, or RELAY_URL); a trailing /v1 is dropped. */
  url?: string;
  /** The master key (default RELAY_MASTER_KEY, or the first-run key file). */
  key?: string;
}

/**
 * The key the admin commands send: `--key`, else RELAY_MASTER_KEY, else the master key a relay
 * started without one generated into its data directory (`$RELAY_DATA_DIR/master.key`, `./data`
 * by default), so the CLI works beside a relay started with nothing configured.
 */
function adminKey(explicit: string | undefined): string {
  const configured = explicit ?? process.env.RELAY_MASTER_KEY?.trim();
  if (configured !== undefined && configured !== '') return configured;
  const file = resolve(process.env.RELAY_DATA_DIR?.trim() || 'data', 'master.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(`no admin key: set RELAY_MASTER_KEY or pass --key (no generated key at ${file} either)`);
}

/**
 * The CLI's way to a running relay: the admin API over HTTP, so that a command acts on the live
 * state of the process (canaries, caches) and, with Redis and Postgres, on every replica.
 */
export async function callAdmin(path: string, options: AdminClientOptions & { method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'; body?: unknown; accept?: string }): Promise<{ status: number; body: unknown; text: string }> {
  // The base URL clients use (…/v1) names the same relay: the admin API is beside /v1, not under it.
  const base = (options.url ?? process.env.RELAY_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`).replace(/\/+$/, '').replace(/\/v1$/, '');
  const key = adminKey(options.key);
  const response = await request(`${base}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      authorization: `Bearer ${key}`,
      accept: options.accept ?? 'application/json',
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  }).catch((error: unknown) => {
    const cause = error instanceof Error ? error.message : String(error);
    throw new Error(`no relay answered at ${base.includes('@') ? maskUrlPassword(base) : base} (${cause}): start it, or point the CLI at it with RELAY_URL or --url`);
  });
  const text = await response.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // CSV and other text answers stay text
  }
  if (response.statusCode >= 400) {
    const message = (body as { error?: { message?: string } })?.error?.message ?? text;
    throw new Error(`${options.method ?? 'GET'} ${path} answered ${response.statusCode}: ${message}`);
  }
  return { status: response.statusCode, body, text };
}
