import { maskUrlPassword } from '../../observability/mask-url-password.js';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import type { RelayConfig } from '../../config/relay-config.js';
import { connectPostgres, connectSqlite, NoSchemaError, type DatabaseConnection } from '../../store/connect-database.js';
import { display } from './check-configuration.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import { CheckTimeoutError, errorCode, errorMessage, withTimeout } from './with-timeout.js';

/**
 * The store `serve` opens: Postgres with DATABASE_URL, else the SQLite file in the data directory.
 * The doctor opens it, asks one trivial query and closes it, without migrating. A SQLite file that
 * does not exist yet is not created (a diagnosis should leave no files behind); the folder it will
 * go into must be writable instead.
 */
export async function checkDatabase(config: RelayConfig, cwd: string, timeoutMs: number): Promise<CheckResult> {
  const url = config.databaseUrl?.trim() ?? '';
  if (url === '') return checkSqlite(join(config.dataDir, 'relay.db'), cwd);
  if (url === 'memory:') {
    return checkResult('database', 'warn', 'DATABASE_URL=memory: keys, accounts and the ledger live in memory and are lost on restart', 'unset DATABASE_URL (SQLite file) or point it at Postgres.');
  }
  const shown = maskUrlPassword(url);
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    return checkResult('database', 'fail', `DATABASE_URL ${shown} is neither postgres://… nor memory:`, 'use postgres://user:password@host:5432/database, or unset DATABASE_URL for the SQLite file.');
  }
  let connection: DatabaseConnection | undefined;
  let abandoned = false;
  try {
    const connecting = connectPostgres({ url, poolSize: 1 });
    // A connect that outlives the timeout is closed when it finally settles.
    connecting.then((late) => (abandoned ? late.db.destroy() : undefined)).catch(() => {});
    connection = await withTimeout(connecting, timeoutMs);
    await withTimeout(sql`select 1`.execute(connection.db), timeoutMs);
    return checkResult('database', 'pass', `Postgres ${shown}: connected (schema ${connection.schema})`);
  } catch (error) {
    // Connected and answered: the network is fine, the schema is not.
    if (error instanceof NoSchemaError) return checkResult('database', 'fail', `Postgres ${shown}: ${error.message}`, noSchemaFix(error));
    const message = errorMessage(error);
    const what = error instanceof CheckTimeoutError ? `no connection within ${timeoutMs} ms` : message.includes(errorCode(error)) ? message : `${errorCode(error)}: ${message}`;
    return checkResult(
      'database',
      'fail',
      `Postgres ${shown}: ${what}`,
      [
        'check the host, port, user, password and database in DATABASE_URL, and that Postgres accepts connections from here.',
        'In Kubernetes, the NetworkPolicy must allow egress on TCP 5432 (deploy/kubernetes/networkpolicy.yaml allows pods labelled',
        'app.kubernetes.io/name: postgresql in the namespace; a managed database needs an ipBlock rule):',
        '  kubectl -n relay get networkpolicy relay-egress -o yaml',
      ].join('\n'),
    );
  } finally {
    abandoned = connection === undefined;
    await connection?.db.destroy().catch(() => {});
  }
}

/** How to give the relay the schema its search_path names: create it, grant it, or name another. */
function noSchemaFix(error: NoSchemaError): string {
  const lines: string[] = [];
  if (error.missing.length > 0) {
    lines.push('create the schema (as a user allowed to: its owner or a superuser); `relay migrate` or `relay serve` then creates the tables in it:');
    for (const name of error.missing) lines.push(`  psql "$DATABASE_URL" -c ${shellQuoted(`CREATE SCHEMA ${identifier(name)}`)}`);
    lines.push(`  (add AUTHORIZATION ${identifier(error.user)} when another user creates it, so that the relay's user may create tables there)`);
  }
  if (error.unusable.length > 0) {
    lines.push(`let the relay's user use ${error.unusable.length === 1 ? 'the schema' : 'the schemas'} (as the owner):`);
    for (const name of error.unusable) lines.push(`  psql "$DATABASE_URL" -c ${shellQuoted(`GRANT USAGE, CREATE ON SCHEMA ${identifier(name)} TO ${identifier(error.user)}`)}`);
  }
  lines.push('or point search_path in DATABASE_URL at a schema that exists: ?options=-c%20search_path%3D<schema> (unset, the relay uses the user\'s default, usually public).');
  return lines.join('\n');
}

/** A Postgres identifier, double-quoted. */
function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A shell word in single quotes. */
function shellQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function checkSqlite(path: string, cwd: string): CheckResult {
  const shown = display(path, cwd);
  if (!existsSync(path)) {
    const folder = nearestExisting(dirname(path));
    try {
      accessSync(folder, constants.W_OK);
      return checkResult('database', 'pass', `SQLite ${shown} does not exist yet: serve creates it (${display(folder, cwd)} is writable)`);
    } catch {
      return checkResult('database', 'fail', `SQLite ${shown} does not exist and ${display(folder, cwd)} is not writable`, sqliteFix);
    }
  }
  let connection: DatabaseConnection | undefined;
  try {
    connection = connectSqlite(path);
    accessSync(path, constants.W_OK);
    return checkResult('database', 'pass', `SQLite ${shown}: opened`);
  } catch (error) {
    const code = errorCode(error);
    const damaged = code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT';
    const fix = damaged ? `the file is not a SQLite database or is damaged: restore it from a backup, or move it away and let serve create a new one (keys, accounts and the ledger start empty).` : sqliteFix;
    return checkResult('database', 'fail', `SQLite ${shown}: ${code}: ${errorMessage(error)}`, fix);
  } finally {
    void connection?.db.destroy();
  }
}

const sqliteFix = [
  'the relay needs a writable data directory (RELAY_DATA_DIR, default ./data). In Kubernetes, mount a volume there',
  '(deploy/kubernetes uses /var/lib/relay); with several replicas, use DATABASE_URL (Postgres) instead of a file per pod.',
].join('\n');

function nearestExisting(folder: string): string {
  let current = folder;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

