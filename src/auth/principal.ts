/** Who is calling: what the rest of the relay knows of an authenticated client key. Never the secret. */
export interface Principal {
  /** Stable id for reports and limits. */
  id: string;
  /** Human name for logs. */
  name: string;
  /** The master key may use every model and the admin API. */
  isMaster: boolean;
  /** Model names or globs this key may use; all when undefined. */
  models: readonly string[] | undefined;
}
