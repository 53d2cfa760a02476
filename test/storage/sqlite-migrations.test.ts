// Upgrading an existing SQLite database: a database at schema 5 (per-node dm_sent rows, two
// check-in tables) keeps its queue, node records and check-ins through migration 6.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { migrations } from '../../src/storage/sqlite/migrations/index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const AT = '2026-02-01T00:00:00.000Z';

describe('SQLite migration 6', () => {
  it('moves sent nodes into the command records, re-queues commands of open sessions, merges check-ins', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mdm-migrate-'));
    const file = join(dir, 'mdm.sqlite');
    const old = new Database(file);
    for (const m of migrations.filter((x) => x.version <= 5)) {
      old.exec(m.sql);
      old.pragma(`user_version = ${m.version}`);
    }
    old.exec(`
      INSERT INTO devices (device_id, macs, created_at, updated_at) VALUES ('D1', '[]', '${AT}', '${AT}');
      INSERT INTO enrollments (enrollment_id, device_id, user_upn, enrollment_type, auth_policy, provider_id, status,
        enrolled_at, appsrv_name, appsrv_secret, appsrv_nonce, client_secret, client_nonce)
        VALUES ('E1', 'D1', 'u@x', 'Full', 'OnPremise', 'P', 'active', '${AT}', 'n', 's', 'bg==', 'c', 'bg==');
      INSERT INTO users (upn, password_hash, created_at) VALUES ('Ann@Example.com', 'h', '${AT}');
      INSERT INTO dm_commands (command_id, device_id, origin, payload, state, status_code, attempts, created_at)
        VALUES ('c-done', 'D1', 'admin', '{"verb":"Get","items":[{"target":"./A"}]}', 'done', 200, 1, '${AT}'),
               ('c-sent', 'D1', 'policy', '{"verb":"Get","items":[{"target":"./B"}]}', 'sent', NULL, 1, '${AT}'),
               ('c-pending', 'D1', 'admin', '{"verb":"Get","items":[{"target":"./C"}]}', 'pending', NULL, 0, '${AT}');
      INSERT INTO dm_sessions (id, device_id, session_id, state, status, started_at, updated_at)
        VALUES (7, 'D1', '1A', '{}', 'active', '${AT}', '${AT}');
      INSERT INTO dm_sent (session_row, msg_id, cmd_id, command_id, path, verb, targets, status_code, results, sent_at, answered_at)
        VALUES (7, 1, 3, 'c-done', '', 'Get', '["./A"]', 200, '[{"locUri":"./A","data":"x"}]', '${AT}', '${AT}'),
               (7, 1, 4, 'c-sent', '', 'Get', '["./B"]', NULL, NULL, '${AT}', NULL);
      INSERT INTO dm_checkins (device_id, last_checkin_at, last_inventory_at, login_status, sessions)
        VALUES ('D1', '${AT}', '${AT}', NULL, 4);
      INSERT INTO device_checkins (device_id, count, last_at, user_logged_on) VALUES ('D1', 4, '${AT}', 1);
    `);
    old.close();

    const storage = openSqliteStorage({ file, checkpointIntervalMs: 0 });
    try {
      expect(await storage.ready()).toBe(true);
      expect(await storage.commands.listNodes('c-done')).toEqual([
        {
          sessionId: '1A',
          msgId: 1,
          cmdId: 3,
          commandId: 'c-done',
          path: '',
          verb: 'Get',
          targets: ['./A'],
          status: 200,
          originalError: null,
          results: [{ locUri: './A', data: 'x' }],
          sentAt: AT,
          answeredAt: AT,
        },
      ]);
      expect(await storage.commands.get('c-sent')).toMatchObject({ state: 'pending', attempts: 1 });
      const snap = await storage.dmSessions.loadExchange('D1', '1A');
      expect(snap.active).toEqual([]);
      expect(snap.session?.status).toBe('closed');
      expect(snap.pending.map((q) => q.id)).toEqual(['c-sent', 'c-pending']);
      expect(await storage.checkIns.get('D1')).toMatchObject({ sessions: 4, lastInventoryAt: AT });
      expect(await storage.users.getUser('ann@example.com')).toBeDefined();
    } finally {
      await storage.close();
    }
  });
});
