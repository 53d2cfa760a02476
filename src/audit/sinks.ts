// Audit destinations: RFC 5424 syslog over TCP or TLS (RFC 5425) with RFC 6587 octet counting,
// and a JSON lines file rotated by size. A destination's `send` resolves once the batch is
// written (the TCP stream accepted it, the file append returned), or rejects; the forwarder keeps
// undelivered entries in the database and sends them again.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { AuditEntry } from '../storage/audit.js';
import { octetFrame, syslogMessage, toAuditRecord } from './format.js';

export interface AuditSink {
  /** Stable name of the destination (its delivery position is kept under it). */
  readonly name: string;
  send(entries: readonly AuditEntry[]): Promise<void>;
  close(): void;
}

export function syslogSink(url: string, options: { caFile?: string; timeoutMs?: number } = {}): AuditSink {
  const u = new URL(url);
  const secure = u.protocol === 'tls:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (secure ? 6514 : 601));
  const timeout = options.timeoutMs ?? 5000;
  const ca = options.caFile ? readFileSync(options.caFile) : undefined;
  let socket: Socket | undefined;
  let broken = true;

  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = secure
        ? tlsConnect({ host, port, ...(!isIP(host) && { servername: host }), ...(ca && { ca }) })
        : netConnect({ host, port });
      const timer = setTimeout(() => s.destroy(new Error(`connecting to ${url} timed out`)), timeout);
      s.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        broken = false;
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        broken = true;
        reject(err);
      });
      // The receiver closing its side (a restart) ends this connection; the next batch reconnects.
      s.on('end', () => {
        broken = true;
        s.destroy();
      });
      s.on('close', () => {
        broken = true;
      });
      // Receivers send nothing under RFC 6587; anything that arrives is read and dropped.
      s.on('data', () => undefined);
    });

  return {
    name: `syslog:${u.protocol}//${u.host}`,
    async send(entries) {
      if (!socket || broken || socket.destroyed) {
        socket?.destroy();
        socket = await open();
      }
      const s = socket;
      const frames = Buffer.concat(entries.map((e) => octetFrame(syslogMessage(e))));
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        s.once('error', onError);
        s.write(frames, (err) => {
          s.off('error', onError);
          if (err) reject(err);
          else if (broken || s.destroyed) reject(new Error(`the connection to ${url} closed`));
          else resolve();
        });
      });
    },
    close() {
      socket?.end();
      socket = undefined;
    },
  };
}

/** Renames `file` to `file.1` (and `file.1` to `file.2` …, keeping `keep` of them). */
function rotate(file: string, keep: number): void {
  if (keep === 0) {
    rmSync(file, { force: true });
    return;
  }
  rmSync(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--)
    if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  renameSync(file, `${file}.1`);
}

export function jsonLinesSink(file: string, options: { maxBytes: number; keep: number }): AuditSink {
  return {
    name: `file:${file}`,
    async send(entries) {
      mkdirSync(dirname(file), { recursive: true });
      let size = existsSync(file) ? statSync(file).size : 0;
      let chunk = '';
      const flush = () => {
        if (chunk) appendFileSync(file, chunk, { mode: 0o600 });
        size += Buffer.byteLength(chunk);
        chunk = '';
      };
      for (const e of entries) {
        const line = `${JSON.stringify(toAuditRecord(e))}\n`;
        if (
          size + Buffer.byteLength(chunk) + Buffer.byteLength(line) > options.maxBytes &&
          size + chunk.length > 0
        ) {
          flush();
          if (size > 0) rotate(file, options.keep);
          size = 0;
        }
        chunk += line;
      }
      flush();
    },
    close() {},
  };
}
