import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpExchangeError, httpExchange } from '../../src/shared/http-exchange.js';

let server: Server;
let base: string;
let received: { method?: string; body: string; length?: string } = { body: '' };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received = { method: req.method!, body, length: req.headers['content-length']! };
      if (req.url === '/redirect') {
        res.writeHead(302, { Location: '/elsewhere' }).end();
      } else if (req.url === '/big') {
        res.end('x'.repeat(10_000));
      } else if (req.url === '/stall') {
        res.write('partial');
      } else {
        res.end('hello');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const options = { method: 'GET' as const, timeoutMs: 2000, maxAnswerBytes: 1024 };

describe('httpExchange', () => {
  it('sends the body with its length and returns status and body', async () => {
    const answer = await httpExchange(new URL(`${base}/`), { ...options, method: 'POST', body: 'grant=1' });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('hello');
    expect(answer.truncated).toBe(false);
    expect(received).toEqual({ method: 'POST', body: 'grant=1', length: '7' });
  });

  it('returns a redirect as the answer, without following it', async () => {
    const answer = await httpExchange(new URL(`${base}/redirect`), options);
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe('/elsewhere');
    expect(received.method).toBe('GET');
  });

  it('keeps only the first maxAnswerBytes of a long answer', async () => {
    const answer = await httpExchange(new URL(`${base}/big`), options);
    expect(answer.body.length).toBe(1024);
    expect(answer.truncated).toBe(true);
  });

  it('fails with HttpExchangeError past the deadline and when nothing listens', async () => {
    const stalled = httpExchange(new URL(`${base}/stall`), { ...options, timeoutMs: 200 });
    await expect(stalled).rejects.toThrow(new HttpExchangeError('no answer within 200 ms'));
    const closed = new URL(base);
    closed.port = '1';
    await expect(httpExchange(closed, options)).rejects.toBeInstanceOf(HttpExchangeError);
  });
});
