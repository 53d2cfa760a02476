// The WAL of a busy server stays bounded: past `walLimitBytes` the checkpointer holds the write
// queue, truncates the log and lets the queue go, and no write is lost or fails meanwhile.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { enrollmentFor } from './conformance.js';

const LIMIT = 512 * 1024;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const walBytes = (file: string) => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

async function writeSteadily(storage: Storage, file: string, megabytes: number) {
  const payload = 'p'.repeat(4000);
  const ids: string[] = [];
  let largestWal = 0;
  const rounds = Math.ceil((megabytes * 1024 * 1024) / (payload.length * 8));
  for (let i = 0; i < rounds; i++) {
    // Eight transactions per event-loop turn, as concurrent exchanges arrive: one group commit.
    const batch = await Promise.all(
      Array.from({ length: 8 }, () =>
        storage.transaction((tx) =>
          tx.commands.enqueue({
            deviceId: 'DEV1',
            command: {
              verb: 'Replace',
              items: [{ target: './Vendor/MSFT/X', format: 'chr', data: payload }],
            },
            origin: 'admin',
          }),
        ),
      ),
    );
    ids.push(...batch);
    largestWal = Math.max(largestWal, walBytes(file));
  }
  return { ids, largestWal };
}

describe('SQLite WAL under steady writes', () => {
  it('keeps the WAL near its limit and loses no write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdm-wal-'));
    dirs.push(dir);
    const file = join(dir, 'mdm.sqlite');
    const storage = openSqliteStorage({ file, checkpointIntervalMs: 5, walLimitBytes: LIMIT });
    await storage.devices.recordEnrollment(enrollmentFor({ serial: 'AA01' }));
    const { ids, largestWal } = await writeSteadily(storage, file, 24);
    // The log is truncated once it passes the limit; what it grows between two checks is bounded by
    // the writes of one check interval, far below the 24 MB written.
    expect(largestWal).toBeLessThan(8 * 1024 * 1024);
    expect(new Set(ids).size).toBe(ids.length);
    const sample = [ids[0]!, ids[Math.floor(ids.length / 2)]!, ids.at(-1)!];
    for (const id of sample) expect(await storage.commands.get(id)).toMatchObject({ state: 'pending' });
    await storage.close();
  });
});
