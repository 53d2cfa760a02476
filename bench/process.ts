// Child-process plumbing for the benchmark: build a child's entry into one plain JavaScript file
// (esbuild, which tsx already brings), fork it, wait for typed IPC messages, stop cleanly.
// Children run compiled code like `npm start` does: no TypeScript loader thread in the measured
// process (it adds tens of MB of RSS and transpiles on load).
import { type ChildProcess, fork, type StdioOptions } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when the module at `url` is the script Node was started with. */
export function isEntryPoint(url: string): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(url);
}

export interface ForkOptions {
  readonly env?: Record<string, string>;
  /** Extra Node flags (e.g. `--cpu-prof`). */
  readonly nodeFlags?: readonly string[];
  /** stdout/stderr destination: 'inherit', 'ignore' or an open file descriptor. */
  readonly output?: 'inherit' | 'ignore' | number;
  /** Run the TypeScript sources through tsx instead of the bundle (CPU profiles then name source files). */
  readonly fromSource?: boolean;
}

const BUILD_DIR = fileURLToPath(new URL('./results/.build/', import.meta.url));
const built = new Map<string, Promise<string>>();

/**
 * Bundles `bench/<file>` (our modules inlined, packages left to node_modules) and writes a launcher
 * that imports it and calls its `startChild()`. The launcher is what Node runs, so no module's
 * "am I the entry point?" check fires inside the bundle. Falls back to the tsx loader when esbuild
 * cannot be loaded.
 */
function buildEntry(file: string): Promise<string> {
  let promise = built.get(file);
  if (!promise) {
    promise = (async () => {
      const name = file.replace(/^\.\//, '').replace(/\.ts$/, '');
      const bundle = join(BUILD_DIR, `${name}.mjs`);
      const launcher = join(BUILD_DIR, `${name}-launch.mjs`);
      mkdirSync(BUILD_DIR, { recursive: true });
      const esbuild = await import('esbuild');
      await esbuild.build({
        entryPoints: [fileURLToPath(new URL(file, import.meta.url))],
        outfile: bundle,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        sourcemap: 'linked',
        logLevel: 'error',
      });
      writeFileSync(launcher, `import { startChild } from './${name}.mjs';\nstartChild();\n`);
      return launcher;
    })();
    built.set(file, promise);
  }
  return promise;
}

/** Forks `bench/<file>` (which exports `startChild()`) with an IPC channel. */
export async function forkBench(file: string, options: ForkOptions = {}): Promise<ChildProcess> {
  const out = options.output ?? 'inherit';
  const stdio: StdioOptions = ['ignore', out, out, 'ipc'];
  const env = { ...process.env, ...options.env };
  let script: string;
  let loader: string[] = [];
  try {
    if (options.fromSource) throw new Error('sources requested');
    script = await buildEntry(file);
  } catch {
    script = fileURLToPath(new URL(file, import.meta.url));
    loader = ['--import', 'tsx'];
  }
  return fork(script, [], {
    execArgv: [...loader, '--enable-source-maps', ...(options.nodeFlags ?? [])],
    env,
    stdio,
  });
}

/** Resolves with the child's next message of `type`; rejects on an `error` message or an early exit. */
export function nextMessage<T>(child: ChildProcess, type: string, timeoutMs = 600_000): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`no '${type}' message from the child within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (msg: { type?: string; message?: string }) => {
      if (msg.type === type) finish(undefined, msg as T);
      else if (msg.type === 'error') finish(new Error(`child process failed: ${msg.message}`));
    };
    const onExit = (code: number | null) =>
      finish(new Error(`child process exited (code ${code}) before '${type}'`));
    function finish(err: Error | undefined, value?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolvePromise(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Sends `message` and waits for the reply of `replyType`. */
export function ask<T>(
  child: ChildProcess,
  message: object,
  replyType: string,
  timeoutMs?: number,
): Promise<T> {
  const reply = nextMessage<T>(child, replyType, timeoutMs);
  child.send(message);
  return reply;
}

/** Asks the child to stop and waits for it to exit (killing it after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // With a callback, a child that is already on its way out cannot raise EPIPE here.
  if (child.connected) child.send({ type: 'stop' }, () => undefined);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
