/** Why a store operation was refused; stable, so callers (CLI, admin API) can map it to a status. */
export type RelayStoreErrorCode =
  /** The referenced account (or key) does not exist. */
  | 'RELAY_STORE_NOT_FOUND'
  /** An id or a key's SHA-256 is already taken. */
  | 'RELAY_STORE_CONFLICT'
  /** A value cannot be stored, e.g. money that is not a safe integer or an unknown currency. */
  | 'RELAY_STORE_INVALID';

/**
 * A refusal by the store that every backend raises the same way, so code above the store never
 * has to recognise SQLite's or Postgres's own error codes.
 */
export class RelayStoreError extends Error {
  readonly code: RelayStoreErrorCode;

  constructor(code: RelayStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayStoreError';
    this.code = code;
  }
}
