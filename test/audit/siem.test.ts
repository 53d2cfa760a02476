// Audit trail to a SIEM: RFC 5424 syslog over TCP and TLS with RFC 6587 octet counting, in order,
// buffered in the database across a receiver restart and bounded; the JSON lines file with
// rotation; `mdm audit export` as JSON lines and CSV. On SQLite and PostgreSQL.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUDIT_SCHEMA, type AuditRecord } from '../../src/audit/format.js';
import { main } from '../../src/cli/index.js';
import { describeBackends } from '../support/backends.js';
import { captureCli } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** RFC 5424 §6: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`. */
const SYSLOG =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([\x21-\x7e]{1,255}) mdm (\d+) ([\x21-\x7e]{1,32}) (\[mdm@32473 [^\]]*(?:\\\][^\]]*)*\]) \uFEFF(.*)$/s;

interface Received {
  pri: number;
  msgid: string;
  sd: string;
  record: AuditRecord;
}

/**
 * A syslog receiver that parses RFC 6587 octet-counted frames strictly: digits, one space, exactly
 * that many bytes; anything else fails the test.
 */
class Receiver {
  readonly messages: Received[] = [];
  readonly errors: string[] = [];
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly tls?: { key: string; cert: string }) {}

  async start(port = 0): Promise<void> {
    const onSocket = (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      let buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const space = buffer.indexOf(0x20);
          if (space < 0) break;
          const length = buffer.subarray(0, space).toString('ascii');
          if (!/^[1-9]\d*$/.test(length)) {
            this.errors.push(`bad frame length ${JSON.stringify(length)}`);
            socket.destroy();
            return;
          }
          const end = space + 1 + Number(length);
          if (buffer.length < end) break;
          const message = buffer.subarray(space + 1, end).toString('utf8');
          buffer = buffer.subarray(end);
          const m = SYSLOG.exec(message);
          if (!m) {
            this.errors.push(`not RFC 5424: ${message.slice(0, 120)}`);
            continue;
          }
          this.messages.push({
            pri: Number(m[1]),
            msgid: m[5]!,
            sd: m[6]!,
            record: JSON.parse(m[7]!) as AuditRecord,
          });
        }
      });
    };
    this.server = this.tls ? createTlsServer(this.tls, onSocket) : createServer(onSocket);
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  async waitFor(n: number): Promise<void> {
    for (let i = 0; i < 200 && this.messages.length < n; i++) await new Promise((r) => setTimeout(r, 25));
  }
}

const ids = (r: Receiver) => r.messages.map((m) => m.record.id);

describeBackends('audit to a SIEM', (backend) => {
  const root = mkdtempSync(join(tmpdir(), 'mdm-siem-'));
  const receiver = new Receiver();
  let server: TestServer;
  const auditFile = join(root, 'audit', 'audit.jsonl');

  beforeAll(async () => {
    await receiver.start();
    server = await startTestServer(
      {
        syslogUrl: `tcp://127.0.0.1:${receiver.port}`,
        auditFile,
        auditFileMaxBytes: 2048,
        auditFileKeep: 2,
      },
      { backend },
    );
  });
  afterAll(async () => {
    await server?.close();
    await receiver.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  const record = (action: string, i: number) =>
    server.storage.audit.record({
      actor: `admin "${i}"`,
      action,
      ...(i % 2 === 0 && { deviceId: `dev-${i}` }),
      details: { n: i, note: 'ünïcode ] \\ "quoted"' },
    });

  it('sends RFC 5424 messages in octet-counting frames, in order', async () => {
    const recorded = [];
    for (let i = 0; i < 5; i++) recorded.push(await record('commands.add', i));
    recorded.push(await record('auth.refused', 5));
    // Six to syslog, six to the file.
    expect(await server.auditForwarder!.runOnce()).toBe(12);
    await receiver.waitFor(6);
    expect(receiver.errors).toEqual([]);
    expect(ids(receiver)).toEqual(recorded.map((e) => e.id));
    const [first] = receiver.messages;
    // facility 13 (log audit), severity 5 (notice); a refusal is severity 4 (warning).
    expect(first!.pri).toBe(13 * 8 + 5);
    expect(receiver.messages.at(-1)!.pri).toBe(13 * 8 + 4);
    expect(first!.msgid).toBe('commands.add');
    expect(first!.sd).toBe(
      `[mdm@32473 id="${recorded[0]!.id}" actor="admin \\"0\\"" action="commands.add" deviceId="dev-0"]`,
    );
    expect(first!.record).toEqual({
      schema: AUDIT_SCHEMA,
      id: recorded[0]!.id,
      at: recorded[0]!.at,
      actor: 'admin "0"',
      action: 'commands.add',
      deviceId: 'dev-0',
      outcome: 'success',
      details: { n: 0, note: 'ünïcode ] \\ "quoted"' },
    });
    expect(receiver.messages.at(-1)!.record).toMatchObject({ outcome: 'failure', deviceId: null });
  });

  it('keeps events in the database while the receiver is down and sends them in order after it restarts', async () => {
    const port = receiver.port;
    await receiver.stop();
    await new Promise((r) => setTimeout(r, 100));
    const before = receiver.messages.length;
    const during = [];
    for (let i = 0; i < 4; i++) during.push(await record('devices.lock', 10 + i));
    await server.auditForwarder!.runOnce();
    await server.auditForwarder!.runOnce();
    expect(receiver.messages.length).toBe(before);
    expect(await server.storage.audit.deliveredUpTo(`syslog:tcp://127.0.0.1:${port}`)).toBeLessThan(
      during[0]!.id,
    );

    await receiver.start(port);
    during.push(await record('devices.lock', 14));
    await server.auditForwarder!.runOnce();
    await receiver.waitFor(before + 5);
    expect(receiver.errors).toEqual([]);
    expect(ids(receiver).slice(before)).toEqual(during.map((e) => e.id));
    // No duplicates and no gaps over the whole run.
    const all = ids(receiver);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort((a, b) => a - b)).toEqual(all);
  });

  it('writes the same events as JSON lines, rotated by size', async () => {
    for (let i = 0; i < 12; i++) await record('policy.apply', 20 + i);
    await server.auditForwarder!.runOnce();
    expect(existsSync(`${auditFile}.1`)).toBe(true);
    expect(existsSync(`${auditFile}.3`)).toBe(false);
    const lines = [`${auditFile}.2`, `${auditFile}.1`, auditFile]
      .filter((f) => existsSync(f))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
    const records = lines.map((l) => JSON.parse(l) as AuditRecord);
    for (const r of records) expect(r.schema).toBe(AUDIT_SCHEMA);
    const got = records.map((r) => r.id);
    expect([...got].sort((a, b) => a - b)).toEqual(got);
    expect(got.at(-1)).toBe(await server.storage.audit.lastId());
    for (const f of [auditFile, `${auditFile}.1`]) expect(readFileSync(f).length).toBeLessThanOrEqual(2048);
  });

  it('exports events as JSON lines and CSV', async () => {
    const config = join(root, 'mdm.yaml');
    writeFileSync(config, server.configYaml());
    const jsonl = await captureCli(() =>
      main(['node', 'mdm', '--config', config, 'audit', 'export', '--since', '1d', '--format', 'jsonl']),
    );
    expect(jsonl.code).toBe(0);
    const rows = jsonl.out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(rows.length).toBe(23);
    expect(rows[0]).toMatchObject({ schema: AUDIT_SCHEMA, action: 'commands.add', actor: 'admin "0"' });
    const csv = await captureCli(() =>
      main([
        'node',
        'mdm',
        '--config',
        config,
        'audit',
        'export',
        '--since',
        '2000-01-01',
        '--format',
        'csv',
      ]),
    );
    const csvLines = csv.out.split('\r\n');
    expect(csvLines[0]).toBe('id,at,actor,action,deviceId,outcome,details');
    expect(csvLines[1]).toBe(
      `${rows[0]!.id},${rows[0]!.at},"admin ""0""",commands.add,dev-0,success,"{""n"":0,""note"":""ünïcode ] \\\\ \\""quoted\\""""}"`,
    );
    expect(csvLines.length).toBe(23 + 2);
    const future = await captureCli(() =>
      main(['node', 'mdm', '--config', config, 'audit', 'export', '--since', '2999-01-01']),
    );
    expect(future.out).toBe('');
    const bad = await captureCli(() =>
      main(['node', 'mdm', '--config', config, 'audit', 'export', '--since', 'yesterday']),
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--since yesterday: expected an ISO-8601/);
  });
});

describeBackends('audit delivery bounds and TLS', (backend) => {
  const root = mkdtempSync(join(tmpdir(), 'mdm-siem-tls-'));
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('sends over TLS, verified against MDM_SYSLOG_CA, and skips the oldest beyond auditBufferMax', async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const caFile = join(root, 'siem-ca.pem');
    writeFileSync(caFile, pems.cert);
    const receiver = new Receiver({ key: pems.private, cert: pems.cert });
    await receiver.start();
    server = await startTestServer(
      { syslogUrl: `tls://127.0.0.1:${receiver.port}`, syslogCa: caFile, auditBufferMax: 3 },
      { backend },
    );
    const first = await server.storage.audit.record({ actor: 'a', action: 'users.add', details: {} });
    await server.auditForwarder!.runOnce();
    await receiver.waitFor(1);
    expect(receiver.errors).toEqual([]);
    expect(ids(receiver)).toEqual([first.id]);

    const port = receiver.port;
    await receiver.stop();
    await new Promise((r) => setTimeout(r, 100));
    const later = [];
    for (let i = 0; i < 6; i++)
      later.push(await server.storage.audit.record({ actor: 'a', action: 'users.add', details: { i } }));
    await server.auditForwarder!.runOnce();
    await receiver.start(port);
    await server.auditForwarder!.runOnce();
    await receiver.waitFor(4);
    // Only the newest three of the six were kept for delivery.
    expect(ids(receiver)).toEqual([first.id, ...later.slice(3).map((e) => e.id)]);
    await receiver.stop();
  });
});
