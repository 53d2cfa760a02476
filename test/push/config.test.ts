import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { pushEnabled } from '../../src/push/service.js';

describe('push configuration', () => {
  it('is off by default, with the documented token endpoint and WNS hosts', () => {
    const c = loadConfig({ env: {} });
    expect(pushEnabled(c)).toBe(false);
    expect(c.wnsTokenUrl).toBe('https://login.live.com/accesstoken.srf');
    expect(c.wnsChannelHosts).toEqual(['*.notify.windows.com']);
  });

  it('reads MDM_WNS_* variables', () => {
    const c = loadConfig({
      env: {
        MDM_WNS_PFN: 'Contoso.MDM_8wekyb3d8bbwe',
        MDM_WNS_CLIENT_ID: 'ms-app://s-1-15-2-1',
        MDM_WNS_CLIENT_SECRET: 'secret',
        MDM_WNS_TOKEN_URL: 'https://login.example.com/token',
        MDM_WNS_CHANNEL_HOSTS: '*.notify.windows.com, wns.test:9443',
      },
    });
    expect(pushEnabled(c)).toBe(true);
    expect(c.wnsChannelHosts).toEqual(['*.notify.windows.com', 'wns.test:9443']);
    expect(c.wnsTokenUrl).toBe('https://login.example.com/token');
  });

  it('refuses a partial set, a plain-HTTP token URL and a bad host pattern', () => {
    expect(() => loadConfig({ env: { MDM_WNS_PFN: 'x' } })).toThrow(/must be given together/);
    expect(() => loadConfig({ env: { MDM_WNS_TOKEN_URL: 'http://login.live.com/accesstoken.srf' } })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ env: { MDM_WNS_CHANNEL_HOSTS: 'https://x/y' } })).toThrow(
      /wnsChannelHosts \(MDM_WNS_CHANNEL_HOSTS\)/,
    );
  });
});
