// Shared plumbing for `mdm` commands: the configuration (global `--config`, MDM_* variables, the
// command's own flags) and the server's storage, opened on the same database the server uses.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { type Config, loadConfig } from '../config.js';
import type { Storage } from '../storage/index.js';
import { openStorage } from '../storage/open.js';

/** Error with a message for the user and an exit code; printed without a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CliContext {
  readonly config: Config;
  readonly storage: Storage;
}

/**
 * Configuration for a command: `--config` (from any level of the command tree) or MDM_CONFIG,
 * then MDM_* variables, then `flags` (camelCase config keys; undefined values ignored).
 */
export function configFor(
  command: Command,
  flags: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const { config: configFile } = command.optsWithGlobals<{ config?: string }>();
  return loadConfig({ env, flags, configFile });
}

/** Runs `fn` with config and an open storage; closes the storage afterwards. */
export async function withContext<T>(
  command: Command,
  fn: (context: CliContext) => Promise<T>,
  flags: Record<string, unknown> = {},
): Promise<T> {
  const config = configFor(command, flags);
  const storage = openStorage(config, { role: 'cli' });
  try {
    return await fn({ config, storage });
  } finally {
    await storage.close();
  }
}

/** Runs an async action and turns `CliError` into a message on stderr and an exit code. */
export async function runAction(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

/** Who runs an audited command: `--actor`, else the OS user. */
export function actorOf(options: { actor?: string }): string {
  if (options.actor?.trim()) return options.actor.trim();
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
