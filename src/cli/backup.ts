// `mdm backup <file>` and `mdm restore <file>`: one encrypted archive of the database, the CA and
// TLS material, the token secret and the configuration (src/backup/backup.ts), and back.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ArchiveError } from '../backup/archive.js';
import {
  BackupError,
  createBackup,
  resolvePassphrase,
  restoreBackup,
  writeAtomically,
} from '../backup/backup.js';
import { openStorage } from '../storage/open.js';
import { actorOf, CliError, configFor, runAction } from './context.js';

const refuse = (err: unknown): never => {
  if (err instanceof ArchiveError || err instanceof BackupError) throw new CliError(err.message);
  throw err;
};

/** Records an audit entry; a database that cannot take it does not undo the finished work. */
async function audit(
  config: ReturnType<typeof configFor>,
  actor: string,
  action: string,
  details: Record<string, unknown>,
): Promise<void> {
  const storage = openStorage(config, { role: 'cli' });
  try {
    await storage.audit.record({ actor, action, details });
  } finally {
    await storage.close();
  }
}

export function registerBackup(program: Command): void {
  program
    .command('backup <file>')
    .description(
      'write an encrypted archive of the database, CA, TLS material, token secret and configuration',
    )
    .option('--passphrase-file <file>', 'file holding the passphrase (else MDM_BACKUP_PASSPHRASE)')
    .option('--force', 'overwrite <file> if it exists')
    .option('--actor <name>', 'who runs it, for the audit log (default: the OS user)')
    .action(
      (
        file: string,
        options: { passphraseFile?: string; force?: boolean; actor?: string },
        command: Command,
      ) =>
        runAction(async () => {
          const config = configFor(command);
          if (existsSync(file) && !options.force)
            throw new CliError(`${file} exists; pass --force to overwrite it`);
          const passphrase = (() => {
            try {
              return resolvePassphrase(config, options.passphraseFile);
            } catch (err) {
              return refuse(err);
            }
          })();
          const configFile = command.optsWithGlobals<{ config?: string }>().config;
          const result = await createBackup(config, passphrase, {
            ...((configFile ?? process.env.MDM_CONFIG) && {
              configFile: configFile ?? process.env.MDM_CONFIG,
            }),
          }).catch(refuse);
          writeAtomically(file, result.archive, 0o600);
          for (const m of result.manifest.members)
            process.stdout.write(`${m.name}\t${m.size}\tsha256:${m.sha256}\n`);
          process.stdout.write(
            `wrote ${file} (${result.archive.length} bytes, ${result.manifest.members.length} members, AES-256-GCM)\n`,
          );
          await audit(config, actorOf(options), 'backup.create', {
            file,
            bytes: result.archive.length,
            members: result.manifest.members.map((m) => m.name),
          });
        }),
    );

  program
    .command('restore <file>')
    .description('restore an archive from `mdm backup` into an empty data folder and database')
    .option('--passphrase-file <file>', 'file holding the passphrase (else MDM_BACKUP_PASSPHRASE)')
    .option('--force', 'overwrite a database and files that hold data')
    .option('--actor <name>', 'who runs it, for the audit log (default: the OS user)')
    .action(
      (
        file: string,
        options: { passphraseFile?: string; force?: boolean; actor?: string },
        command: Command,
      ) =>
        runAction(async () => {
          const config = configFor(command);
          let archive: Buffer;
          try {
            archive = readFileSync(file);
          } catch (err) {
            throw new CliError(`${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
          }
          let passphrase: string;
          try {
            passphrase = resolvePassphrase(config, options.passphraseFile);
          } catch (err) {
            return refuse(err);
          }
          const result = await restoreBackup(config, archive, passphrase, {
            force: options.force === true,
          }).catch(refuse);
          for (const w of result.written) process.stdout.write(`${w.name}\t-> ${w.to}\n`);
          process.stdout.write(
            `restored the backup of ${result.manifest.createdAt} (${result.manifest.source.backend}); every checksum verified\n`,
          );
          await audit(config, actorOf(options), 'backup.restore', {
            file,
            createdAt: result.manifest.createdAt,
            force: options.force === true,
          });
        }),
    );
}
