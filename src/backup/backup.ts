// `mdm backup` / `mdm restore` and the server's scheduled backups: one consistent, encrypted archive
// (archive.ts) of what a deployment cannot lose.
//
// Members:
//   database.sqlite        the database: SQLite through the online backup API (sqlite3_backup, safe
//                          while the server writes), PostgreSQL read in one REPEATABLE READ snapshot
//                          into a SQLite database of the same schema (copy.ts) — so every archive
//                          restores into either backend
//   certs/ca.crt, ca.key   the enrollment CA (configured MDM_CA_CERT/MDM_CA_KEY or the development CA)
//   certs/tls.crt, tls.key the TLS certificate and key, when present
//   data/token-secret      the generated token secret, when the server uses one
//   config/config-file     the configuration file (MDM_CONFIG / --config), when one is used
//   config/environment.json MDM_* variables of the process taking the backup (never the passphrase)
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Config } from '../config.js';
import { CopyError, copySqliteToPostgres, exportPostgresToSqlite } from '../storage/copy.js';
import { isPostgresUrl, sqliteFile } from '../storage/open.js';
import { migratePostgresUrl, POSTGRES_SCHEMA_VERSION } from '../storage/postgres/index.js';
import { openSqlite, SQLITE_SCHEMA_VERSION } from '../storage/sqlite/database.js';
import { acquireServerLock, ServerLockError } from '../storage/sqlite/server-lock.js';
import {
  ArchiveError,
  type ArchiveMember,
  checkPassphrase,
  type Manifest,
  openArchive,
  sealArchive,
} from './archive.js';

export const DATABASE_MEMBER = 'database.sqlite';

export class BackupError extends Error {
  override name = 'BackupError';
}

/** Where each file member lives for a configuration (read on backup, written on restore). */
function fileMembers(config: Config): { name: string; path: string; mode: number }[] {
  return [
    { name: 'certs/ca.crt', path: config.caCert ?? join(config.certsDir, 'ca.crt'), mode: 0o644 },
    { name: 'certs/ca.key', path: config.caKey ?? join(config.certsDir, 'ca.key'), mode: 0o600 },
    { name: 'certs/tls.crt', path: config.tlsCert ?? join(config.certsDir, 'tls.crt'), mode: 0o644 },
    { name: 'certs/tls.key', path: config.tlsKey ?? join(config.certsDir, 'tls.key'), mode: 0o600 },
    { name: 'data/token-secret', path: join(config.dataDir, 'token-secret'), mode: 0o600 },
  ];
}

/** A consistent copy of the SQLite database at `file` into `target`, while a server may write to it. */
async function backupSqlite(file: string, target: string): Promise<void> {
  if (!existsSync(file)) throw new BackupError(`no SQLite database at ${file}`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 60000');
    // sqlite3_backup restarts when another connection writes between two steps; copying everything
    // in the second step keeps that window small (readers never block the writer in WAL mode).
    await db.backup(target, { progress: () => 1 << 30 });
  } finally {
    db.close();
  }
}

export interface BackupResult {
  readonly archive: Buffer;
  readonly manifest: Manifest;
}

export interface BackupOptions {
  /** The configuration file the deployment runs with, to keep beside the data. */
  readonly configFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: Date;
}

/** Builds the encrypted archive of the deployment `config` describes. */
export async function createBackup(
  config: Config,
  passphrase: string,
  options: BackupOptions = {},
): Promise<BackupResult> {
  const members: ArchiveMember[] = [];
  const work = mkdtempSync(join(tmpdir(), 'mdm-backup-'));
  try {
    const dbFile = join(work, DATABASE_MEMBER);
    const postgres = isPostgresUrl(config.databaseUrl);
    try {
      if (postgres) await exportPostgresToSqlite(config.databaseUrl as string, dbFile);
      else await backupSqlite(sqliteFile(config), dbFile);
    } catch (err) {
      if (err instanceof CopyError || err instanceof BackupError) throw new BackupError(err.message);
      throw new BackupError(`could not read the database: ${(err as Error).message}`);
    }
    members.push({ name: DATABASE_MEMBER, data: readFileSync(dbFile), mode: 0o600 });
    const found = new Set<string>();
    for (const m of fileMembers(config)) {
      if (!existsSync(m.path)) continue;
      members.push({ name: m.name, data: readFileSync(m.path), mode: m.mode });
      found.add(m.name);
    }
    if (!found.has('certs/ca.crt') || !found.has('certs/ca.key'))
      throw new BackupError(
        `no enrollment CA at ${fileMembers(config)[0]!.path}: start the server once, or set MDM_CA_CERT and MDM_CA_KEY`,
      );
    if (options.configFile && existsSync(options.configFile))
      members.push({ name: 'config/config-file', data: readFileSync(options.configFile), mode: 0o600 });
    const env = Object.fromEntries(
      Object.entries(options.env ?? process.env).filter(
        ([k]) => k.startsWith('MDM_') && !k.startsWith('MDM_BACKUP_PASSPHRASE'),
      ),
    );
    members.push({
      name: 'config/environment.json',
      data: Buffer.from(`${JSON.stringify(env, null, 2)}\n`),
      mode: 0o600,
    });
    const source = {
      backend: postgres ? 'postgres' : 'sqlite',
      sqliteSchema: SQLITE_SCHEMA_VERSION,
      ...(postgres && { postgresSchema: POSTGRES_SCHEMA_VERSION }),
    };
    const archive = await sealArchive(members, source, passphrase, options.now);
    const { manifest } = await openArchive(archive, passphrase);
    return { archive, manifest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes `data` to `file` through a temporary file in the same folder and a rename. */
export function writeAtomically(file: string, data: Buffer, mode: number): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

export interface RestoreOptions {
  /** Overwrite a database and files that are already there. */
  readonly force?: boolean;
}

export interface RestoreResult {
  readonly manifest: Manifest;
  /** Where each member went. */
  readonly written: readonly { name: string; to: string }[];
}

async function postgresHasRows(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`,
    );
    for (const { table_name: t } of tables.rows) {
      const r = await client.query(`SELECT 1 FROM "${t.replace(/"/g, '""')}" LIMIT 1`);
      if (r.rows.length > 0) return t;
    }
    return undefined;
  } finally {
    await client.end();
  }
}

function sqliteHasRows(file: string): string | undefined {
  if (!existsSync(file) || statSync(file).size === 0) return undefined;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[];
    for (const { name } of tables) {
      if (db.prepare(`SELECT 1 FROM "${name.replace(/"/g, '""')}" LIMIT 1`).get()) return name;
    }
    return undefined;
  } finally {
    db.close();
  }
}

/**
 * Restores an archive into the deployment `config` describes: its database (SQLite file or
 * PostgreSQL database, whatever the archive's source backend), CA, TLS material and token secret.
 * The archive is decrypted and every checksum verified before anything is written; a target that
 * already holds data is refused unless `force`.
 */
export async function restoreBackup(
  config: Config,
  archive: Buffer,
  passphrase: string,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const opened = await openArchive(archive, passphrase);
  const database = opened.members.get(DATABASE_MEMBER);
  if (!database) throw new ArchiveError(`the archive has no ${DATABASE_MEMBER}`);
  const targets = fileMembers(config).filter((m) => opened.members.has(m.name));

  // What is already there.
  const postgres = isPostgresUrl(config.databaseUrl);
  const occupied: string[] = [];
  const dbFile = postgres ? undefined : sqliteFile(config);
  let lock: { release(): void } | undefined;
  try {
    if (dbFile) {
      try {
        mkdirSync(dirname(dbFile), { recursive: true });
        lock = acquireServerLock(dbFile);
      } catch (err) {
        if (err instanceof ServerLockError)
          throw new BackupError(`a server is running on ${dbFile}: stop it before restoring`);
        throw err;
      }
      const table = sqliteHasRows(dbFile);
      if (table) occupied.push(`the database ${dbFile} holds data (table ${table})`);
    } else {
      let table: string | undefined;
      try {
        table = await postgresHasRows(config.databaseUrl as string);
      } catch (err) {
        throw new BackupError(`the PostgreSQL database is unreachable: ${(err as Error).message}`);
      }
      if (table) occupied.push(`the PostgreSQL database holds data (table ${table})`);
    }
    for (const t of targets) if (existsSync(t.path)) occupied.push(t.path);
    if (occupied.length > 0 && !options.force)
      throw new BackupError(
        `refusing to overwrite what is there (restore into an empty data folder and database, or pass --force):\n  ${occupied.join('\n  ')}`,
      );

    const written: { name: string; to: string }[] = [];
    const work = mkdtempSync(join(tmpdir(), 'mdm-restore-'));
    try {
      // The database first: the member is checked (integrity, schema) before it replaces anything.
      const staged = join(work, DATABASE_MEMBER);
      writeFileSync(staged, database.data, { mode: 0o600 });
      const check = new Database(staged, { fileMustExist: true });
      try {
        const result = check.pragma('integrity_check', { simple: true });
        if (result !== 'ok')
          throw new ArchiveError(`the archived database fails its integrity check: ${result}`);
        const version = check.pragma('user_version', { simple: true }) as number;
        if (version > SQLITE_SCHEMA_VERSION)
          throw new BackupError(
            `the archived database is at schema ${version}, newer than this version (${SQLITE_SCHEMA_VERSION}): upgrade first`,
          );
      } finally {
        check.close();
      }
      // An archive from an older version: bring it to this schema before it goes anywhere.
      openSqlite({ file: staged, checkpointIntervalMs: 0 }).close();
      if (dbFile) {
        for (const suffix of ['-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
        writeAtomically(dbFile, readFileSync(staged), 0o600);
        written.push({ name: DATABASE_MEMBER, to: dbFile });
      } else {
        const url = config.databaseUrl as string;
        await migratePostgresUrl(url);
        try {
          await copySqliteToPostgres(staged, url, { replace: options.force === true });
        } catch (err) {
          if (err instanceof CopyError) throw new BackupError(err.message);
          throw err;
        }
        written.push({ name: DATABASE_MEMBER, to: 'PostgreSQL' });
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    for (const t of targets) {
      const member = opened.members.get(t.name)!;
      writeAtomically(t.path, member.data, member.mode);
      written.push({ name: t.name, to: t.path });
    }
    // The archived configuration is put beside the data for the operator to compare, never applied.
    for (const name of ['config/config-file', 'config/environment.json']) {
      const member = opened.members.get(name);
      if (!member) continue;
      const to = join(config.dataDir, 'restored-config', basename(name));
      writeAtomically(to, member.data, 0o600);
      written.push({ name, to });
    }
    return { manifest: opened.manifest, written };
  } finally {
    lock?.release();
  }
}

/**
 * The passphrase: `--passphrase-file`, else MDM_BACKUP_PASSPHRASE_FILE, else MDM_BACKUP_PASSPHRASE.
 * A file's first line is used (a trailing newline is not part of it).
 */
export function resolvePassphrase(
  config: Pick<Config, 'backupPassphrase' | 'backupPassphraseFile'>,
  passphraseFile?: string,
): string {
  const file = passphraseFile ?? config.backupPassphraseFile;
  let passphrase = config.backupPassphrase;
  if (file) {
    try {
      passphrase = readFileSync(file, 'utf8').split(/\r?\n/)[0];
    } catch (err) {
      throw new ArchiveError(
        `passphrase file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
  }
  return checkPassphrase(passphrase);
}
