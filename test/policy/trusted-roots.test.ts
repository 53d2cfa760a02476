// `certificates:` entries with `type: root`: a PEM certificate becomes the setting
// RootCATrustedCertificates/<store>/<SHA-1 thumbprint>/EncodedCertificate; mistakes are
// file:line:col errors.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { loadOrCreateCa } from '../../src/pki/ca.js';
import { loadPolicyText } from '../../src/policy/language/load.js';

const load = (text: string) => loadPolicyText(text, 'p.yaml', { catalog: defaultCatalog() });
const issueLines = (text: string) =>
  load(text).issues.map((i) => `${i.line}:${i.col} ${i.code} ${i.message}`);

const certsDir = mkdtempSync(join(tmpdir(), 'mdm-roots-'));
const pem = loadOrCreateCa({ certsDir, commonName: 'RADIUS CA' }).pem;
rmSync(certsDir, { recursive: true, force: true });
const indented = (text: string, by: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => by + l)
    .join('\n');

const rootEntry = (extra = '', certificate = pem) =>
  `  - type: root\n    name: radius-ca\n${extra}    certificate: |\n${indented(certificate, '      ')}\n`;

describe('certificates: trusted roots', () => {
  it('compiles a root to EncodedCertificate under its store, named by the SHA-1 thumbprint', () => {
    const result = load(
      `name: p\ncertificates:\n${rootEntry()}${rootEntry('    store: CA\n').replace('radius-ca', 'issuing-ca')}`,
    );
    expect(result.issues).toEqual([]);
    const cert = new X509Certificate(pem);
    const thumbprint = cert.fingerprint.replace(/:/g, '');
    const settings = result.policy!.settings.map((s) => [s.path, s.format, s.value]);
    expect(settings).toEqual([
      [
        `./Device/Vendor/MSFT/RootCATrustedCertificates/Root/${thumbprint}/EncodedCertificate`,
        'b64',
        cert.raw.toString('base64'),
      ],
      [
        `./Device/Vendor/MSFT/RootCATrustedCertificates/CA/${thumbprint}/EncodedCertificate`,
        'b64',
        cert.raw.toString('base64'),
      ],
    ]);
    // Added, read back, deleted on removal like any setting.
    const plan = result.policy!.settings[0]!;
    expect(plan.apply.first.verb).toBe('Add');
    expect(plan.verify?.verb).toBe('Get');
    // Removal deletes the {CertHash} node: EncodedCertificate has no Delete.
    expect(plan.remove).toEqual({
      verb: 'Delete',
      items: [{ target: `./Device/Vendor/MSFT/RootCATrustedCertificates/Root/${thumbprint}` }],
    });
  });

  it('refuses a damaged certificate, an unknown store, the user Root store and a duplicate name', () => {
    expect(issueLines(`name: p\ncertificates:\n${rootEntry('', 'not a certificate')}`)).toEqual([
      '5:18 value-format certificate "radius-ca" is not a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)',
    ]);
    const damaged = pem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
    expect(issueLines(`name: p\ncertificates:\n${rootEntry('', damaged)}`)[0]).toMatch(
      /^5:18 value-format certificate "radius-ca" is not a PEM certificate/,
    );
    const store = issueLines(`name: p\ncertificates:\n${rootEntry('    store: Roots\n')}`);
    expect(store).toHaveLength(1);
    expect(store[0]).toMatch(/^5:12 schema .*Root, CA, TrustedPublisher, TrustedPeople/);
    expect(issueLines(`name: p\ntarget:\n  scope: user\ncertificates:\n${rootEntry()}`)).toEqual([
      '5:5 schema certificate "radius-ca": the user scope has no Root store (RootCATrustedCertificates CSP); use CA, TrustedPublisher or TrustedPeople, or a device policy',
    ]);
    expect(issueLines(`name: p\ncertificates:\n${rootEntry()}${rootEntry()}`)[0]).toMatch(
      /^\d+:11 duplicate-setting certificate "radius-ca" is defined twice \(first at line 3\)$/,
    );
  });

  it('points an unknown key of a root entry at the key', () => {
    const lines = issueLines(`name: p\ncertificates:\n${rootEntry('    stor: CA\n')}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^5:5 schema unknown key `stor`.*did you mean `store`\?/);
  });
});
