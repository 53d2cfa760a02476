// The floor: a bare `node:http` server that answers the load generator with the very bytes the MDM
// server sent in a recorded session (package 2 for a message with MsgID 1, package 4 otherwise).
// Same transport, same request and response sizes, no XML, no SQLite: the best the machine can do
// with this load generator. Runs as a child process like the real server.
// Parent → child: { type: 'replies', first, next } then { type: 'stop' }; child → parent: { type: 'ready', port }.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isEntryPoint } from './process.js';

export interface FloorReplies {
  /** Reply to package 1 (MsgID 1). */
  readonly first: string;
  /** Reply to every later client message. */
  readonly next: string;
}

/** Starts the floor server on 127.0.0.1 (port 0); resolves with the server and its port. */
export async function startFloorServer(
  replies: () => FloorReplies,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r = replies();
      const reply = body.includes('<MsgID>1</MsgID>') ? r.first : r.next;
      res.writeHead(200, {
        'content-type': 'application/vnd.syncml.dm+xml; charset=utf-8',
        'content-length': Buffer.byteLength(reply),
      });
      res.end(reply);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Entry of the floor child process. */
export function startChild(): void {
  let replies: FloorReplies = { first: '', next: '' };
  startFloorServer(() => replies).then(({ server, port }) => {
    process.on('message', (msg: { type: string } & Partial<FloorReplies>) => {
      if (msg.type === 'replies') replies = { first: msg.first ?? '', next: msg.next ?? '' };
      else if (msg.type === 'stop') {
        server.closeAllConnections();
        server.close(() => process.exit(0));
      }
    });
    process.send?.({ type: 'ready', port, rssMb: process.memoryUsage.rss() / 1048576 });
  });
}

if (isEntryPoint(import.meta.url)) startChild();
