// `mdm replay <fixture…>`: play the device side of recorded sessions against the server (a fresh
// in-process server per fixture by default, or a running one with --server) and print a diff per
// message that differs after normalisation. Exit 1 on any difference.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type Fixture, FixtureError, MANIFEST_FILE, readFixture } from '../replay/fixture.js';
import { formatReplay, type ReplayResult, replayFixture } from '../replay/runner.js';
import { CliError, runAction, withContext } from './context.js';
import { printHuman } from './output.js';
import { inProcessEnvironment, runningEnvironment } from './replay-environment.js';
import { serverTrust } from './simulate.js';

interface ReplayFlags {
  server?: string;
  publicUrl?: string;
  ca?: string;
  insecure?: boolean;
  update?: boolean;
}

/** Fixture folders named on the command line; a folder without a manifest stands for its subfolders. */
export function fixtureDirs(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p) || !statSync(p).isDirectory()) throw new CliError(`${p}: not a fixture folder`, 2);
    if (existsSync(join(p, MANIFEST_FILE))) {
      out.push(p);
      continue;
    }
    const subs = readdirSync(p)
      .map((name) => join(p, name))
      .filter((d) => statSync(d).isDirectory() && existsSync(join(d, MANIFEST_FILE)))
      .sort();
    if (subs.length === 0) throw new CliError(`${p}: no ${MANIFEST_FILE} here or in its subfolders`, 2);
    out.push(...subs);
  }
  return out;
}

function load(dirs: readonly string[]): Fixture[] {
  return dirs.map((dir) => {
    try {
      return readFixture(dir);
    } catch (err) {
      if (err instanceof FixtureError) throw new CliError(err.message, 2);
      throw err;
    }
  });
}

/** Replays fixtures one after another on fresh in-process servers. */
export async function replayInProcess(fixtures: readonly Fixture[], update = false): Promise<ReplayResult[]> {
  const envs = inProcessEnvironment();
  const results: ReplayResult[] = [];
  try {
    for (const fixture of fixtures) {
      const env = await envs.forFixture(fixture);
      try {
        results.push(await replayFixture(fixture, env, { update }));
      } finally {
        await env.close();
      }
    }
  } finally {
    envs.dispose();
  }
  return results;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('replay recorded sessions (fixture folders) against the server and diff its answers')
    .argument('<fixture...>', 'fixture folders (or folders of fixture folders, e.g. fixtures/)')
    .option('--server <url>', 'replay against this running server instead of an in-process one')
    .option('--public-url <url>', 'public URL of the running server, when it differs from --server')
    .option(
      '--ca <file>',
      'PEM the running server TLS certificate must chain to (default: the development certificate)',
    )
    .option('--insecure', 'accept any TLS certificate from the running server')
    .option('--update', "record the server's answers as the fixtures' expected responses")
    .action((paths: string[], flags: ReplayFlags, command: Command) =>
      runAction(async () => {
        const fixtures = load(fixtureDirs(paths));
        let results: ReplayResult[];
        if (flags.server) {
          const server = flags.server;
          results = await withContext(command, async ({ config, storage }) => {
            const env = runningEnvironment(server, storage, serverTrust(config, flags), flags.publicUrl);
            const out: ReplayResult[] = [];
            for (const fixture of fixtures)
              out.push(await replayFixture(fixture, env, { update: flags.update }));
            return out;
          });
        } else {
          results = await replayInProcess(fixtures, flags.update);
        }
        for (const r of results) printHuman(formatReplay(r));
        const failed = results.filter((r) => !r.ok).length;
        printHuman(`${results.length - failed}/${results.length} fixtures replayed clean`);
        if (failed > 0) process.exitCode = 1;
      }),
    );
}
