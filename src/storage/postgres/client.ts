// `SqlClient` over node-postgres: a pool (statements outside a transaction) or one checked-out
// connection (inside one). The shared SQL's `?` placeholders become `$1, $2, …`.
import type { QueryResult, QueryResultRow } from 'pg';
import { countStatement, type SqlClient, type SqlValue } from '../sql/client.js';

interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

const numbered = new Map<string, string>();

/** `?` → `$n` (the shared SQL never has a `?` inside a literal). */
export function numberPlaceholders(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    if (numbered.size < 5000) numbered.set(sql, text);
  }
  return text;
}

export class PgClient implements SqlClient {
  readonly dialect = 'postgres' as const;

  constructor(private readonly target: Queryable) {}

  async all<R>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    const done = countStatement(sql);
    const result = await this.target.query<QueryResultRow>(numberPlaceholders(sql), [...params]);
    done?.(sql);
    return result.rows as R[];
  }

  async get<R>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    return (await this.all<R>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const done = countStatement(sql);
    const result = await this.target.query(numberPlaceholders(sql), [...params]);
    done?.(sql);
    return result.rowCount ?? 0;
  }
}
