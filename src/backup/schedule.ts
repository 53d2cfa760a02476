// Scheduled backups from the server itself: every `backupInterval` an encrypted archive
// (backup.ts) is written into `backupDir` as `mdm-backup-<UTC time>.mdmbak`, and all but the newest
// `backupKeep` of those files are deleted. Off the request path; a failed run is logged and audited,
// and the next one is tried at the next interval. With several instances on one PostgreSQL
// database, set MDM_BACKUP_DIR on one of them.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import { createBackup, resolvePassphrase, writeAtomically } from './backup.js';

const NAME = /^mdm-backup-\d{8}T\d{6}(\d{3})?Z\.mdmbak$/;

export interface ScheduledBackupOptions {
  readonly config: Config;
  readonly storage: Pick<Storage, 'audit'>;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export interface ScheduledBackups {
  /** One backup now; resolves with the file written. */
  runOnce(): Promise<string>;
  stop(): void;
}

/** `2026-12-03T07:01:02.345Z` → `20261203T070102345Z` (sorts by time). */
const stamp = (d: Date) => d.toISOString().replace(/[-:.]/g, '');

export function startScheduledBackups(options: ScheduledBackupOptions): ScheduledBackups {
  const { config, logger } = options;
  const dir = config.backupDir as string;
  const now = options.now ?? (() => new Date());
  let running: Promise<string> | undefined;

  async function pass(): Promise<string> {
    const at = now();
    const file = join(dir, `mdm-backup-${stamp(at)}.mdmbak`);
    try {
      const passphrase = resolvePassphrase(config);
      const { archive, manifest } = await createBackup(config, passphrase, {
        now: at,
        ...(process.env.MDM_CONFIG && { configFile: process.env.MDM_CONFIG }),
      });
      writeAtomically(file, archive, 0o600);
      const old = readdirSync(dir)
        .filter((n) => NAME.test(n))
        .sort()
        .reverse()
        .slice(config.backupKeep);
      for (const n of old) rmSync(join(dir, n), { force: true });
      logger.info({ file, bytes: archive.length, deleted: old.length }, 'scheduled backup written');
      await options.storage.audit.record({
        actor: 'server',
        action: 'backup.scheduled',
        details: { file, bytes: archive.length, members: manifest.members.length, deleted: old },
      });
      return file;
    } catch (err) {
      logger.error({ err: (err as Error).message, dir }, 'scheduled backup failed');
      await options.storage.audit
        .record({
          actor: 'server',
          action: 'backup.failed',
          details: { dir, error: (err as Error).message },
        })
        .catch(() => undefined);
      throw err;
    }
  }

  function runOnce(): Promise<string> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    runOnce().catch(() => undefined);
  }, config.backupInterval * 1000);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
