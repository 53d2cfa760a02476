// What the audit trail records beyond admin commands: enrollments, refused enrollment sign-ins,
// refused admin API authentications and a device's own unenrollment; never a password or token.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'events@contoso.com';
const PASSWORD = 'Events-pass-1';

describe('audit events', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser(USER, PASSWORD);
  });
  afterAll(async () => server?.close());

  const newest = async (action: string) =>
    (await server.storage.audit.list({ limit: 50 })).find((e) => e.action === action);

  it('records enrollments, refused sign-ins and a device unenrolling itself', async () => {
    const device = new VirtualDevice({
      profile: makeProfile('events-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    const intruder = new VirtualDevice({
      profile: makeProfile('events-2'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    try {
      await expect(intruder.enroll(server.url, USER, 'wrong-password')).rejects.toThrow();
      const refused = await newest('enrollment.refused');
      expect(refused).toMatchObject({ actor: USER, details: { authPolicy: 'OnPremise' } });
      expect(JSON.stringify(refused)).not.toContain('wrong-password');

      await device.enroll(server.url, USER, PASSWORD);
      const enrolled = await newest('enrollment.enroll');
      expect(enrolled).toMatchObject({
        actor: USER,
        deviceId: device.profile.deviceId,
        details: { authPolicy: 'OnPremise' },
      });
      expect((await device.checkIn()).ok).toBe(true);
      device.requestUnenroll();
      await device.checkIn();
      expect(await newest('enrollment.unenroll')).toMatchObject({
        actor: device.profile.deviceId,
        deviceId: device.profile.deviceId,
      });
    } finally {
      device.close();
      intruder.close();
    }
  });

  it('records refused admin API authentications with a hash prefix, never the token', async () => {
    expect((await request(server.url).get('/api/v1/compliance').ca(server.tlsCertPem!)).status).toBe(401);
    const none = await newest('auth.refused');
    expect(none).toMatchObject({
      actor: 'anonymous',
      details: { realm: 'admin-api', reason: 'no Bearer token' },
    });
    const bad = await request(server.url)
      .get('/api/v1/compliance')
      .ca(server.tlsCertPem!)
      .set('Authorization', 'Bearer not-a-real-token-value');
    expect(bad.status).toBe(401);
    const entry = await newest('auth.refused');
    expect(entry).toMatchObject({ details: { reason: 'unknown or revoked token' } });
    expect(entry!.details.tokenHashPrefix).toMatch(/^[0-9a-f]{8}$/);
    expect(JSON.stringify(entry)).not.toContain('not-a-real-token-value');
  });
});
