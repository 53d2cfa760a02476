// A throwaway PostgreSQL server for the tests, from the system's PostgreSQL binaries (initdb,
// pg_ctl): a fresh cluster in a temp dir on a free loopback port, run as the `postgres` system user
// when the tests run as root (PostgreSQL refuses root). `startTestPostgres` is used by the vitest
// global setup (postgres-global.ts); test files get a fresh database per test from `testDatabase`.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migratePostgresUrl } from '../../src/storage/postgres/index.js';

export const INSTALL_HINT =
  'PostgreSQL is not installed: install it (Debian/Ubuntu: apt-get install postgresql) to run the PostgreSQL suites';

/** Directory holding initdb and pg_ctl, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.MDM_TEST_PG_BIN) candidates.push(process.env.MDM_TEST_PG_BIN);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a)))
      candidates.push(join(root, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  return candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface TestPostgres {
  /** Superuser URL of the cluster's `postgres` database. */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** pg_ctl as the cluster's owner (restart, stop …). */
  ctl(...args: string[]): void;
  stop(): void;
}

const USER = 'mdm';

export async function startTestPostgres(bin: string): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'mdm-pg-'));
  const asRoot = process.getuid?.() === 0;
  const dataDir = join(root, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(root, uid, gid);
  }
  chmodSync(root, 0o700);
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, cmd), args, { stdio: 'pipe' });
  run('initdb', ['-D', dataDir, '-U', USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${root}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const ctl = (...args: string[]) => {
    run('pg_ctl', ['-D', dataDir, '-w', '-t', '60', ...args]);
  };
  ctl('-o', options, '-l', join(root, 'server.log'), 'start');
  return {
    adminUrl: `postgres://${USER}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    ctl: (...args: string[]) =>
      args[0] === 'restart' || args[0] === 'start'
        ? ctl('-o', options, '-l', join(root, 'server.log'), ...args)
        : ctl(...args),
    stop() {
      try {
        ctl('-m', 'immediate', 'stop');
      } catch {
        // already stopped
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The template database every test database is copied from: migrated once. */
export const TEMPLATE_DB = 'mdm_template';

export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function prepareTemplate(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  await migratePostgresUrl(databaseUrl(adminUrl, TEMPLATE_DB));
}

let counter = 0;

/** A new, migrated, empty database on the test cluster; returns its URL. */
export async function createTestDatabase(
  adminUrl: string,
  options: { empty?: boolean } = {},
): Promise<string> {
  const name = `t_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${options.empty ? 'template0' : TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(adminUrl, name);
}
