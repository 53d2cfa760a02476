// The `certificates:` section (SCEP profiles → ClientCertificateInstall/SCEP nodes) and
// `{{variables}}` in setting values: unknown ones are errors at file:line:col; per-device resolution.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/index.js';
import { loadPolicyText } from '../../src/policy/language/load.js';
import { resolveTemplate } from '../../src/policy/language/templates.js';
import { captureCli } from '../support/cli.js';

const load = (text: string) => loadPolicyText(text, 'p.yaml', { catalog: defaultCatalog() });
const issueLines = (text: string) =>
  load(text).issues.map((i) => `${i.line}:${i.col} ${i.code} ${i.message}`);

const PROFILE = `certificates:
  - name: wifi
    subject: "CN={{device.id}},O=Example"
    san: ["dns:{{device.name}}.corp.example.com", "upn:{{user.upn}}"]
    ekus: [clientAuth, 1.3.6.1.5.5.7.3.1]
    keyUsage: [digitalSignature]
    validityDays: 90
`;

describe('certificates: SCEP profiles', () => {
  it('compiles a profile to the ClientCertificateInstall SCEP Install nodes', () => {
    const result = load(`name: p\n${PROFILE}settings:\n  - path: Camera/AllowCamera\n    value: 0\n`);
    expect(result.issues).toEqual([]);
    const root = './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/wifi/Install';
    const values = Object.fromEntries(
      result
        .policy!.settings.filter((s) => s.path.startsWith(root))
        .map((s) => [s.path.slice(root.length + 1), s.value]),
    );
    expect(values).toEqual({
      ServerURL: '{{scep.url}}',
      Challenge: '{{scep.challenge.wifi}}',
      EKUMapping: '1.3.6.1.5.5.7.3.2+1.3.6.1.5.5.7.3.1',
      KeyUsage: '128',
      SubjectName: 'CN={{device.id}},O=Example',
      SubjectAlternativeNames: '3+{{device.name}}.corp.example.com;11+{{user.upn}}',
      KeyLength: '2048',
      HashAlgorithm: 'SHA-2',
      CAThumbprint: '{{scep.caThumbprint}}',
      ValidPeriod: 'Days',
      ValidPeriodUnits: '90',
      RetryCount: '3',
      RetryDelay: '5',
    });
  });

  it('puts a user-scope profile under ./User, in a user policy only', () => {
    expect(
      issueLines(
        `name: p\ncertificates:\n  - name: me\n    scope: user\n    subject: CN=x\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n`,
      ),
    ).toEqual([
      '4:12 scope-mismatch certificate profile "me" is for the user but this policy targets devices; put it in a policy with `target: { scope: user }`',
    ]);
    const result = load(
      `name: p\ntarget: { scope: user }\ncertificates:\n  - name: me\n    scope: user\n    subject: "CN={{user.upn}}"\nsettings:\n  - path: ./User/Vendor/MSFT/Policy/Config/Education/DefaultPrinterName\n    value: x\n`,
    );
    expect(result.issues).toEqual([]);
    expect(
      result.policy!.settings.some(
        (s) => s.path === './User/Vendor/MSFT/ClientCertificateInstall/SCEP/me/Install/SubjectName',
      ),
    ).toBe(true);
  });

  it('reports an unknown variable at its file:line:col, in plain, quoted and block values', () => {
    const text = [
      'name: p',
      PROFILE.trimEnd(),
      'settings:',
      '  - path: ./Device/Vendor/MSFT/WiFi/Profile/Corp/WlanXml',
      '    value: |',
      '      <WLANProfile>',
      '        <name>{{device.nmae}}</name>',
      '      </WLANProfile>',
      '  - path: ./Device/Vendor/MSFT/VPNv2/Corp/NativeProfile/Servers',
      '    value: "vpn-{{device.serial}}.example.com {{certificate.vpn.thumbprint}}"',
      '  - path: ./Device/Vendor/MSFT/VPNv2/Corp/NativeProfile/Authentication/Certificate/Issuer',
      '    value: x {{certificate.wifi.thumbprint}} {{enrollment.idd}}',
      '',
    ].join('\n');
    const lines = issueLines(text);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^13:15 unknown-variable unknown variable \{\{device\.nmae\}\}; known: /);
    expect(lines[1]).toMatch(
      /^16:47 unknown-variable \{\{certificate\.vpn\.thumbprint\}\} names certificate profile "vpn", which this policy does not define \(it defines wifi\)$/,
    );
    expect(lines[2]).toMatch(/^18:46 unknown-variable unknown variable \{\{enrollment\.idd\}\}/);
  });

  it('refuses a profile without a subject, a bad SAN kind, a duplicate name', () => {
    const lines = issueLines(
      'name: p\ncertificates:\n  - name: a\n  - name: b\n    subject: CN=x\n    san: ["ip:10.0.0.1"]\n  - name: c\n    subject: CN=x\n  - name: c\n    subject: CN=y\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
    );
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      '3:5 schema',
      '6:11 schema',
      '9:11 duplicate-setting',
    ]);
  });

  it('resolves variables per device, or says which one a device cannot fill', () => {
    const context = { device: { id: 'D1', name: 'laptop' }, certificates: { wifi: 'AB12' } };
    expect(resolveTemplate('CN={{device.id}} {{ certificate.wifi.thumbprint }}', context)).toEqual({
      value: 'CN=D1 AB12',
    });
    expect(resolveTemplate('{{device.serial}}/{{user.upn}}', context)).toEqual({
      unresolved: 'no value for {{device.serial}}, {{user.upn}} on device D1',
    });
  });
});

describe('example certificate policies', () => {
  it('pass mdm policy check', async () => {
    const dir = join(import.meta.dirname, '../../examples/certificates');
    const files = ['wifi-eap-tls.yaml', 'vpn-ikev2.yaml'].map((f) => join(dir, f));
    const run = await captureCli(() => main(['node', 'mdm', 'policy', 'check', ...files]));
    expect(run.err).toBe('');
    expect(run.out.trimEnd().split('\n')).toEqual([
      `ok   ${files[0]}: wifi-corp-eap-tls, 14 settings`,
      `ok   ${files[1]}: vpn-corp-ikev2, 21 settings`,
    ]);
    expect(run.code).toBe(0);
  });
});
