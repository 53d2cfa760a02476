import { afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';

let storage: Storage;
afterEach(() => storage?.close());

const actions = async () => (await storage.audit.list({})).map((e) => e.action).sort();

describe('storage unit of work (one SQLite transaction around async work)', () => {
  it('commits every write of the unit together', async () => {
    storage = openSqliteStorage({ file: ':memory:' });
    await storage.unitOfWork(async () => {
      await storage.audit.record({ actor: 't', action: 'a', details: {} });
      await storage.audit.record({ actor: 't', action: 'b', details: {} });
    });
    expect(await actions()).toEqual(['a', 'b']);
  });

  it('rolls back every write of a unit that throws, including nested store transactions', async () => {
    storage = openSqliteStorage({ file: ':memory:' });
    await expect(
      storage.unitOfWork(async () => {
        await storage.audit.record({ actor: 't', action: 'a', details: {} });
        await storage.users.addUser('ann@contoso.com', 'scrypt$x');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await actions()).toEqual([]);
    expect(await storage.users.getUser('ann@contoso.com')).toBeUndefined();
  });

  it('makes calls from outside wait, so they are neither inside the unit nor lost with it', async () => {
    storage = openSqliteStorage({ file: ':memory:' });
    let release!: () => void;
    const paused = new Promise<void>((r) => {
      release = r;
    });
    const unit = storage.unitOfWork(async () => {
      await storage.audit.record({ actor: 't', action: 'inside', details: {} });
      await paused;
      throw new Error('rolled back');
    });
    // A write from another request while the unit is open: it must wait for the unit to end.
    const outside = storage.audit.record({ actor: 't', action: 'outside', details: {} });
    await new Promise((r) => setImmediate(r));
    release();
    await expect(unit).rejects.toThrow('rolled back');
    await outside;
    expect(await actions()).toEqual(['outside']);
  });

  it('runs a nested unit inside the outer one, and units one after another', async () => {
    storage = openSqliteStorage({ file: ':memory:' });
    await Promise.all([
      storage.unitOfWork(async () => {
        await storage.unitOfWork(() => storage.audit.record({ actor: 't', action: 'nested', details: {} }));
      }),
      storage.unitOfWork(() => storage.audit.record({ actor: 't', action: 'second', details: {} })),
    ]);
    expect(await actions()).toEqual(['nested', 'second']);
  });
});
