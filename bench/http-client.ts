// A minimal HTTP/1.1 keep-alive client for the load generator: one request at a time per
// connection, Content-Length framing only (the MDM server and the floor server always send it).
// Node's `http` client costs tens of microseconds per request more; on a 2-core machine where
// the load generator shares the CPU with the server under test, that difference is measurable.
import net from 'node:net';
import tls from 'node:tls';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** TLS with these options (client certificate, session to resume); plain TCP when absent. */
  readonly tls?: tls.ConnectionOptions;
}

export interface Connection {
  request(method: 'GET' | 'POST', path: string, headers: string, body: string): Promise<HttpResponse>;
  readonly socket: net.Socket;
  close(): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class HttpClientError extends Error {
  override name = 'HttpClientError';
}

/** Opens a connection; resolves once TCP (and TLS, when asked) is established. */
export function connect(options: ConnectOptions): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tls.connect({ host: options.host, port: options.port, ...options.tls })
      : net.connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', onError);
      resolve(wrap(socket, `${options.host}:${options.port}`));
    });
  });
}

function wrap(socket: net.Socket, hostHeader: string): Connection {
  let pending:
    | { resolve: (r: HttpResponse) => void; reject: (e: Error) => void; chunks: Buffer[]; size: number }
    | undefined;
  let closed: Error | undefined;

  const fail = (err: Error) => {
    closed ??= err;
    const p = pending;
    pending = undefined;
    p?.reject(err);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new HttpClientError('connection closed by the server')));
  socket.on('data', (chunk: Buffer) => {
    const p = pending;
    if (!p) return;
    p.chunks.push(chunk);
    p.size += chunk.length;
    const data = p.chunks.length === 1 ? chunk : Buffer.concat(p.chunks, p.size);
    if (p.chunks.length > 1) p.chunks = [data];
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = data.toString('latin1', 0, headerEnd);
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!match) {
      fail(new HttpClientError(`response without Content-Length: ${head.split('\r\n')[0]}`));
      socket.destroy();
      return;
    }
    const length = Number(match[1]);
    const bodyStart = headerEnd + 4;
    if (data.length < bodyStart + length) return;
    pending = undefined;
    const status = Number(head.slice(9, 12));
    p.resolve({ status, body: data.toString('utf8', bodyStart, bodyStart + length) });
  });

  return {
    socket,
    request(method, path, headers, body) {
      if (closed) return Promise.reject(closed);
      if (pending) return Promise.reject(new HttpClientError('one request at a time per connection'));
      return new Promise<HttpResponse>((resolve, reject) => {
        pending = { resolve, reject, chunks: [], size: 0 };
        const length = Buffer.byteLength(body, 'utf8');
        // One write: head and body in the same segment (Nagle is off).
        socket.write(
          `${method} ${path} HTTP/1.1\r\nhost: ${hostHeader}\r\nconnection: keep-alive\r\n${headers}` +
            `content-length: ${length}\r\n\r\n${body}`,
        );
      });
    },
    close() {
      closed ??= new HttpClientError('connection closed');
      socket.destroy();
    },
  };
}
