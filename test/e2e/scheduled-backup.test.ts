// Scheduled backups: the server writes encrypted archives into MDM_BACKUP_DIR and keeps the newest
// MDM_BACKUP_KEEP of them; each one opens with the passphrase and holds the database and the CA.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openArchive } from '../../src/backup/archive.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('scheduled backups', () => {
  const root = mkdtempSync(join(tmpdir(), 'mdm-scheduled-'));
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('needs a passphrase and a valid interval', () => {
    expect(() => loadConfig({ env: { MDM_BACKUP_DIR: root } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { MDM_BACKUP_DIR: root } })).toThrow(/MDM_BACKUP_PASSPHRASE/);
    expect(() => loadConfig({ env: { MDM_BACKUP_INTERVAL: 'soon' } })).toThrow(
      /backupInterval \(MDM_BACKUP_INTERVAL\): expected a duration/,
    );
    expect(() => loadConfig({ env: { MDM_BACKUP_INTERVAL: '10s' } })).toThrow(/backupInterval/);
    expect(loadConfig({ env: { MDM_BACKUP_INTERVAL: '6h' } }).backupInterval).toBe(21_600);
    expect(loadConfig({ env: { MDM_BACKUP_INTERVAL: '90' } }).backupInterval).toBe(5400);
    expect(loadConfig({ env: {} }).backupInterval).toBe(86_400);
    expect(loadConfig({ env: {} }).backupKeep).toBe(7);
  });

  it('writes archives into the folder and keeps the newest N', async () => {
    const dir = join(root, 'backups');
    const passFile = join(root, 'pass');
    writeFileSync(passFile, 'scheduled backup passphrase\n');
    server = await startTestServer({ backupDir: dir, backupPassphraseFile: passFile, backupKeep: 2 });
    expect(server.backups).toBeDefined();
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      files.push(await server.backups!.runOnce());
      await new Promise((r) => setTimeout(r, 5));
    }
    const kept = readdirSync(dir).sort();
    expect(kept).toHaveLength(2);
    expect(kept.map((n) => join(dir, n))).toEqual(files.slice(1));
    for (const n of kept) expect(n).toMatch(/^mdm-backup-\d{8}T\d{9}Z\.mdmbak$/);
    const opened = await openArchive(readFileSync(files[2]!), 'scheduled backup passphrase');
    expect([...opened.members.keys()]).toEqual(
      expect.arrayContaining(['database.sqlite', 'certs/ca.crt', 'certs/ca.key', 'data/token-secret']),
    );
    const audit = await server.storage.audit.list({ limit: 10 });
    expect(audit.filter((e) => e.action === 'backup.scheduled')).toHaveLength(3);
    expect(audit[0]).toMatchObject({ actor: 'server', details: { deleted: [files[0]!.split('/').pop()] } });
  });
});
