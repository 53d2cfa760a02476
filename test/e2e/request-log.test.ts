// Request logs name the path, never the query string: a query can carry a secret (the DIGEST
// session's RespURI token, a SCEP challenge in a GET, a sign-in token).
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DM_PATH } from '../../src/http/dm-endpoint.js';
import { createLogger } from '../../src/logger.js';
import { request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  server = await startTestServer({}, { logger: createLogger('debug', sink) });
});
afterAll(() => server?.close());

const SECRET = 'qs-secret-7f3a';

describe('request log', () => {
  it('logs method, full path and status of every request, without the query string', async () => {
    const sent = [
      { method: 'GET', path: '/api/v1/devices' },
      { method: 'GET', path: '/EnrollmentServer/Discovery.svc' },
      { method: 'POST', path: DM_PATH, body: '<SyncML/>' },
      { method: 'GET', path: '/console' },
      { method: 'GET', path: '/no/such/page' },
    ];
    for (const r of sent) {
      await request(`${server.url}${r.path}?token=${SECRET}&s=${SECRET}`, {
        method: r.method,
        ...(r.body && { body: r.body, headers: { 'Content-Type': 'application/vnd.syncml.dm+xml' } }),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));

    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(text).not.toContain(SECRET);
    const requests = lines.filter((l) => l.msg === 'request');
    for (const r of sent) {
      const line = requests.find((l) => l.method === r.method && l.path === r.path);
      expect(line, `${r.method} ${r.path}\n${text}`).toBeDefined();
      expect(typeof line!.status).toBe('number');
    }
  });
});
