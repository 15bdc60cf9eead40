import { Type } from '@sinclair/typebox';
import { maxKeyLimit } from '../../store/validate-store-input.js';

/** Bodies of the admin API (the contract other tools depend on: snake_case, amounts in units). */

const Currency = Type.Union([Type.Literal('USD'), Type.Literal('CNY'), Type.Literal('EUR')]);
const Nullable = <T extends ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

const Budget = Type.Object(
  {
    amount: Type.Number({ minimum: 0 }),
    currency: Currency,
    period: Type.Union([Type.Literal('daily'), Type.Literal('monthly'), Type.Literal('total')]),
  },
  { additionalProperties: false },
);

const keyFields = {
  account: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
  models: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1 })), Type.Null()])),
  rpm: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: maxKeyLimit }))),
  tpm: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: maxKeyLimit }))),
  max_parallel: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: maxKeyLimit }))),
  budget: Type.Optional(Type.Union([Budget, Type.Null()])),
  /** From 1970 on (checked where it is read: a format has no bounds). */
  expires_at: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  metadata: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
};

export const CreateKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), ...keyFields }, { additionalProperties: false });

export const UpdateKeyBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), ...keyFields }, { additionalProperties: false });

export const CreateAccountBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    currency: Type.Optional(Currency),
    metadata: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const TopUpBody = Type.Object(
  {
    amount: Type.Number({ exclusiveMinimum: 0 }),
    currency: Type.Optional(Currency),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
