// The listener: HTTPS that requests (does not require) a client certificate, so management and
// renewal can check it per request (gotcha 36), with TLS session resumption (a full mutual-TLS
// handshake costs more CPU than a whole OMA-DM session); or plain HTTP behind a TLS-terminating
// proxy (`tls: false`).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Server certificate and key (PEM); omitted = plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** CA certificates (PEM) advertised in the TLS CertificateRequest, so Windows offers its device certificate. */
  readonly clientCaPem?: readonly string[];
}

export interface Listener {
  readonly server: http.Server | https.Server;
  readonly port: number;
  readonly protocol: 'https' | 'http';
  close(): Promise<void>;
}

/** Starts listening; requests go to `handler()` (looked up per request, so the app can be set after binding). */
export async function listen(options: ListenOptions, handler: () => RequestHandler): Promise<Listener> {
  const onRequest: RequestHandler = (req, res) => handler()(req, res);
  const server = options.tls
    ? https.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ca: options.clientCaPem ? [...options.clientCaPem] : undefined,
          requestCert: true,
          rejectUnauthorized: false,
          // Session resumption with client certificates needs a session id context.
          sessionIdContext: 'windows-mdm',
          sessionTimeout: 3600,
          minVersion: 'TLSv1.2',
        },
        onRequest,
      )
    : http.createServer(onRequest);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    protocol: options.tls ? 'https' : 'http',
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
