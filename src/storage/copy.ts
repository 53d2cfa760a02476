// `mdm db copy`: moves a SQLite database into an empty PostgreSQL one, so a deployment that starts
// on SQLite grows into several instances without re-enrolling a device. Both schemas hold the same
// tables and columns (the PostgreSQL migrations mirror the SQLite ones), so rows are copied as
// they are, parents before children, in one PostgreSQL transaction; identity sequences are moved
// past the copied ids and the row count of every table is compared afterwards.
import Database from 'better-sqlite3';
import pg from 'pg';
import { migratePostgresUrl, POSTGRES_SCHEMA_VERSION } from './postgres/index.js';
import { openSqlite, SQLITE_SCHEMA_VERSION } from './sqlite/database.js';

export interface CopiedTable {
  readonly table: string;
  readonly rows: number;
}

export class CopyError extends Error {
  override name = 'CopyError';
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Tables of the SQLite database, parents before the tables whose foreign keys point at them. */
function tablesInDependencyOrder(db: Database.Database): string[] {
  const names = (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { name: string }[]
  ).map((r) => r.name);
  const parents = new Map(
    names.map((n) => [
      n,
      new Set(
        (db.pragma(`foreign_key_list(${quote(n)})`) as { table: string }[])
          .map((f) => f.table)
          .filter((t) => t !== n),
      ),
    ]),
  );
  const ordered: string[] = [];
  const visit = (n: string, path: Set<string>) => {
    if (ordered.includes(n)) return;
    if (path.has(n)) throw new CopyError(`foreign keys form a cycle through ${n}`);
    path.add(n);
    for (const p of parents.get(n) ?? []) visit(p, path);
    path.delete(n);
    ordered.push(n);
  };
  for (const n of names) visit(n, new Set());
  return ordered;
}

/** Rows per INSERT (PostgreSQL allows 65,535 parameters). */
const BATCH = 500;

export interface CopyOptions {
  readonly progress?: (table: string, rows: number) => void;
  /**
   * Empty every table of the PostgreSQL database first, in the same transaction (`mdm restore
   * --force`); without it a database that holds rows is refused.
   */
  readonly replace?: boolean;
}

export async function copySqliteToPostgres(
  sqliteFile: string,
  postgresUrl: string,
  options: CopyOptions = {},
): Promise<CopiedTable[]> {
  const progress = options.progress ?? (() => undefined);
  const source = new Database(sqliteFile, { readonly: true, fileMustExist: true });
  try {
    const version = source.pragma('user_version', { simple: true }) as number;
    if (version !== SQLITE_SCHEMA_VERSION) {
      throw new CopyError(
        `the SQLite database is at schema ${version}, this version copies schema ${SQLITE_SCHEMA_VERSION}: ` +
          'start the server on it once (it migrates), then copy',
      );
    }
    await migratePostgresUrl(postgresUrl);
    const target = new pg.Client({ connectionString: postgresUrl });
    await target.connect();
    try {
      // One snapshot of the source even while a server writes to it.
      source.exec('BEGIN');
      const tables = tablesInDependencyOrder(source);
      await target.query('BEGIN');
      if (options.replace) {
        await target.query(`TRUNCATE ${tables.map(quote).join(', ')} RESTART IDENTITY CASCADE`);
      }
      for (const table of tables) {
        const existing = await target
          .query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}`)
          .catch(() => {
            throw new CopyError(`table ${table} does not exist in the PostgreSQL database`);
          });
        if (Number(existing.rows[0]!.n) > 0) {
          throw new CopyError(
            `the PostgreSQL database is not empty (table ${table} has rows); copy into an empty one`,
          );
        }
      }
      const copied: CopiedTable[] = [];
      for (const table of tables) {
        const columns = (source.pragma(`table_info(${quote(table)})`) as { name: string }[]).map(
          (c) => c.name,
        );
        const list = columns.map(quote).join(', ');
        let rows = 0;
        let batch: unknown[][] = [];
        const flush = async () => {
          if (batch.length === 0) return;
          let n = 0;
          const values = batch.map((row) => `(${row.map(() => `$${++n}`).join(', ')})`).join(', ');
          await target.query(`INSERT INTO ${quote(table)} (${list}) VALUES ${values}`, batch.flat());
          rows += batch.length;
          batch = [];
        };
        for (const row of source
          .prepare(`SELECT ${list} FROM ${quote(table)}`)
          .raw()
          .iterate() as Iterable<unknown[]>) {
          batch.push(row);
          if (batch.length >= BATCH) await flush();
        }
        await flush();
        copied.push({ table, rows });
        progress(table, rows);
      }
      // Identity columns continue after the copied ids.
      const identities = await target.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns
          WHERE table_schema = current_schema() AND is_identity = 'YES'`,
      );
      for (const { table_name: t, column_name: c } of identities.rows) {
        await target.query(
          `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(${quote(c)}) FROM ${quote(t)}), 0) + 1, false)`,
          [t, c],
        );
      }
      for (const { table, rows } of copied) {
        const n = Number(
          (await target.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}`)).rows[0]!.n,
        );
        if (n !== rows) throw new CopyError(`table ${table}: copied ${rows} rows but PostgreSQL holds ${n}`);
      }
      await target.query('COMMIT');
      return copied;
    } catch (err) {
      await target.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      if (source.inTransaction) source.exec('COMMIT');
      await target.end();
    }
  } finally {
    source.close();
  }
}

/**
 * The reverse direction, for backups of a PostgreSQL deployment: every table of `postgresUrl`, read
 * in one REPEATABLE READ snapshot (consistent while servers write), into a new SQLite database at
 * `sqliteFile` with this version's schema. The archive then always holds a SQLite database, which
 * restores into either backend.
 */
export async function exportPostgresToSqlite(
  postgresUrl: string,
  sqliteFile: string,
): Promise<CopiedTable[]> {
  // Opening creates the file and applies the SQLite migrations (empty tables, this version's schema).
  openSqlite({ file: sqliteFile, checkpointIntervalMs: 0 }).close();
  const target = new Database(sqliteFile);
  const source = new pg.Client({ connectionString: postgresUrl });
  try {
    await source.connect();
    const version = Number(
      (await source.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]
        ?.v ?? 0,
    );
    if (version !== POSTGRES_SCHEMA_VERSION) {
      throw new CopyError(
        `the PostgreSQL database is at schema ${version}, this version reads schema ${POSTGRES_SCHEMA_VERSION}: ` +
          'run `mdm db migrate` first',
      );
    }
    await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables = tablesInDependencyOrder(target);
    const copied: CopiedTable[] = [];
    target.pragma('foreign_keys = OFF');
    target.exec('BEGIN');
    for (const table of tables) {
      const columns = (target.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => c.name);
      const list = columns.map(quote).join(', ');
      const insert = target.prepare(
        `INSERT INTO ${quote(table)} (${list}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
      const result = await source.query({ text: `SELECT ${list} FROM ${quote(table)}`, rowMode: 'array' });
      const int8 = result.fields.map((f) => f.dataTypeID === pg.types.builtins.INT8);
      for (const row of result.rows as unknown[][]) {
        insert.run(row.map((v, i) => (int8[i] && typeof v === 'string' ? BigInt(v) : v)));
      }
      copied.push({ table, rows: result.rows.length });
    }
    target.exec('COMMIT');
    await source.query('COMMIT');
    return copied;
  } finally {
    if (target.inTransaction) target.exec('ROLLBACK');
    target.close();
    await source.end().catch(() => undefined);
  }
}
