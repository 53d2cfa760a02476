/**
 * Runs a CLI action in-process and returns what it wrote to stdout and stderr and the exit code it
 * set (`process.exitCode`, reset afterwards so one run cannot leak into the next).
 *
 * ```ts
 * const { out, err, code } = await captureCli(() => main(['node', 'mdm', 'users', 'list']));
 * ```
 */
import { vi } from 'vitest';

export interface CliRun {
  readonly out: string;
  readonly err: string;
  readonly code: number;
}

export async function captureCli(run: () => Promise<unknown>): Promise<CliRun> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    await run();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, code };
}
