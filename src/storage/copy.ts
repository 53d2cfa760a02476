// `mdm db copy`: moves a SQLite database into an empty PostgreSQL one, so a deployment that starts
// on SQLite grows into several instances without re-enrolling a device. Both schemas hold the same
// tables and columns (the PostgreSQL migrations mirror the SQLite ones), so rows are copied as
// they are, parents before children, in one PostgreSQL transaction; identity sequences are moved
// past the copied ids and the row count of every table is compared afterwards.
import Database from 'better-sqlite3';
import pg from 'pg';
import { migratePostgresUrl } from './postgres/index.js';
import { SQLITE_SCHEMA_VERSION } from './sqlite/database.js';

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

export async function copySqliteToPostgres(
  sqliteFile: string,
  postgresUrl: string,
  progress: (table: string, rows: number) => void = () => undefined,
): Promise<CopiedTable[]> {
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
