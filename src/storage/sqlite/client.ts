// `SqlClient` over one better-sqlite3 connection. Statements run synchronously under the async
// signature; each distinct SQL text is prepared once per connection.
import type Database from 'better-sqlite3';
import { countStatement, type SqlClient, type SqlValue } from '../sql/client.js';

/** Distinct statements kept prepared per connection (dynamic IN lists add shapes). */
const MAX_PREPARED = 1000;

export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite' as const;
  private readonly prepared = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  private statement(sql: string): Database.Statement {
    let stmt = this.prepared.get(sql);
    if (!stmt) {
      if (this.prepared.size >= MAX_PREPARED) this.prepared.clear();
      stmt = this.db.prepare(sql);
      this.prepared.set(sql, stmt);
    }
    return stmt;
  }

  async all<R>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    const done = countStatement(sql);
    const rows = this.statement(sql).all(...params) as R[];
    done?.(sql);
    return rows;
  }

  async get<R>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    const done = countStatement(sql);
    const row = this.statement(sql).get(...params) as R | undefined;
    done?.(sql);
    return row;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const done = countStatement(sql);
    const changes = this.statement(sql).run(...params).changes;
    done?.(sql);
    return changes;
  }
}
