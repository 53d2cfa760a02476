// Channel URIs are device input: only HTTPS URLs on allowed WNS hosts are ever called.
import { describe, expect, it } from 'vitest';
import {
  checkChannelUri,
  guardedLookup,
  isInternalAddress,
  parseHostPatterns,
} from '../../src/push/channel.js';

const WNS = parseHostPatterns(['*.notify.windows.com']);

describe('checkChannelUri', () => {
  it.each([
    'https://db5p.notify.windows.com/?token=AwYAAAB',
    'https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD%2f',
    'https://a.b.notify.windows.com:443/x',
    'https://DB5P.NOTIFY.WINDOWS.COM/?token=x',
  ])('accepts %s', (uri) => {
    const c = checkChannelUri(uri, WNS);
    expect(c.ok).toBe(true);
    if (c.ok) expect(c.exact).toBe(false);
  });

  it.each([
    ['no channel', '', /no channel URI/],
    ['not a URL', 'notify.windows.com', /not a URL/],
    ['plain HTTP', 'http://db5p.notify.windows.com/?token=x', /scheme http: is not https:/],
    ['the bare domain', 'https://notify.windows.com/x', /not an allowed WNS host/],
    ['a look-alike suffix', 'https://db5p.notify.windows.com.evil.net/x', /not an allowed WNS host/],
    ['a look-alike label', 'https://evilnotify.windows.com/x', /not an allowed WNS host/],
    [
      'another port',
      'https://db5p.notify.windows.com:8443/x',
      /db5p\.notify\.windows\.com:8443 is not an allowed/,
    ],
    ['credentials', 'https://u:p@db5p.notify.windows.com/x', /credentials/],
    ['an IP literal', 'https://10.0.0.1/x', /not an allowed WNS host/],
    ['an IPv6 literal', 'https://[::1]/x', /not an allowed WNS host/],
    ['the metadata address', 'https://169.254.169.254/latest/meta-data', /not an allowed WNS host/],
    ['file scheme', 'file:///etc/passwd', /scheme file: is not https:/],
    ['an overlong URI', `https://db5p.notify.windows.com/${'a'.repeat(3000)}`, /too long/],
  ])('refuses %s', (_what, uri, reason) => {
    const c = checkChannelUri(uri, WNS);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.reason).toMatch(reason);
  });

  it('an exact pattern allows that host and port only, and says it is exact', () => {
    const local = parseHostPatterns(['127.0.0.1:9443', 'wns.test']);
    const c = checkChannelUri('https://127.0.0.1:9443/d/x', local);
    expect(c.ok && c.exact).toBe(true);
    expect(checkChannelUri('https://127.0.0.1:9444/d/x', local).ok).toBe(false);
    expect(checkChannelUri('https://127.0.0.1/d/x', local).ok).toBe(false);
    expect(checkChannelUri('https://wns.test/d/x', local).ok).toBe(true);
    expect(checkChannelUri('https://a.wns.test/d/x', local).ok).toBe(false);
  });
});

describe('internal addresses', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'not-an-ip',
  ])('%s is internal', (ip) => expect(isInternalAddress(ip)).toBe(true));

  it.each(['13.107.4.52', '52.113.194.132', '172.32.0.1', '2603:1030::1', '::ffff:52.113.194.132'])(
    '%s is public',
    (ip) => expect(isInternalAddress(ip)).toBe(false),
  );

  it('a name resolving to an internal address is refused unless the host was allowed exactly', async () => {
    const lookup = (allow: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
        guardedLookup(allow)('localhost', {}, (err, address) => resolve({ err, address })),
      );
    const refused = await lookup(false);
    expect(refused.err?.code).toBe('EINTERNAL');
    expect(refused.err?.message).toMatch(/localhost resolves to an internal address/);
    const allowed = await lookup(true);
    expect(allowed.err).toBeNull();
    expect(isInternalAddress(String(allowed.address))).toBe(true);
  });
});
