import type { Static } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { convertMicros, formatMoney, type Currency, type ExchangeRates } from '../../billing/money.js';
import { RelayError } from '../../spec/relay-error.js';
import { newId } from '../../store/new-id.js';
import type { Account } from '../../store/relay-store.js';
import type { RelayServices } from '../relay-services.js';
import { accountView, balanceTransactionView } from './admin-key-view.js';
import { moneyParameter } from './admin-keys.js';
import { CreateAccountBody, TopUpBody } from './admin-schemas.js';

/**
 * Counts a balance change the database has just taken in the balance's admission counter, and
 * forgets its record once counted. When Redis does not answer, the record stays for the counters'
 * watch to hand over later; the request still succeeds (the database, which has the change, answers
 * it): failed, it would be retried and credit the balance twice.
 */
async function countCreditChange(services: RelayServices, log: FastifyBaseLogger, accountId: string, deltaMicros: number, changeId: string): Promise<void> {
  if (await services.admission.countCredit(accountId, deltaMicros, changeId)) await services.store.accounts.forgetCreditChanges([changeId]);
  else log.warn({ accountId }, "balance changed in the database; Redis is unreachable, so the balance's counter there is updated once it answers");
}

function invalidAmount(message: string): RelayError {
  return new RelayError(`Invalid value for 'amount': ${message}.`, { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'amount' });
}

/**
 * A top-up's amount in micro-units of the account's currency, or a 400 naming `amount`. A balance
 * is a safe integer of micro-units (about 9 billion units): an amount that, converted, is beyond
 * that or would take the balance beyond it is refused, never rounded. One smaller than a micro-unit
 * would add nothing yet be recorded as a top-up.
 */
function topUpMicros(amount: number, currency: Currency, account: Account, rates: ExchangeRates): number {
  let micros: number | undefined;
  try {
    micros = convertMicros(moneyParameter(amount, currency, 'amount'), currency, account.currency, rates);
  } catch (error) {
    if (error instanceof RelayError) throw error;
  }
  if (micros === undefined || !Number.isSafeInteger(account.balanceMicros + micros)) {
    throw invalidAmount(`${amount} ${currency} would take the balance beyond ${formatMoney(Number.MAX_SAFE_INTEGER, account.currency)}, the most it holds`);
  }
  if (micros === 0) throw invalidAmount(`${amount} ${currency} is less than 0.000001 ${account.currency}, the smallest amount a balance holds`);
  return micros;
}

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
    const creditChangeId = newId('cc');
    const account = await services.store.accounts.create({ name: body.name, currency, balanceMicros, metadata: body.metadata ?? null, creditChangeId });
    request.log.info({ accountId: account.id, signupCreditMicros: balanceMicros, currency }, 'account created');
    if (balanceMicros !== 0) await countCreditChange(services, request.log, account.id, balanceMicros, creditChangeId);
    return reply.code(201).send(accountView(account));
  });

  app.get('/admin/accounts', async () => ({ object: 'list', data: (await services.store.accounts.list()).map(accountView) }));

  app.get<{ Params: { id: string } }>('/admin/accounts/:id', async (request) => {
    const account = await services.store.accounts.get(request.params.id);
    if (account === undefined) throw accountNotFound(request.params.id);
    return accountView(account);
  });

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>('/admin/accounts/:id/transactions', async (request) => {
    const account = await services.store.accounts.get(request.params.id);
    if (account === undefined) throw accountNotFound(request.params.id);
    const limit = request.query.limit === undefined ? 50 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new RelayError(`Invalid value for 'limit': use a whole number from 1 to 500.`, { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'limit' });
    }
    const transactions = await services.store.accounts.transactions(account.id, limit);
    return { object: 'list', data: transactions.map((transaction) => balanceTransactionView(transaction, account.currency)) };
  });

  app.post<{ Params: { id: string } }>('/admin/accounts/:id/topup', { schema: { body: TopUpBody } }, async (request) => {
    const body = request.body as Static<typeof TopUpBody>;
    const account = await services.store.accounts.get(request.params.id);
    if (account === undefined) throw accountNotFound(request.params.id);
    const currency = body.currency ?? account.currency;
    const deltaMicros = topUpMicros(body.amount, currency, account, services.billing.rates);
    const creditChangeId = newId('cc');
    const updated = await services.store.accounts.adjustBalance(account.id, deltaMicros, body.note ?? `top-up of ${body.amount} ${currency}`, creditChangeId);
    request.log.info({ accountId: account.id, deltaMicros, currency: account.currency }, 'account topped up');
    await countCreditChange(services, request.log, account.id, deltaMicros, creditChangeId);
    return accountView(updated);
  });
}
