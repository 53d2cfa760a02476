// Hostile input against the OMA-DM endpoint over real HTTPS: XML attacks, garbage, oversized bodies
// and headers, absurd nesting of SyncML containers. Every case gets an HTTP or SyncML protocol error,
// nothing is recorded for the device, the server keeps serving, and the request log never carries
// the query string (it can hold the DIGEST session's RespURI token).
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSyncMl } from '../../src/codec/syncml/index.js';
import type { SyncMlCommand } from '../../src/codec/syncml/types.js';
import { createLogger } from '../../src/logger.js';
import { clientMessage, package1 } from '../dm/helpers.js';
import { encodeClient } from '../dm/support.js';
import { type EnrolledDevice, enrollDevice, request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'hostile@contoso.com';
const PASSWORD = 'pw-hostile-1';
const MAX_BODY = 64 * 1024;
let server: TestServer;
let device: EnrolledDevice;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  server = await startTestServer(
    { maxBodyBytes: MAX_BODY, inventoryNodes: ['./DevDetail/SwV'] },
    { logger: createLogger('debug', sink) },
  );
  await server.addUser(USER, PASSWORD);
  device = await enrollDevice({
    url: server.url,
    credentials: { kind: 'password', username: USER, password: PASSWORD },
  });
});
afterAll(() => server?.close());

function post(body: string | Buffer, headers: Record<string, string> = {}, query = '') {
  return request(`${device.managementUrl}${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.syncml.dm+xml', ...headers },
    body,
    cert: device.certPem,
    key: device.key.privateKeyPem,
  });
}

const PROLOG = '<?xml version="1.0"?>';
const LAUGHS =
  `${PROLOG}<!DOCTYPE SyncML [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
  '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>' +
  '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody>&d;</SyncBody></SyncML>';
const EXTERNAL = `${PROLOG}<!DOCTYPE SyncML [<!ENTITY x SYSTEM "file:///etc/passwd">]><SyncML xmlns="SYNCML:SYNCML1.2">&x;</SyncML>`;
const DEEP = `<SyncML xmlns="SYNCML:SYNCML1.2">${'<a>'.repeat(2_000)}${'</a>'.repeat(2_000)}</SyncML>`;

describe('the OMA-DM endpoint under hostile input', () => {
  it.each([
    ['entity expansion (billion laughs)', LAUGHS],
    ['an external entity', EXTERNAL],
    ['deep nesting', DEEP],
    ['an empty body', ''],
    ['not XML', 'hello, server'],
    ['SyncML without a header', '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody><Final/></SyncBody></SyncML>'],
  ])('refuses %s with HTTP 400', async (_name, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body).not.toContain('root:');
    expect(res.body).not.toMatch(/lol|at \w+ \(/);
  });

  it('refuses binary garbage and a JSON body with HTTP 400', async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    expect((await post(garbage)).status).toBe(400);
    expect((await post('{"SyncML":1}', { 'Content-Type': 'application/json' })).status).toBe(400);
  });

  it('refuses a body over maxBodyBytes with 413 and an oversized header with 431', async () => {
    expect((await post('<'.repeat(MAX_BODY + 1))).status).toBe(413);
    expect((await post('<SyncML/>', { 'X-Padding': 'x'.repeat(64 * 1024) })).status).toBe(431);
  });

  it('answers Atomic containers nested as deep as the parser allows with SyncML statuses', async () => {
    let nested: SyncMlCommand = {
      kind: 'Get',
      cmdId: 100,
      items: [{ target: './DevDetail/SwV' }],
    } as SyncMlCommand;
    for (let i = 0; i < 12; i++)
      nested = { kind: 'Atomic', cmdId: 200 + i, commands: [nested] } as SyncMlCommand;
    const body = encodeClient(clientMessage(device.deviceId, '7', 1, package1(device.deviceId, [nested])));
    const res = await post(body);
    expect(res.status).toBe(200);
    const reply = parseSyncMl(res.body);
    expect(reply.commands[0]).toMatchObject({ kind: 'Status', cmd: 'SyncHdr' });
    const atomic = reply.commands.find((c) => c.kind === 'Status' && c.cmdRef === 211);
    expect(atomic).toMatchObject({ cmd: 'Atomic' });
  });

  it('keeps serving, records nothing for refused messages, and never logs the query string', async () => {
    const token = 'Zq7-SECRET-TOKEN-abcdef';
    expect((await post('garbage', {}, `?mode=Maintenance&s=${token}`)).status).toBe(400);
    const log = logLines.join('');
    expect(log).toContain('/ManagementServer/MDM.svc');
    expect(log).not.toContain(token);
    const ok = await post(encodeClient(clientMessage(device.deviceId, '8', 1, package1(device.deviceId))));
    expect(ok.status).toBe(200);
    expect(parseSyncMl(ok.body).commands[0]).toMatchObject({ cmd: 'SyncHdr', data: '200' });
    expect((await request(`${server.url}/EnrollmentServer/Discovery.svc`)).status).toBe(200);
  });
});
