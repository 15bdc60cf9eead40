import { randomBytes } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { hashKey } from '../../auth/key-store.js';
import { parseMoney, type Currency } from '../../billing/money.js';
import { RelayError } from '../../spec/relay-error.js';
import type { ApiKeyPatch, ApiKeyRecord, KeyBudget } from '../../store/relay-store.js';
import type { RelayServices } from '../relay-services.js';
import { budgetKey, budgetPeriod } from '../../limits/admission-control.js';
import { countBudgetSpend } from '../restore-counters.js';
import { keyView } from './admin-key-view.js';
import { CreateKeyBody, UpdateKeyBody } from './admin-schemas.js';

type KeyFields = Static<typeof UpdateKeyBody>;

/** A new client key: `sk-relay-` and 48 hex digits (192 random bits). */
export function newSecret(): { secret: string; sha256: string; prefix: string } {
  const secret = `sk-relay-${randomBytes(24).toString('hex')}`;
  return { secret, sha256: hashKey(secret), prefix: secret.slice(0, 13) };
}

function keyNotFound(id: string): RelayError {
  return new RelayError(`No key with id "${id}". GET /admin/keys lists them.`, { status: 404, type: 'not_found_error', code: 'key_not_found' });
}

function keyRevoked(id: string): RelayError {
  return new RelayError(`The key "${id}" is revoked; create a new key instead.`, { status: 409, type: 'conflict_error', code: 'key_revoked' });
}

/** An amount in units → micro-units, or a 400 naming the field. */
export function moneyParameter(amount: number, currency: Currency, param: string): number {
  try {
    return parseMoney(amount, currency);
  } catch (error) {
    throw new RelayError(`Invalid value for '${param}': ${(error as Error).message}.`, { status: 400, type: 'invalid_request_error', code: 'invalid_request', param });
  }
}

/** An `expires_at` (a valid date-time: the schema checked it) → epoch ms, or a 400 when before 1970, which the store does not keep. */
function expiryParameter(value: string): number {
  const expiresAt = Date.parse(value);
  if (expiresAt < 0) {
    throw new RelayError(`Invalid value for 'expires_at': ${value} is before 1970; use a date-time from 1970-01-01T00:00:00Z on.`, {
      status: 400,
      type: 'invalid_request_error',
      code: 'invalid_request',
      param: 'expires_at',
    });
  }
  return expiresAt;
}

/** The admin API's fields → a store patch; `null` clears a field, an absent one stays. */
async function toPatch(body: KeyFields, services: RelayServices): Promise<ApiKeyPatch> {
  const patch: ApiKeyPatch = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.account !== undefined) {
    if (body.account !== null && (await services.store.accounts.get(body.account)) === undefined) {
      throw new RelayError(`No account with id "${body.account}". Create it with POST /admin/accounts first.`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'account_not_found',
        param: 'account',
      });
    }
    patch.accountId = body.account;
  }
  if (body.models !== undefined) patch.models = body.models;
  if (body.rpm !== undefined) patch.rpm = body.rpm;
  if (body.tpm !== undefined) patch.tpm = body.tpm;
  if (body.max_parallel !== undefined) patch.maxParallel = body.max_parallel;
  if (body.budget !== undefined) {
    patch.budget = body.budget === null ? null : { amountMicros: moneyParameter(body.budget.amount, body.budget.currency, 'budget.amount'), currency: body.budget.currency, period: body.budget.period };
  }
  if (body.expires_at !== undefined) patch.expiresAt = body.expires_at === null ? null : expiryParameter(body.expires_at);
  if (body.metadata !== undefined) patch.metadata = body.metadata;
  return patch;
}

/**
 * Sets or changes a key's budget, and counts in its counter for this period what the key spent in
 * it already: the ledger's spend, read in the change's transaction (a request written to the
 * ledger after it is charged by its replica: `AdmissionControl.chargeWritten`), less what the
 * counter held before the change. The change is made even when the counter cannot be read or
 * raised (Redis unreachable): a warning says so.
 */
async function setBudget(
  services: RelayServices,
  id: string,
  patch: ApiKeyPatch & { budget: KeyBudget },
  remember: (record: ApiKeyRecord) => void,
  log: FastifyBaseLogger,
): Promise<ApiKeyRecord | undefined> {
  const now = Date.now();
  const period = budgetPeriod(patch.budget.period, now);
  const before = await services.limits.peek(budgetKey(id, period.key), 'budget', now).catch((error: unknown) => error as Error);
  const changed = await services.store.keys.updateCountingSpend(id, patch, period.startsAt);
  if (changed === undefined) return undefined;
  // This replica's requests charge the budget from now on; those that ended before are charged as they are written.
  remember(changed.key);
  try {
    if (before instanceof Error) throw before;
    await countBudgetSpend(services, services.limits, changed.key, changed.spent, before, now);
  } catch (error) {
    log.warn({ keyId: id, detail: String(error) }, "the key's budget changed, but its spend this period could not be counted in it");
  }
  return changed.key;
}

/**
 * `/admin/keys`: create (the secret is shown once, only the hash is stored), list, show, change,
 * rotate and revoke client keys. Changes apply to this replica at once and reach the others through
 * the key cache's polling (within a second). A budget set or changed counts the period's spend so far.
 */
export function registerAdminKeys(app: FastifyInstance, services: RelayServices): void {
  const remember = (record: ApiKeyRecord) => {
    services.storedKeys.apply(record);
    return record;
  };

  app.post('/admin/keys', { schema: { body: CreateKeyBody } }, async (request, reply) => {
    const body = request.body as Static<typeof CreateKeyBody>;
    const patch = await toPatch(body, services);
    const { secret, sha256, prefix } = newSecret();
    const record = remember(
      await services.store.keys.create({
        name: body.name,
        accountId: patch.accountId ?? null,
        sha256,
        prefix,
        models: patch.models ?? null,
        rpm: patch.rpm ?? null,
        tpm: patch.tpm ?? null,
        maxParallel: patch.maxParallel ?? null,
        budget: patch.budget ?? null,
        expiresAt: patch.expiresAt ?? null,
        metadata: patch.metadata ?? null,
      }),
    );
    request.log.info({ keyId: record.id, keyName: record.name }, 'key created');
    return reply.code(201).send({ ...keyView(record), key: secret });
  });

  app.get<{ Querystring: { include_revoked?: string } }>('/admin/keys', async (request) => ({
    object: 'list',
    data: (await services.store.keys.list({ includeRevoked: request.query.include_revoked === 'true' })).map(keyView),
  }));

  app.get<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    const record = await services.store.keys.get(request.params.id);
    if (record === undefined) throw keyNotFound(request.params.id);
    return keyView(record);
  });

  app.patch<{ Params: { id: string } }>('/admin/keys/:id', { schema: { body: UpdateKeyBody } }, async (request) => {
    const body = request.body as KeyFields;
    const patch = await toPatch(body, services);
    const budget = patch.budget;
    // A budget set or changed counts what the key spent this period already (under no budget, or one of another period).
    const record =
      budget === undefined || budget === null
        ? await services.store.keys.update(request.params.id, patch)
        : await setBudget(services, request.params.id, { ...patch, budget }, remember, request.log);
    if (record === undefined) throw keyNotFound(request.params.id);
    return keyView(remember(record));
  });

  app.post<{ Params: { id: string } }>('/admin/keys/:id/rotate', async (request) => {
    // Refused before anything changes; the store leaves a key revoked meanwhile as it is, and the answer is the same.
    const current = await services.store.keys.get(request.params.id);
    if (current === undefined) throw keyNotFound(request.params.id);
    if (current.revokedAt !== null) throw keyRevoked(current.id);
    const { secret, sha256, prefix } = newSecret();
    const record = await services.store.keys.rotate(request.params.id, sha256, prefix);
    if (record === undefined) throw keyNotFound(request.params.id);
    if (record.revokedAt !== null) throw keyRevoked(record.id);
    request.log.info({ keyId: record.id, keyName: record.name }, 'key rotated');
    return { ...keyView(remember(record)), key: secret };
  });

  app.delete<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    const record = await services.store.keys.revoke(request.params.id);
    if (record === undefined) throw keyNotFound(request.params.id);
    request.log.info({ keyId: record.id, keyName: record.name }, 'key revoked');
    return keyView(remember(record));
  });
}
