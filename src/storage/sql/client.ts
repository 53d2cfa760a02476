// How the shared SQL stores reach a database. Every store is written once, in the SQL that SQLite
// (3.45+) and PostgreSQL (15+) both accept, with `?` placeholders; the PostgreSQL client numbers them.
// A store method says whether it only reads or also writes: outside a transaction a backend may run
// reads on another connection than writes (SQLite: a WAL reader beside the one writer; PostgreSQL:
// any pooled connection), and each write call is its own transaction. Inside `Storage.transaction`
// both run on the transaction's connection.

export type SqlDialect = 'sqlite' | 'postgres';

export type SqlValue = string | number | bigint | Buffer | null;

/** One connection (or pool) that runs statements. */
export interface SqlClient {
  readonly dialect: SqlDialect;
  all<R>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  get<R>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined>;
  /** Runs a statement that returns no rows; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** Where a store method's statements run. */
export interface SqlExecutor {
  /** Statements that only read (a consistent snapshot is not promised across several reads). */
  read<T>(work: (db: SqlClient) => Promise<T>): Promise<T>;
  /** Statements that write: atomic together (one transaction, or part of the caller's). */
  write<T>(work: (db: SqlClient) => Promise<T>): Promise<T>;
}

/** The executor of an open transaction: everything runs on its connection, inside it. */
export function transactionExecutor(db: SqlClient): SqlExecutor {
  return { read: (work) => work(db), write: (work) => work(db) };
}

/** `?, ?, ?` for an IN list or a VALUES row of `n` values. */
export function placeholders(n: number): string {
  return n <= 0 ? '' : '?'.concat(', ?'.repeat(n - 1));
}

/** `WHERE a = ? AND b = ?` over the columns whose value is given (empty when none is), with its parameters. */
export function equalsWhere(columns: readonly (readonly [column: string, value: string | undefined])[]): {
  clause: string;
  params: SqlValue[];
} {
  const given = columns.filter(([, v]) => v !== undefined);
  return {
    clause: given.length > 0 ? `WHERE ${given.map(([c]) => `${c} = ?`).join(' AND ')}` : '',
    params: given.map(([, v]) => v!),
  };
}

/** SQLite and PostgreSQL store booleans here as INTEGER 0/1. */
export const bit = (b: boolean): number => (b ? 1 : 0);

/**
 * Statements this process executed, on either backend (the benchmark reports them per session).
 * With `countStatementsBySql()`, `bySql` also counts each statement text and the time it took.
 */
export const statementStats: {
  statements: number;
  bySql?: Map<string, { count: number; ms: number }>;
} = { statements: 0 };

export function countStatementsBySql(): void {
  statementStats.bySql ??= new Map();
}

/**
 * Called by each backend's client for every statement it runs; returns the function to call when
 * the statement finished, or undefined when statement texts are not being counted.
 */
export function countStatement(_sql: string): ((sql: string) => void) | undefined {
  statementStats.statements++;
  return statementStats.bySql ? timeStatement(performance.now()) : undefined;
}

const timeStatement = (started: number) => (sql: string) => {
  const by = statementStats.bySql!;
  const entry = by.get(sql) ?? { count: 0, ms: 0 };
  entry.count++;
  entry.ms += performance.now() - started;
  by.set(sql, entry);
};
