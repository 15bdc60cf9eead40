import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { convertMicros } from '../../billing/money.js';
import { RelayError } from '../../spec/relay-error.js';
import type { RelayServices } from '../relay-services.js';
import { accountView } from './admin-key-view.js';
import { moneyParameter } from './admin-keys.js';
import { CreateAccountBody, TopUpBody } from './admin-schemas.js';

/**
 * The database has the change (it answers the request); Redis, down, gets it when it is back. A
 * request failed here would be retried by the caller and credit the balance twice.
 */
const pendingBalanceMessage = "balance changed in the database; Redis is unreachable, so the balance's counter there is updated once it answers";

function accountNotFound(id: string): RelayError {
  return new RelayError(`No account with id "${id}". GET /admin/accounts lists them.`, { status: 404, type: 'not_found_error', code: 'account_not_found' });
}

/**
 * `/admin/accounts`: a user or team that owns keys and a balance. New accounts get the configured
 * signup credit; top-ups add to the balance (converted into the account's currency at the
 * configured rates) and to the admission counter that requests draw from.
 */
export function registerAdminAccounts(app: FastifyInstance, services: RelayServices): void {
  app.post('/admin/accounts', { schema: { body: CreateAccountBody } }, async (request, reply) => {
    const body = request.body as Static<typeof CreateAccountBody>;
    const currency = body.currency ?? 'USD';
    const credit = services.billing.signupCredit;
    const balanceMicros = credit === undefined ? 0 : convertMicros(credit.amountMicros, credit.currency, currency, services.billing.rates);
    const account = await services.store.accounts.create({ name: body.name, currency, balanceMicros, metadata: body.metadata ?? null });
    const counted = await services.admission.setCredit(account.id, account.balanceMicros);
    request.log.info({ accountId: account.id, signupCreditMicros: balanceMicros, currency }, 'account created');
    if (!counted) request.log.warn({ accountId: account.id }, pendingBalanceMessage);
    return reply.code(201).send(accountView(account));
  });

  app.get('/admin/accounts', async () => ({ object: 'list', data: (await services.store.accounts.list()).map(accountView) }));

  app.get<{ Params: { id: string } }>('/admin/accounts/:id', async (request) => {
    const account = await services.store.accounts.get(request.params.id);
    if (account === undefined) throw accountNotFound(request.params.id);
    return accountView(account);
  });

  app.post<{ Params: { id: string } }>('/admin/accounts/:id/topup', { schema: { body: TopUpBody } }, async (request) => {
    const body = request.body as Static<typeof TopUpBody>;
    const account = await services.store.accounts.get(request.params.id);
    if (account === undefined) throw accountNotFound(request.params.id);
    const currency = body.currency ?? account.currency;
    const deltaMicros = convertMicros(moneyParameter(body.amount, currency, 'amount'), currency, account.currency, services.billing.rates);
    const updated = await services.store.accounts.adjustBalance(account.id, deltaMicros, body.note ?? `top-up of ${body.amount} ${currency}`);
    const counted = await services.admission.addCredit(account.id, deltaMicros);
    request.log.info({ accountId: account.id, deltaMicros, currency: account.currency }, 'account topped up');
    if (!counted) request.log.warn({ accountId: account.id }, pendingBalanceMessage);
    return accountView(updated);
  });
}
