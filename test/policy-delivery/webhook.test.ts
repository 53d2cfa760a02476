// The compliance webhook posts the notice as JSON and reports a non-2xx answer as an error.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComplianceNotice, postWebhook } from '../../src/policy/compliance/service.js';

let server: Server;
let url: string;
const received: { method?: string; type?: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ method: req.method, type: req.headers['content-type'], body });
      res.statusCode = req.url === '/fail' ? 503 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const notice: ComplianceNotice = {
  deviceId: 'D1',
  state: 'noncompliant',
  rule: 'baseline',
  reasons: ['baseline: firewall disabled'],
  at: '2026-05-01T10:00:00.000Z',
};

describe('compliance webhook', () => {
  it('POSTs the notice as JSON', async () => {
    await postWebhook(`${url}/hook`, notice);
    expect(received.at(-1)).toEqual({
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify(notice),
    });
  });

  it('rejects when the receiver answers an error', async () => {
    await expect(postWebhook(`${url}/fail`, notice)).rejects.toThrow('webhook answered HTTP 503');
  });
});
