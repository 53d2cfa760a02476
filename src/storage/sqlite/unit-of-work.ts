// One SQLite transaction around async work (an OMA-DM exchange with its hooks): `unitOfWork`
// opens BEGIN IMMEDIATE, runs the work, and commits, or rolls everything back if it throws. The
// connection is shared by the whole process, so while a unit is open every storage call made
// outside it waits until the unit ends; calls from inside (tracked with AsyncLocalStorage) run
// in the transaction, and the stores' own `db.transaction` blocks become savepoints.
// Store methods are synchronous under their async signatures (better-sqlite3), so a call, once
// admitted, runs to its end without interleaving.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqliteDb } from './database.js';

export interface UnitOfWorkGate {
  unitOfWork<T>(work: () => Promise<T>): Promise<T>;
  /** Wraps a store so each of its methods waits for another context's open unit first. */
  guard<S extends object>(store: S): S;
}

export function createUnitOfWorkGate(db: SqliteDb): UnitOfWorkGate {
  const context = new AsyncLocalStorage<symbol>();
  let owner: symbol | undefined;
  let idle: Promise<void> = Promise.resolve();

  const blocked = () => owner !== undefined && owner !== context.getStore();

  /** Waits out other contexts' units, then calls in the same turn as the last check. */
  async function callWhenAdmitted(fn: (...args: unknown[]) => unknown, target: object, args: unknown[]) {
    while (blocked()) await idle;
    return fn.apply(target, args);
  }

  async function unitOfWork<T>(work: () => Promise<T>): Promise<T> {
    if (owner !== undefined && owner === context.getStore()) return work(); // nested: join it
    // Wait, then claim in the same turn as the check, so two waiters never both get in.
    while (owner !== undefined) await idle;
    const token = Symbol('unit-of-work');
    owner = token;
    let release!: () => void;
    idle = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await context.run(token, work);
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      owner = undefined;
      release();
    }
  }

  function guard<S extends object>(store: S): S {
    const wrapped = new Map<PropertyKey, (...args: unknown[]) => unknown>();
    return new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        let fn = wrapped.get(prop);
        if (!fn) {
          fn = (...args: unknown[]) =>
            blocked() ? callWhenAdmitted(method, target, args) : method.apply(target, args);
          wrapped.set(prop, fn);
        }
        return fn;
      },
    });
  }

  return { unitOfWork, guard };
}
