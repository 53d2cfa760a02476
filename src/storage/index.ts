// Storage capability interfaces. Every interface is async so another backend (PostgreSQL) can
// implement it without touching callers; the SQLite backend lives in `sqlite/`. Each domain keeps
// its interface in its own module; `Storage` is the aggregate the services are built from.

export interface Storage {
  close(): void;
}
