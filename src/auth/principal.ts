import type { KeyBudget } from '../store/relay-store.js';

/** Who is calling: what the rest of the relay knows of an authenticated client key. Never the secret. */
export interface Principal {
  /** Stable id for reports and limits (`master`, `config:<name>`, or a stored key's id). */
  id: string;
  /** Human name for logs. */
  name: string;
  /** The master key may use every model and the admin API. */
  isMaster: boolean;
  /** Model names or globs this key may use; all when undefined. */
  models: readonly string[] | undefined;
  /** The account whose balance pays for this key's requests, if any. */
  accountId?: string;
  /** Limits of a stored key; a missing one is not limited. */
  rpm?: number;
  tpm?: number;
  maxParallel?: number;
  budget?: KeyBudget;
  /** Epoch ms after which the key is refused. */
  expiresAt?: number;
}
