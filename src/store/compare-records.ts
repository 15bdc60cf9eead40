/*
 * Orderings every backend applies in JavaScript, so lists come out the same from memory, SQLite
 * and Postgres (whose text order follows the database's collation, not code units).
 */

/** Code-unit order: the same on every backend and in every locale. */
export function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Creation order, ties broken by id. */
export function byCreation(left: { createdAt: number; id: string }, right: { createdAt: number; id: string }): number {
  return left.createdAt - right.createdAt || compareText(left.id, right.id);
}

/** Change order, as `changedSince` returns keys. */
export function byUpdate(left: { updatedAt: number; createdAt: number; id: string }, right: { updatedAt: number; createdAt: number; id: string }): number {
  return left.updatedAt - right.updatedAt || byCreation(left, right);
}
