/** One numbered schema migration of a backend (`sqlite/migrations/`, `postgres/migrations/`). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
