import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffText } from '../../src/replay/diff.js';
import { FixtureError, FixtureWriter, readFixture } from '../../src/replay/fixture.js';
import { normaliseBody } from '../../src/replay/normalise.js';
import { REDACTED, redactBody, redactHeaders } from '../../src/replay/redact.js';

const rstr = (created: string, relates: string, doc: string) =>
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>' +
  `<a:RelatesTo>urn:uuid:${relates}</a:RelatesTo><u:Created xmlns:u="urn:u">${created}</u:Created></s:Header><s:Body>` +
  `<BinarySecurityToken ValueType="http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc">${Buffer.from(doc).toString('base64')}</BinarySecurityToken>` +
  '</s:Body></s:Envelope>';
const doc = (thumb: string, cert: string, addr: string, secret: string) =>
  `<wap-provisioningdoc version="1.1"><characteristic type="CertificateStore"><characteristic type="${thumb}"><parm name="EncodedCertificate" value="${cert}"/></characteristic></characteristic>` +
  `<characteristic type="APPLICATION"><parm name="ADDR" value="${addr}/ManagementServer/MDM.svc"/><parm name="AAUTHSECRET" value="${secret}"/></characteristic></wap-provisioningdoc>`;

describe('normalising messages for comparison', () => {
  it('hides volatile values and decodes the provisioning doc, keeping real differences visible', () => {
    const a = rstr(
      '2025-01-01T00:00:00.000Z',
      '0d5a1441-5891-453b-becf-a2e5f6ea3749',
      doc('A'.repeat(40), 'MIIB'.repeat(30), 'https://one.example:1', 's3cret'),
    );
    const b = rstr(
      '2026-02-03T04:05:06.789Z',
      '11111111-2222-3333-4444-555555555555',
      doc('B'.repeat(40), 'MIIC'.repeat(30), 'https://two.example:2', 'other'),
    );
    const opts = { serverBases: ['https://one.example:1', 'https://two.example:2'] };
    const na = normaliseBody(a, opts);
    expect(na).toBe(normaliseBody(b, opts));
    expect(na).toContain('<a:RelatesTo>{message-id#1}</a:RelatesTo>');
    expect(na).toContain('<u:Created xmlns:u="urn:u">{timestamp#1}</u:Created>');
    expect(na).toContain('<parm name="ADDR" value="{server}/ManagementServer/MDM.svc"/>');
    expect(na).toContain('<characteristic type="{thumbprint#1}">');
    expect(na).toContain('<parm name="AAUTHSECRET" value="{secret}"/>');
    const c = rstr(
      '2025-01-01T00:00:00.000Z',
      '0d5a1441-5891-453b-becf-a2e5f6ea3749',
      doc('A'.repeat(40), 'MIIB'.repeat(30), 'https://elsewhere', 's'),
    );
    const diff = diffText(na, normaliseBody(c, opts));
    expect(diff).toMatch(
      /^- +<parm name="ADDR" value="\{server\}\/ManagementServer\/MDM.svc"\/>\n\+ +<parm name="ADDR" value="https:\/\/elsewhere\/ManagementServer\/MDM.svc"\/>$/m,
    );
  });

  it('treats layout differences as equal but not value differences', () => {
    const compact =
      '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody><Status><CmdID>1</CmdID><Data>200</Data></Status><Final/></SyncBody></SyncML>';
    const pretty = `<?xml version="1.0" encoding="UTF-8"?>\n<SyncML xmlns="SYNCML:SYNCML1.2">\n  <SyncBody>\n    <Status>\n      <CmdID>1</CmdID>\n      <Data>200</Data>\n    </Status>\n    <Final />\n  </SyncBody>\n</SyncML>`;
    expect(normaliseBody(pretty)).toBe(normaliseBody(compact));
    expect(diffText(normaliseBody(compact), normaliseBody(compact.replace('200', '500')))).toMatch(
      /^ {2}…?/m,
    );
    expect(
      normaliseBody(
        '<SyncHdr><RespURI>https://a.example/ManagementServer/MDM.svc?s=Zm9vYmFy</RespURI></SyncHdr>',
        { serverBases: ['https://a.example'] },
      ),
    ).toContain('<RespURI>{server}/ManagementServer/MDM.svc?{session-token}</RespURI>');
    expect(normaliseBody('')).toBe('');
    expect(normaliseBody('not xml at all')).toBe('not xml at all');
  });
});

describe('redaction', () => {
  it('removes passwords, tokens, Cred data, private keys and DIGEST secrets', () => {
    const soap =
      '<wsse:UsernameToken><wsse:Username>u@x</wsse:Username><wsse:Password wsse:Type="t">hunter2</wsse:Password></wsse:UsernameToken>' +
      '<wsse:BinarySecurityToken ValueType="http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken" EncodingType="e">dG9rZW4=</wsse:BinarySecurityToken>';
    const out = redactBody(soap);
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('dG9rZW4=');
    expect(out).toContain(`<wsse:Password wsse:Type="t">${REDACTED}</wsse:Password>`);
    const syncml =
      '<SyncHdr><Cred><Meta><Type xmlns="syncml:metinf">syncml:auth-md5</Type></Meta><Data>Zz6EivR3yeaaENcRN6lpAQ==</Data></Cred></SyncHdr>';
    expect(redactBody(syncml)).toBe(syncml.replace('Zz6EivR3yeaaENcRN6lpAQ==', REDACTED));
    const scep =
      '<Add><CmdID>3</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/wifi/Install/Challenge</LocURI></Target><Meta><Format xmlns="syncml:metinf">chr</Format></Meta><Data>s3cr3t-Challenge_x</Data></Item></Add>' +
      '<Add><CmdID>4</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/wifi/Install/SubjectName</LocURI></Target><Data>CN=D1</Data></Item></Add>';
    expect(redactBody(scep)).toBe(scep.replace('s3cr3t-Challenge_x', REDACTED));
    const pem = 'x -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- y';
    expect(redactBody(pem)).toBe(
      `x -----BEGIN RSA PRIVATE KEY-----\n${REDACTED}\n-----END RSA PRIVATE KEY----- y`,
    );
    const rstrBody = rstr('t', 'u', doc('A'.repeat(40), 'MIIB', 'https://a', 'topsecret'));
    const decoded = Buffer.from(
      />([A-Za-z0-9+/=]{40,})</.exec(redactBody(rstrBody))![1]!,
      'base64',
    ).toString();
    expect(decoded).toContain(`<parm name="AAUTHSECRET" value="${REDACTED}"/>`);
    expect(redactBody('appru=ms-app%3A%2F%2Fx&username=u%40x&password=hunter2')).toBe(
      `appru=ms-app%3A%2F%2Fx&username=u%40x&password=${REDACTED}`,
    );
    expect(redactBody('<form><input type="hidden" name="wresult" value="eyJ.tok.en"></form>')).toBe(
      `<form><input type="hidden" name="wresult" value="${REDACTED}"></form>`,
    );
    expect(redactHeaders({ Authorization: 'Bearer x', 'Content-Type': 'a/b', Host: 'h' })).toEqual({
      authorization: REDACTED,
      'content-type': 'a/b',
    });
  });
});

describe('fixture folders', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mdm-fixture-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes one file per message plus a manifest, and reads them back', () => {
    const dir = join(tmp, 'one');
    const w = new FixtureWriter(dir, { name: 'one', kind: 'syncml', origin: 'simulator' });
    w.append({
      request: {
        method: 'POST',
        path: '/ManagementServer/MDM.svc',
        headers: { 'content-type': 'application/vnd.syncml.dm+xml' },
        body: '<a/>',
      },
      response: { status: 200, headers: { 'content-type': 'application/vnd.syncml.dm+xml' }, body: '<b/>' },
    });
    w.identify({ deviceId: 'ABC' });
    const f = readFixture(dir);
    expect(f.manifest.identity.deviceId).toBe('ABC');
    expect(f.manifest.exchanges[0]!.request.body).toBe('001-request.xml');
    expect(f.exchanges[0]!.response.body).toBe('<b/>');
    expect(readFileSync(join(dir, '001-response.xml'), 'utf8')).toBe('<b/>');
  });

  it('rejects an invalid manifest with the offending field', () => {
    const dir = join(tmp, 'bad');
    new FixtureWriter(dir, { name: 'bad', kind: 'syncml', origin: 'simulator' });
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ format: 'mdm-fixture/1', name: 'bad', kind: 'x', origin: 'windows', exchanges: [] }),
    );
    expect(() => readFixture(dir)).toThrow(FixtureError);
    expect(() => readFixture(dir)).toThrow(/kind/);
    writeFileSync(join(dir, 'manifest.json'), '{');
    expect(() => readFixture(dir)).toThrow(/manifest.json/);
  });
});
