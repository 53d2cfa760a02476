// Operations endpoints, outside /api/v1 and without a token: liveness, readiness (the database
// reachable and migrated), version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../catalog/catalog-file.js';
import { type RouteDef, route } from '../route.js';
import { Health, Ready, Version } from '../schemas.js';

let pkg: { name: string; version: string } | undefined;
export const packageVersion = () => packageInfo().version;
function packageInfo() {
  pkg ??= JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return pkg;
}

export const opsRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/healthz',
    public: true,
    tag: 'operations',
    role: 'auditor',
    summary: 'The process is up',
    responses: { 200: { description: 'up', schema: Health } },
    handler: async () => ({ body: { status: 'ok' } }),
  }),
  route({
    method: 'get',
    path: '/readyz',
    public: true,
    tag: 'operations',
    role: 'auditor',
    summary: 'The database is reachable and every migration applied (503 otherwise)',
    responses: {
      200: { description: 'ready', schema: Ready },
      503: { description: 'not ready', schema: Ready },
    },
    handler: async ({ storage }) => {
      const ok = await storage.ready().catch(() => false);
      return ok
        ? { body: { status: 'ready', database: true } }
        : { status: 503, body: { status: 'unavailable', database: false }, headers: { 'Retry-After': '5' } };
    },
  }),
  route({
    method: 'get',
    path: '/version',
    public: true,
    tag: 'operations',
    role: 'auditor',
    summary: 'Server name and version',
    responses: { 200: { description: 'the version', schema: Version } },
    handler: async () => {
      const { name, version } = packageInfo();
      return { body: { name, version, node: process.version } };
    },
  }),
];
