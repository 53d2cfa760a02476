// The TLS client certificate of a request (docs/protocol-notes.md#device-certificates): from the TLS socket, or
// (only when `trustedProxyCertHeader` is configured and the peer is one of `trustedProxies`) from
// the header a TLS-terminating proxy sets, holding a URL-encoded PEM or a base64 DER certificate.
// The certificate is returned unverified; check it with `verifyDeviceCertificate` (src/pki/verify.ts).
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface ClientCertOptions {
  /** Header name (case-insensitive); unset = never read a header. */
  readonly trustedProxyCertHeader?: string;
  /** Peer addresses allowed to set the header. */
  readonly trustedProxies: readonly string[];
}

/** Strips the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1` → `127.0.0.1`). */
function normaliseAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function clientCertificateOf(
  req: IncomingMessage,
  options: ClientCertOptions,
): X509Certificate | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted && typeof socket.getPeerX509Certificate === 'function') {
    const cert = socket.getPeerX509Certificate();
    if (cert) return cert;
  }
  const der = forwardedCertificateDer(req, options);
  if (!der) return undefined;
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

/**
 * The DER bytes of the certificate a trusted proxy forwarded, not parsed; undefined when the header
 * is not configured, the peer is not a trusted proxy, or the header is missing or unreadable.
 */
export function forwardedCertificateDer(
  req: IncomingMessage,
  options: ClientCertOptions,
): Buffer | undefined {
  if (!options.trustedProxyCertHeader) return undefined;
  const peer = normaliseAddress(req.socket.remoteAddress);
  if (!options.trustedProxies.some((p) => normaliseAddress(p) === peer)) return undefined;
  const raw = req.headers[options.trustedProxyCertHeader.toLowerCase()];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value ? forwardedDer(value) : undefined;
}

/** A forwarded certificate: URL-encoded PEM (nginx `$ssl_client_escaped_cert`) or base64 DER. */
export function parseForwardedCertificate(value: string): X509Certificate | undefined {
  const der = forwardedDer(value);
  try {
    return der ? new X509Certificate(der) : undefined;
  } catch {
    return undefined;
  }
}

function forwardedDer(value: string): Buffer | undefined {
  try {
    const text = value.includes('%') ? decodeURIComponent(value) : value;
    const der = Buffer.from(text.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ''), 'base64');
    return der.length > 0 ? der : undefined;
  } catch {
    return undefined;
  }
}
