import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load-config.js';
import { storeFailure } from './start-failure.js';
import { withConfigErrors } from './with-config-errors.js';

/** `relay migrate`: applies the store's pending migrations (the server also does at start). */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (SQLite file, or DATABASE_URL)')
    .action(() =>
      withConfigErrors(async () => {
        const config = loadConfig();
        const { migrateStore } = await import('../store/open-store.js');
        const report = await migrateStore({ databaseUrl: config.databaseUrl, sqlitePath: join(config.dataDir, 'relay.db') }).catch((error: unknown) => {
          throw storeFailure(config, error);
        });
        if (report.newer.length > 0) process.stdout.write(`${report.kind} at ${report.location}: has migrations of a newer release: ${report.newer.join(', ')}\n`);
        process.stdout.write(
          report.applied.length === 0
            ? `${report.kind} at ${report.location}: up to date (${report.migrations.length} migrations)\n`
            : `${report.kind} at ${report.location}: applied ${report.applied.join(', ')}\n`,
        );
      }),
    );
}
