// `mdm db migrate|copy`: bring the configured database to this version's schema, and move a
// SQLite database into an empty PostgreSQL one (devices keep their enrollment).
import type { Command } from 'commander';
import { CopyError, copySqliteToPostgres } from '../storage/copy.js';
import { StorageUnavailableError } from '../storage/errors.js';
import { describeDatabase, isPostgresUrl, openStorage, sqliteFile } from '../storage/open.js';
import { migratePostgresUrl, POSTGRES_SCHEMA_VERSION } from '../storage/postgres/index.js';
import { SQLITE_SCHEMA_VERSION } from '../storage/sqlite/database.js';
import { CliError, configFor, runAction } from './context.js';
import { printList } from './output.js';

export function registerDb(program: Command): void {
  const db = program.command('db').description('the database: migrations, moving from SQLite to PostgreSQL');

  db.command('migrate')
    .description('apply every schema migration this version has (the server also does this at start)')
    .action((_options: unknown, command: Command) =>
      runAction(async () => {
        const config = configFor(command);
        try {
          if (isPostgresUrl(config.databaseUrl)) {
            const applied = await migratePostgresUrl(config.databaseUrl);
            process.stdout.write(
              `${describeDatabase(config)}: ${applied} migration(s) applied, schema ${POSTGRES_SCHEMA_VERSION}\n`,
            );
            return;
          }
          // Opening a SQLite database migrates it.
          const storage = openStorage(config, { role: 'cli' });
          await storage.close();
          process.stdout.write(`${describeDatabase(config)}: schema ${SQLITE_SCHEMA_VERSION}\n`);
        } catch (err) {
          if (err instanceof StorageUnavailableError)
            throw new CliError(`${describeDatabase(config)}: ${err.message}`);
          throw err;
        }
      }),
    );

  db.command('copy')
    .description('copy the configured SQLite database into an empty PostgreSQL database, verified per table')
    .requiredOption('--to <url>', 'the PostgreSQL database (postgres://user:pass@host:5432/db)')
    .action((options: { to: string }, command: Command) =>
      runAction(async () => {
        const config = configFor(command);
        if (isPostgresUrl(config.databaseUrl))
          throw new CliError('the configured database is already PostgreSQL');
        if (!isPostgresUrl(options.to)) throw new CliError('--to must be a postgres:// or postgresql:// URL');
        const from = sqliteFile(config);
        try {
          const tables = await copySqliteToPostgres(from, options.to);
          printList(tables, {
            empty: 'no tables',
            header: 'table\trows',
            line: (t) => `${t.table}\t${t.rows}`,
          });
          const total = tables.reduce((n, t) => n + t.rows, 0);
          process.stdout.write(
            `copied ${total} rows from ${from} to ${describeDatabase({ ...config, databaseUrl: options.to })}; ` +
              'row counts verified. Point MDM_DATABASE_URL at it and restart the server.\n',
          );
        } catch (err) {
          if (err instanceof CopyError || err instanceof StorageUnavailableError)
            throw new CliError(err.message);
          if ((err as { code?: string }).code === 'SQLITE_CANTOPEN')
            throw new CliError(`no SQLite database at ${from}`);
          throw err;
        }
      }),
    );
}
