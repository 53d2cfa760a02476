// The admin API: Bearer API tokens (hash stored only), problem+json errors, JSON and CSV reports.
import express from 'express';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { adminRoutes } from '../../src/http/admin-routes.js';
import { silentLogger } from '../../src/logger.js';
import { createApiToken, hashToken } from '../../src/reporting/api-tokens.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import type { AppDeps } from '../../src/transport/deps.js';
import { enrollInStorage } from '../policy-delivery/engine.js';

let storage: Storage;
let app: express.Express;
let token: string;
let tokenId: string;

beforeEach(async () => {
  storage = openSqliteStorage({ file: ':memory:' });
  await enrollInStorage(storage, 'DEV1');
  app = express().use(adminRoutes({ storage, logger: silentLogger() } as unknown as AppDeps));
  ({ token, id: tokenId } = await createApiToken(storage.tokens, 'test'));
});
afterEach(async () => {
  await storage.close();
});

describe('admin API', () => {
  it('stores only the token hash', async () => {
    const [stored] = await storage.tokens.listTokens();
    expect(stored?.hash).toBe(hashToken(token));
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('refuses requests without a valid token as problem+json with a Bearer challenge', async () => {
    for (const auth of [undefined, 'Basic eDp5', 'Bearer mdm_nottherighttoken', `Bearer ${token}x`]) {
      const req = request(app).get('/api/v1/compliance');
      const res = await (auth ? req.set('Authorization', auth) : req);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="mdm-admin"/);
      expect(JSON.parse(res.text)).toMatchObject({ status: 401, title: 'Unauthorized' });
    }
  });

  it('serves reports with a valid token, and refuses a revoked one', async () => {
    const ok = await request(app).get('/api/v1/compliance').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body.devices).toEqual([expect.objectContaining({ deviceId: 'DEV1', state: 'unknown' })]);
    expect((await storage.tokens.listTokens())[0]?.lastUsedAt).not.toBeNull();
    const csv = await request(app)
      .get('/api/v1/compliance')
      .set('Authorization', `Bearer ${token}`)
      .set('Accept', 'text/csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text.startsWith('device_id,')).toBe(true);
    await storage.tokens.revokeToken(tokenId, new Date().toISOString());
    expect(
      (await request(app).get('/api/v1/compliance').set('Authorization', `Bearer ${token}`)).status,
    ).toBe(401);
  });

  it('answers bad input and unknown resources with problem+json', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const bad = await request(app).get('/api/v1/compliance?format=xml').set(auth);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ status: 400, detail: 'format must be json or csv' });
    const noPolicy = await request(app).get('/api/v1/policies/nope/status').set(auth);
    expect(noPolicy.status).toBe(404);
    expect(noPolicy.headers['content-type']).toMatch(/^application\/problem\+json/);
    const noRoute = await request(app).get('/api/v1/whatever').set(auth);
    expect(noRoute.status).toBe(404);
    expect(JSON.parse(noRoute.text)).toMatchObject({ title: 'Not Found' });
  });
});

describe('/metrics authentication', () => {
  const metricsToken = 'scrape-token-0123456789';
  const withToken = () =>
    express().use(
      adminRoutes({ storage, logger: silentLogger(), config: { metricsToken } } as unknown as AppDeps),
    );

  it('is open when no metrics token is configured', async () => {
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('mdm_devices');
  });

  it('requires the configured Bearer token, and does not accept an admin API token', async () => {
    const guarded = withToken();
    for (const auth of [undefined, `Bearer ${token}`, `Bearer ${metricsToken}x`, `Basic ${metricsToken}`]) {
      const req = request(guarded).get('/metrics');
      const res = await (auth ? req.set('Authorization', auth) : req);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="mdm-metrics"');
    }
    const ok = await request(guarded).get('/metrics').set('Authorization', `Bearer ${metricsToken}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.text).toContain('mdm_devices');
  });

  it('reads MDM_METRICS_TOKEN from the environment', () => {
    const config = loadConfig({ env: { MDM_METRICS_TOKEN: metricsToken } });
    expect(config.metricsToken).toBe(metricsToken);
    expect(() => loadConfig({ env: { MDM_METRICS_TOKEN: 'short' } })).toThrow(/metricsToken|METRICS_TOKEN/);
  });
});
