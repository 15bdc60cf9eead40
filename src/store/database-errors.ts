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

/** Network failures of the connection to the database server (the driver's, or Node's, codes). */
const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** Postgres saying it cannot serve now: shutting down, starting up, out of connections, statement cancelled by its timeout. */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
/** What `pg` and `pg-pool` say, without a code, when the connection is lost or cannot be had in time. */
const lostConnection = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/;

/**
 * Whether a query failed because the database could not be reached or did not answer (connection
 * refused or cut, a query unanswered past its limit, Postgres shutting down, SQLite's file locked
 * or unreadable), rather than because of the query: the caller may retry once the database is
 * back. Follows `cause`, as drivers wrap.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = codeOf(current);
    if (code !== undefined) {
      if (connectionCodes.has(code) || unavailableStates.has(code) || code.startsWith('08')) return true;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_BUSY')) return true;
    }
    if (current instanceof Error && lostConnection.test(current.message)) return true;
  }
  return false;
}
