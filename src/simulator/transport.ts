// HTTP(S) for the virtual device: real TLS with the device's client certificate, keep-alive (a
// mutual-TLS handshake costs more than a whole session, docs/architecture.md#performance-choices), and the one transport-level
// fault a device can cause on purpose: dropping the connection after the request went out.
import http from 'node:http';
import https from 'node:https';

export interface HttpRequestOut {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface HttpResponseIn {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SendOptions {
  /** Abort the connection right after the request is written (fault injection). */
  readonly drop?: boolean;
}

export interface Transport {
  send(request: HttpRequestOut, options?: SendOptions): Promise<HttpResponseIn>;
  close(): void;
}

export interface TlsOptions {
  /** Trusted CA(s) for the server certificate (PEM). */
  readonly ca?: string | readonly string[];
  /** Accept any server certificate (development servers with a self-signed certificate). */
  readonly insecure?: boolean;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly cert?: string;
  readonly key?: string;
  /** Over plain HTTP, send the client certificate (URL-encoded PEM) in this header, as a
   *  TLS-terminating proxy does (`MDM_TRUSTED_PROXY_CERT_HEADER`). */
  readonly forwardedCertHeader?: string;
}

export class ConnectionDropped extends Error {
  override name = 'ConnectionDropped';
}

/** Node's http(s) with one keep-alive agent per device. */
export function httpTransport(tls: TlsOptions = {}): Transport {
  const httpsAgent = new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: tls.ca as string | string[] | undefined,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: !tls.insecure,
  });
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    send(request, options = {}) {
      const url = new URL(request.url);
      const isHttps = url.protocol === 'https:';
      const lib = isHttps ? https : http;
      const body = Buffer.from(request.body, 'utf8');
      const forwarded =
        !isHttps && tls.forwardedCertHeader && tls.cert
          ? { [tls.forwardedCertHeader.toLowerCase()]: encodeURIComponent(tls.cert) }
          : undefined;
      return new Promise<HttpResponseIn>((resolve, reject) => {
        const req = lib.request(
          url,
          {
            method: request.method,
            agent: isHttps ? httpsAgent : httpAgent,
            headers: { ...request.headers, ...forwarded, 'content-length': String(body.length) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(res.headers)) {
                if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
              }
              resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
            });
          },
        );
        req.on('error', (err) => reject(options.drop ? new ConnectionDropped('connection dropped') : err));
        req.end(body, () => {
          if (options.drop) req.destroy(new ConnectionDropped('connection dropped'));
        });
      });
    },
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}
