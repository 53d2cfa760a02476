// The SCEP challenge is hidden wherever queued commands are shown.
import { describe, expect, it } from 'vitest';
import { HIDDEN, hideCommandSecrets } from '../../src/dm/command-secrets.js';

describe('hideCommandSecrets', () => {
  it('hides Install/Challenge data inside an Atomic and leaves the rest', () => {
    const root = './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/wifi/Install';
    const shown = hideCommandSecrets({
      verb: 'Atomic',
      commands: [
        { verb: 'Add', items: [{ target: `${root}/Challenge`, format: 'chr', data: 'secret' }] },
        { verb: 'Add', items: [{ target: `${root}/SubjectName`, format: 'chr', data: 'CN=D1' }] },
      ],
    });
    expect(shown).toEqual({
      verb: 'Atomic',
      commands: [
        { verb: 'Add', items: [{ target: `${root}/Challenge`, format: 'chr', data: HIDDEN }] },
        { verb: 'Add', items: [{ target: `${root}/SubjectName`, format: 'chr', data: 'CN=D1' }] },
      ],
    });
    const get = { verb: 'Get' as const, items: [{ target: `${root}/Challenge` }] };
    expect(hideCommandSecrets(get)).toBe(get);
  });
});
