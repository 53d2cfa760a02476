// The virtual device's enrollment requests are the bytes a real Windows 10 client sends
// (fixtures/windows10-enrollment, wire-reconstructed from the marcosd4h/mdm capture).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { parseCsr } from '../../src/pki/csr.js';
import { buildCsr, generateDeviceKey } from '../../src/simulator/csr.js';
import { enrollmentContext } from '../../src/simulator/enroll.js';
import { discoverRequest, getPoliciesRequest, rstRequest } from '../../src/simulator/enroll-messages.js';
import { makeProfile } from '../../src/simulator/profile.js';

const dir = join(import.meta.dirname, '..', '..', 'fixtures', 'windows10-enrollment');
const capture = (name: string) => readFileSync(join(dir, `${name}.wire-reconstructed.xml`), 'utf8');
const creds = {
  kind: 'password',
  username: 'demo@mdmwindows.com',
  password: 'demo',
  tokenId: 'uuid-cc1ccc1f-2fba-4bcf-b063-ffc0cac77917-4',
} as const;
const windowsVm = makeProfile('windows-vm', {
  deviceId: '1E08C6E95D8BB843B1278FF45BC60CC6',
  hwDevId: '3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76',
  deviceName: 'DESKTOP-28FGAI6',
  osVersion: '10.0.19043.2364',
  osEdition: '72',
  macs: [
    '00-0C-29-51-60-9D',
    '1A-77-20-52-41-53',
    '1A-77-20-52-41-53',
    '00-0C-29-51-60-A7',
    '18-14-20-52-41-53',
    '00-0C-29-51-60-93',
  ],
});

describe('enrollment requests as Windows 10 sends them', () => {
  it('Discover', () => {
    const body = discoverRequest(
      'urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478',
      'https://EnterpriseEnrollment.mdmwindows.com:443/EnrollmentServer/Discovery.svc',
      {
        email: 'demo@mdmwindows.com',
        osVersion: '10.0.19043.2364',
        osEdition: '72',
        authPolicies: ['OnPremise', 'Federated'],
      },
    );
    expect(body).toBe(capture('marcosd4h-03-discover-req'));
  });

  it('GetPolicies with a UsernameToken', () => {
    const body = getPoliciesRequest(
      'urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0',
      'https://mdmwindows.com/EnrollmentServer/Policy.svc',
      creds,
    );
    expect(body).toBe(capture('marcosd4h-05-policy-req'));
  });

  it('RequestSecurityToken with the AdditionalContext in Windows order', () => {
    const want = capture('marcosd4h-07-rst-req');
    const csr = /#PKCS10" EncodingType="[^"]*">([^<]*)</.exec(want)![1]!;
    const body = rstRequest(
      'urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749',
      'https://mdmwindows.com/EnrollmentServer/Enrollment.svc',
      creds,
      csr,
      enrollmentContext(windowsVm),
    );
    expect(body).toBe(want);
  });
});

describe('the device CSR', () => {
  it('looks like the Windows one: 64-character GUID!DeviceID + NUL subject, DeviceID extension, verifiable signature', async () => {
    const key = await generateDeviceKey();
    for (const hash of ['sha1', 'sha256'] as const) {
      const der = Buffer.from(buildCsr(key, windowsVm.deviceId, hash), 'base64');
      const parsed = parseCsr(der);
      expect(parsed.keyBits).toBe(2048);
      expect(parsed.requestedDeviceId).toBe(windowsVm.deviceId);
      expect(parsed.subjectCommonName).toMatch(/^[0-9A-F-]{30}!1E08C6E95D8BB843B1278FF45BC60CC6$/);
      const csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(der.toString('binary')));
      expect(csr.signatureOid).toBe(hash === 'sha1' ? '1.3.14.3.2.29' : '1.2.840.113549.1.1.11');
      const cn = (csr.subject.getField('CN') as { value: string; valueTagClass: number }).value;
      expect(cn.endsWith('\u0000')).toBe(true);
      expect(cn).toHaveLength(64);
    }
    // The real Windows request parses the same way.
    const windowsCsr = Buffer.from(
      /#PKCS10" EncodingType="[^"]*">([^<]*)</.exec(capture('marcosd4h-07-rst-req'))![1]!,
      'base64',
    );
    expect(parseCsr(windowsCsr).subjectCommonName).toMatch(
      /^[0-9A-F-]{30}!1E08C6E95D8BB843B1278FF45BC60CC6$/,
    );
  });
});
