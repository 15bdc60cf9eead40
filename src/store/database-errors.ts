import { RelayStoreError } from './relay-store-error.js';

/*
 * The few database errors the store turns into its own, recognised by the codes the drivers
 * expose: Postgres SQLSTATEs (`pg`'s DatabaseError.code) and better-sqlite3's extended result
 * codes (SqliteError.code).
 */

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Rethrows a unique or foreign-key violation as a {@link RelayStoreError} with `message`; any other
 * error is rethrown as it is.
 */
export function rethrowConstraintViolation(error: unknown, messages: { conflict: string; missingReference?: string }): never {
  const code = codeOf(error);
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    throw new RelayStoreError('RELAY_STORE_CONFLICT', messages.conflict, { cause: error });
  }
  if (messages.missingReference !== undefined && (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
    throw new RelayStoreError('RELAY_STORE_NOT_FOUND', messages.missingReference, { cause: error });
  }
  throw error;
}

/**
 * Whether a transaction failed only because it lost a race with another one (a Postgres deadlock
 * or serialization failure, or SQLite still busy after its timeout) and can simply run again.
 */
export function isTransientConflict(error: unknown): boolean {
  const code = codeOf(error);
  return code === '40P01' || code === '40001' || code === 'SQLITE_BUSY';
}
