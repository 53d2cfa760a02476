// A policy bundle carries the side files its `file:` values name (docs/api.md): an ADMX file as
// text, a certificate as base64. They are checked like the same folder on disk (a payload's own
// errors at its own file:line:col), refused with a 400 problem naming the field when unsafe, and
// an apply stores them with the revision and writes them into the server's policy folder.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/api/index.js';
import { createToken } from '../../src/services/tokens.js';
import { type ApiClient, apiClient } from '../support/api-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ADMX_INSTALL = './Device/Vendor/MSFT/Policy/ConfigOperations/ADMXInstall/Contoso/Policy/ContosoAdmx';
const ADMX = `<?xml version="1.0" encoding="utf-8"?>
<policyDefinitions revision="1.0" schemaVersion="1.0">
  <policyNamespaces>
    <target prefix="contoso" namespace="Contoso.Policies" />
  </policyNamespaces>
  <resources minRequiredRevision="1.0" />
  <categories>
    <category name="Contoso" displayName="Contoso" />
  </categories>
</policyDefinitions>
`;
const CERT = Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x00, 0xff, 0xfe]);

const FILES: Record<string, string> = {
  'contoso/contoso.yaml':
    `name: contoso\nsettings:\n  - path: ${ADMX_INSTALL}\n    file: contoso.admx\n` +
    '  - path: ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCD/EncodedCertificate\n' +
    '    file: ../certs/root.cer\n',
  'assignments.yaml': 'assignments:\n  - policy: contoso\n    include: [all]\n',
};
const PAYLOADS = {
  'contoso/contoso.admx': { text: ADMX },
  'certs/root.cer': { base64: CERT.toString('base64') },
};

describe('policy bundles with side files', () => {
  let server: TestServer;
  let admin: ApiClient;
  let root: string;
  let policyDir: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mdm-side-files-'));
    policyDir = join(root, 'policies');
    mkdirSync(policyDir);
    writeFileSync(
      join(policyDir, 'old.yaml'),
      'name: old\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
    );
    mkdirSync(join(policyDir, '.git'));
    writeFileSync(join(policyDir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    server = await startTestServer({ policyDir });
    await server.ready;
    const token = await createToken(server.storage, { name: 'side', role: 'admin', actor: 'test' });
    admin = apiClient(server, token.token);
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('validates a folder and a single document with their side files', async () => {
    const ok = await admin.post('/api/v1/policies/validate', { files: FILES, payloads: PAYLOADS });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, kind: 'folder', errors: 0 });
    const one = await admin.post('/api/v1/policies/validate', {
      file: 'contoso/contoso.yaml',
      text: FILES['contoso/contoso.yaml'],
      payloads: PAYLOADS,
    });
    expect(one.body).toMatchObject({ ok: true, kind: 'policy', summary: 'contoso, 2 settings' });
  });

  it('reports a broken ADMX file at its own line, a missing one at the file: value', async () => {
    const broken = ADMX.replace('displayName="Contoso" />', 'displayName="Contoso">');
    const r = await admin.post('/api/v1/policies/validate', {
      files: FILES,
      payloads: { ...PAYLOADS, 'contoso/contoso.admx': { text: broken } },
    });
    expect(r.body.ok).toBe(false);
    expect(r.body.issues.filter((i: { file: string }) => i.file !== 'assignments.yaml')).toEqual([
      expect.objectContaining({
        file: 'contoso/contoso.admx',
        line: 9,
        col: 3,
        code: 'value-format',
        message: expect.stringContaining('not well-formed XML'),
      }),
    ]);
    const notAdmx = await admin.post('/api/v1/policies/validate', {
      files: FILES,
      payloads: { ...PAYLOADS, 'contoso/contoso.admx': { text: '<policies/>' } },
    });
    expect(notAdmx.body.issues.filter((i: { file: string }) => i.file !== 'assignments.yaml')).toEqual([
      expect.objectContaining({ file: 'contoso/contoso.admx', line: 1, col: 1, code: 'value-format' }),
    ]);
    const missing = await admin.post('/api/v1/policies/plan', {
      files: FILES,
      payloads: { 'certs/root.cer': PAYLOADS['certs/root.cer'] },
    });
    expect(missing.status).toBe(200);
    expect(missing.body.valid).toBe(false);
    expect(missing.body.issues.filter((i: { file: string }) => i.file !== 'assignments.yaml')).toEqual([
      expect.objectContaining({
        file: 'contoso/contoso.yaml',
        line: 4,
        col: 11,
        code: 'file-read',
        message: 'cannot read `contoso.admx` (contoso/contoso.admx): no such file',
      }),
    ]);
  });

  it('refuses unsafe, unreferenced, oversized or undecodable side files with a 400 naming the field', async () => {
    const refused = async (payloads: Record<string, unknown>, path: string, message: RegExp) => {
      for (const route of ['validate', 'plan', 'apply']) {
        const r = await admin.post(`/api/v1/policies/${route}`, { files: FILES, payloads });
        expect(r.status, `${route} ${path}`).toBe(400);
        expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(r.body.errors).toEqual([expect.objectContaining({ in: 'body', path })]);
        expect(r.body.detail ?? r.body.title).toMatch(message);
      }
    };
    await refused({ '../root.cer': { text: 'x' } }, 'payloads.../root.cer', /\.\. segments/);
    await refused({ '/etc/passwd': { text: 'x' } }, 'payloads./etc/passwd', /relative/);
    await refused({ 'C:/x.cer': { text: 'x' } }, 'payloads.C:/x.cer', /relative/);
    await refused(
      { ...PAYLOADS, 'contoso/other.admx': { text: ADMX } },
      'payloads.contoso/other.admx',
      /no file: value/,
    );
    await refused({ 'contoso/x.yaml': { text: 'name: x' } }, 'payloads.contoso/x.yaml', /belongs in files/);
    await refused(
      { 'certs/root.cer': { base64: 'not base64!' } },
      'payloads.certs/root.cer.base64',
      /not valid base64/,
    );
    await refused(
      { 'certs/root.cer': { base64: Buffer.alloc(4 * 1024 * 1024 + 1).toString('base64') } },
      'payloads.certs/root.cer',
      /larger than/,
    );
    // Neither text nor base64: the schema refuses it.
    const shapeless = await admin.post('/api/v1/policies/validate', {
      files: FILES,
      payloads: { 'certs/root.cer': { data: 'x' } },
    });
    expect(shapeless.status).toBe(400);
    expect(shapeless.body.errors[0].path).toMatch(/^payloads/);
    // Nothing was stored by any of them.
    expect(await server.storage.policies.currentPolicySet()).toMatchObject({
      policies: [expect.objectContaining({ name: 'old' })],
    });
  });

  it('applies: stores the side files with the revision and writes the folder to disk, audited', async () => {
    const applied = await admin.post('/api/v1/policies/apply', { files: FILES, payloads: PAYLOADS });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ valid: true, created: true });
    const { revision } = applied.body;
    const folder = await admin.get('/api/v1/policy-folder');
    expect(folder.body).toEqual({ revision, files: FILES, payloads: PAYLOADS });
    expect((await admin.get(`/api/v1/policy-revisions/${revision}/files`)).body).toEqual(folder.body);
    // On disk: the YAML and the side files; old.yaml (not in the bundle) is gone, .git untouched.
    expect(readFileSync(join(policyDir, 'contoso', 'contoso.yaml'), 'utf8')).toBe(
      FILES['contoso/contoso.yaml'],
    );
    expect(readFileSync(join(policyDir, 'contoso', 'contoso.admx'), 'utf8')).toBe(ADMX);
    expect(readFileSync(join(policyDir, 'certs', 'root.cer'))).toEqual(CERT);
    expect(() => readFileSync(join(policyDir, 'old.yaml'))).toThrow();
    expect(readFileSync(join(policyDir, '.git', 'HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
    const [entry] = await server.storage.audit.list({ action: 'policy.folder_write', limit: 5 });
    expect(entry).toMatchObject({
      action: 'policy.folder_write',
      details: {
        revision,
        written: ['assignments.yaml', 'certs/root.cer', 'contoso/contoso.admx', 'contoso/contoso.yaml'],
        removed: ['old.yaml'],
      },
    });
    // The compiled values: the ADMX as text, the certificate in base64.
    const set = await server.storage.policies.currentPolicySet();
    const body = JSON.stringify(set.policies.find((p) => p.name === 'contoso')?.body);
    expect(body).toContain(CERT.toString('base64'));
    expect(body).toContain('policyDefinitions');
    // An edited side file under the same YAML is a new revision.
    const edited = ADMX.replace('revision="1.0" schemaVersion', 'revision="1.1" schemaVersion');
    const again = await admin.post('/api/v1/policies/apply', {
      files: FILES,
      payloads: { ...PAYLOADS, 'contoso/contoso.admx': { text: edited } },
    });
    expect(again.body).toMatchObject({ created: true, revision: revision + 1 });
    expect(readFileSync(join(policyDir, 'contoso', 'contoso.admx'), 'utf8')).toBe(edited);
  });

  it('documents the side files in the OpenAPI document', () => {
    const doc = openApiDocument() as {
      components: { schemas: Record<string, unknown> };
      paths: Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
    };
    expect(doc.components.schemas.PolicySideFiles).toBeDefined();
    expect(doc.components.schemas.PolicySideFile).toBeDefined();
    for (const path of ['/api/v1/policies/validate', '/api/v1/policies/plan', '/api/v1/policies/apply']) {
      const json = JSON.stringify(doc.paths[path]!.post.requestBody.content['application/json']!.schema);
      const schema = json.includes('$ref') ? JSON.stringify(doc.components.schemas) : json;
      expect(schema).toContain('payloads');
    }
    expect(JSON.stringify(doc.components.schemas.PolicyFolderFiles)).toContain('payloads');
  });
});
