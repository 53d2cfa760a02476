// A channel URI is reported by the device (DMClient CSP `Push/ChannelURI`), so it is untrusted: the
// server sends a push (and its WNS access token) only to an HTTPS URL on an allowed WNS host
// (Microsoft, "Push notification support for device management": the channel is a
// `https://*.notify.windows.com/…` URL), to port 443 unless the allowed pattern names another, and
// never to an internal address a name resolves to (unless the admin allowed that exact host).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

export const MAX_CHANNEL_URI_LENGTH = 2048;

export type ChannelCheck =
  | {
      readonly ok: true;
      readonly url: URL;
      readonly host: string;
      readonly port: number;
      readonly exact: boolean;
    }
  | { readonly ok: false; readonly reason: string };

interface HostPattern {
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: number;
}

export function parseHostPatterns(patterns: readonly string[]): HostPattern[] {
  return patterns.map((p) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(p.trim().toLowerCase());
    if (!m) throw new Error(`bad WNS host pattern ${p}`);
    const raw = m[1]!;
    const wildcard = raw.startsWith('*.');
    return {
      host: wildcard ? raw.slice(1) : raw.replace(/^\[|\]$/g, ''),
      wildcard,
      port: m[2] ? Number(m[2]) : 443,
    };
  });
}

export function checkChannelUri(
  uri: string | null | undefined,
  patterns: readonly HostPattern[],
): ChannelCheck {
  if (!uri || uri.trim() === '') return { ok: false, reason: 'no channel URI' };
  if (uri.length > MAX_CHANNEL_URI_LENGTH) return { ok: false, reason: 'channel URI too long' };
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch {
    return { ok: false, reason: 'channel URI is not a URL' };
  }
  if (url.protocol !== 'https:')
    return { ok: false, reason: `channel URI scheme ${url.protocol} is not https:` };
  if (url.username !== '' || url.password !== '')
    return { ok: false, reason: 'channel URI carries credentials' };
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 443 : Number(url.port);
  for (const p of patterns) {
    if (p.port !== port) continue;
    if (p.wildcard ? host.endsWith(p.host) && host.length > p.host.length : host === p.host) {
      return { ok: true, url, host, port, exact: !p.wildcard };
    }
  }
  return { ok: false, reason: `channel host ${host}:${port} is not an allowed WNS host` };
}

const internal = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  internal.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  internal.addSubnet(net, prefix, 'ipv6');

/** Loopback, private, link-local, shared, multicast or unspecified (IPv4-mapped IPv6 included). */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return internal.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return internal.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for the request: the name is resolved once and the connection goes to what was
 * checked (no second resolution between check and connect). An internal address is refused unless
 * the host was allowed by an exact pattern (a stand-in the admin named).
 */
export function guardedLookup(allowInternal: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const bad = list.find((a) => isInternalAddress(a.address));
      if (!allowInternal && (bad || list.length === 0)) {
        const e = new Error(`${hostname} resolves to an internal address`) as NodeJS.ErrnoException;
        e.code = 'EINTERNAL';
        return callback(e, []);
      }
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
