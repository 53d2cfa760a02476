// A PostgreSQL database that is down when the server starts, or lost while it runs: the server
// keeps running, logs why, answers every protocol's own "unavailable" (a SOAP fault, SyncML status
// 503, problem+json, all HTTP 503 with Retry-After), and serves normally once the database is back.
import { Writable } from 'node:stream';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { createLogger } from '../../src/logger.js';
import { createApiToken } from '../../src/reporting/api-tokens.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { getPoliciesRequest, SOAP_CONTENT_TYPE } from '../../src/simulator/enroll-messages.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { httpTransport } from '../../src/simulator/transport.js';
import { postgresAvailable } from '../support/backends.js';
import {
  databaseUrl,
  INSTALL_HINT,
  postgresBinDir,
  startTestPostgres,
  type TestPostgres,
} from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'outage@contoso.com';
const PASSWORD = 'Outage-pass-1';

describe.skipIf(!postgresAvailable())(
  `database outage${postgresAvailable() ? '' : ` (${INSTALL_HINT})`}`,
  () => {
    let cluster: TestPostgres;
    let server: TestServer;
    const logs: string[] = [];

    beforeAll(async () => {
      cluster = await startTestPostgres(postgresBinDir()!);
      const admin = new pg.Client({ connectionString: cluster.adminUrl });
      await admin.connect();
      await admin.query('CREATE DATABASE mdm');
      await admin.end();
      cluster.ctl('-m', 'fast', 'stop');
    });
    afterAll(async () => {
      await server?.close();
      cluster?.stop();
    });

    const sink = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });

    const xml = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true });
    const wellFormed = (body: string) => expect(XMLValidator.validate(body)).toBe(true);

    async function apiGet(path: string, token: string) {
      const transport = httpTransport({ ca: server.tlsCertPem! });
      try {
        return await transport.send({
          method: 'GET',
          url: `${server.url}${path}`,
          headers: { authorization: `Bearer ${token}` },
          body: '',
        });
      } finally {
        transport.close();
      }
    }

    async function policyRequest() {
      const url = `${server.url}/EnrollmentServer/Policy.svc`;
      const creds = { kind: 'password' as const, username: USER, password: PASSWORD, tokenId: 'uuid-1' };
      const transport = httpTransport({ ca: server.tlsCertPem! });
      try {
        return await transport.send({
          method: 'POST',
          url,
          headers: { 'content-type': SOAP_CONTENT_TYPE },
          body: getPoliciesRequest('urn:uuid:1', url, creds),
        });
      } finally {
        transport.close();
      }
    }

    it('starts on a database that is down, answers 503 in each protocol, and recovers when it returns', async () => {
      server = await startTestServer(
        { databaseUrl: databaseUrl(cluster.adminUrl, 'mdm') },
        { logger: createLogger('info', sink) },
      );
      expect(logs.join('')).toMatch(
        /"err":"the database is unavailable: [^"]*ECONNREFUSED[^"]*".*database unavailable; retrying/,
      );

      const policy = await policyRequest();
      expect(policy.status).toBe(503);
      expect(policy.headers['retry-after']).toBe('30');
      wellFormed(policy.body);
      expect(JSON.stringify(xml.parse(policy.body))).toMatch(/temporarily unavailable/);

      const api = await apiGet('/api/v1/compliance', 'mdm_not-a-real-token');
      expect(api.status).toBe(503);
      expect(api.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(JSON.parse(api.body)).toMatchObject({ status: 503, title: 'Service Unavailable' });
      expect(await server.storage.ready()).toBe(false);
      // Liveness stays up; readiness says the database is not there.
      expect((await apiGet('/healthz', '')).status).toBe(200);
      const notReady = await apiGet('/readyz', '');
      expect(notReady.status).toBe(503);
      expect(JSON.parse(notReady.body)).toEqual({ status: 'unavailable', database: false });

      cluster.ctl('start');
      await server.ready;
      expect(await server.storage.ready()).toBe(true);
      expect(JSON.parse((await apiGet('/readyz', '')).body)).toEqual({ status: 'ready', database: true });
      await server.addUser(USER, PASSWORD);
      expect((await policyRequest()).status).toBe(200);
    });

    it('loses the database while running: devices get SyncML 503, then continue where they were', async () => {
      const device = new VirtualDevice({
        profile: makeProfile('outage-1'),
        catalog: defaultCatalog(),
        tls: { ca: server.tlsCertPem },
      });
      await device.enroll(server.url, USER, PASSWORD);
      expect((await device.checkIn()).ok).toBe(true);
      const token = await createApiToken(server.storage.tokens, 'outage');
      const queued = await server.storage.commands.enqueue({
        deviceId: device.profile.deviceId,
        command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
        origin: 'admin',
      });

      cluster.ctl('-m', 'fast', 'stop');
      const down = await device.checkIn();
      expect(down.ok).toBe(false);
      expect(down.error).toMatch(/HTTP 503/);
      expect((await apiGet('/api/v1/compliance', token.token)).status).toBe(503);
      expect((await apiGet('/readyz', '')).status).toBe(503);
      expect(logs.join('')).toMatch(/OMA-DM message refused: database unavailable/);

      cluster.ctl('start');
      const back = await device.checkIn();
      expect(back.ok).toBe(true);
      expect(back.outcomes.map((o) => o.targetRef)).toContain('./DevDetail/OEM');
      expect(await server.storage.commands.get(queued)).toMatchObject({ state: 'done', statusCode: 200 });
      device.close();
    });
  },
);
