// A policy folder sent to the admin API as a tar archive (as `tar czf` writes it) is validated,
// planned and applied exactly like the same folder sent as a JSON map; a damaged or hostile archive
// is a 400 problem and stores nothing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/api/index.js';
import { createToken } from '../../src/services/tokens.js';
import { type ApiClient, apiClient } from '../support/api-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const FILES: Record<string, string> = {
  'camera-off.yaml': 'name: camera-off\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
  'assignments.yaml': 'assignments:\n  - policy: camera-off\n    include: [all]\n',
  'more/lock.yaml': 'name: lock\nsettings:\n  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n',
};

describe('policy folder bundles as tar archives', () => {
  let server: TestServer;
  let admin: ApiClient;
  const root = mkdtempSync(join(tmpdir(), 'mdm-bundle-tar-'));

  /** `tar czf` (or `cf`) of a folder `policies/` holding `files`, as an admin would make it. */
  function archive(files: Record<string, string>, options: { gzip?: boolean; top?: boolean } = {}) {
    const dir = mkdtempSync(join(root, 'folder-'));
    const base = join(dir, 'policies');
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(base, name, '..'), { recursive: true });
      writeFileSync(join(base, name), text);
    }
    // A resource fork or editor file is not part of the folder.
    writeFileSync(join(base, '._camera-off.yaml'), 'binary junk');
    const args = options.top === false ? ['-C', base, '.'] : ['-C', dir, 'policies'];
    return { dir: base, tar: execFileSync('tar', [options.gzip === false ? '-cf' : '-czf', '-', ...args]) };
  }

  const send = (path: string, body: Buffer, type = 'application/gzip') =>
    admin.call('POST', path, { raw: body, headers: { 'content-type': type } });

  beforeAll(async () => {
    server = await startTestServer();
    const token = await createToken(server.storage, { name: 'tar', role: 'admin', actor: 'test' });
    admin = apiClient(server, token.token);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('validates, plans and applies a tgz like the same folder sent as JSON', async () => {
    const { tar } = archive(FILES);
    const validated = await send('/api/v1/policies/validate', tar);
    expect(validated.status).toBe(200);
    expect(validated.body).toMatchObject({ ok: true, kind: 'folder', errors: 0 });
    const plan = await send('/api/v1/policies/plan', tar);
    const jsonPlan = await admin.post('/api/v1/policies/plan', { files: FILES });
    expect(plan.status).toBe(200);
    expect(plan.body).toEqual(jsonPlan.body);
    const applied = await send(
      '/api/v1/policies/apply',
      archive(FILES, { gzip: false, top: false }).tar,
      'application/x-tar',
    );
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ valid: true, created: true });
    const again = await admin.post('/api/v1/policies/apply', { files: FILES });
    expect(again.body).toMatchObject({ created: false, revision: applied.body.revision });
    const names = (await admin.get('/api/v1/policies')).body.items.map((p: { name: string }) => p.name);
    expect(names.sort()).toEqual(['camera-off', 'lock']);
    // The stored folder reads back as the bundle it was applied from (the `._` file was not part of it).
    const folder = await admin.get('/api/v1/policy-folder');
    expect(folder.status).toBe(200);
    expect(folder.body).toEqual({ revision: applied.body.revision, files: FILES });
    const byRevision = await admin.get(`/api/v1/policy-revisions/${applied.body.revision}/files`);
    expect(byRevision.body).toEqual(folder.body);
    expect((await admin.get('/api/v1/policy-revisions/999/files')).status).toBe(404);
  });

  it('reads the side files of the folder from the archive, a broken XML payload at its line', async () => {
    const wifi = (name: string) =>
      `<?xml version="1.0"?>\n<WLANProfile xmlns="http://www.microsoft.com/networking/WLAN/profile/v1">\n` +
      `  <name>${name}</name>\n</WLANProfile>\n`;
    const files = {
      ...FILES,
      'wifi.yaml':
        'name: wifi\nsettings:\n  - path: ./Vendor/MSFT/WiFi/Profile/Corp/WlanXml\n    file: profiles/corp.xml\n',
      'assignments.yaml': `${FILES['assignments.yaml']}  - policy: wifi\n    include: [all]\n`,
    };
    const ok = await send(
      '/api/v1/policies/validate',
      archive({ ...files, 'profiles/corp.xml': wifi('Corp') }).tar,
    );
    expect(ok.body).toMatchObject({ ok: true, kind: 'folder', errors: 0 });
    const broken = await send(
      '/api/v1/policies/validate',
      archive({ ...files, 'profiles/corp.xml': wifi('Corp</name>') }).tar,
    );
    // The payload's own line, and the assignment of the policy that failed.
    expect(broken.body.issues.filter((i: { file: string }) => i.file !== 'assignments.yaml')).toEqual([
      expect.objectContaining({ file: 'more/lock.yaml', severity: 'warning' }),
      expect.objectContaining({ file: 'profiles/corp.xml', line: 3, col: 20, code: 'value-format' }),
    ]);
  });

  it('reports a broken policy inside the archive at its file:line:col, storing nothing', async () => {
    const before = await server.storage.policies.currentRevision();
    const { tar } = archive({
      ...FILES,
      'broken.yaml': 'name: broken\nsettings:\n  - path: Camera/NoSuch\n    value: 1\n',
    });
    const res = await send('/api/v1/policies/apply', tar);
    expect(res.status).toBe(422);
    expect(res.body.issues.find((i: { file: string }) => i.file === 'broken.yaml')).toMatchObject({
      line: 3,
    });
    expect(await server.storage.policies.currentRevision()).toBe(before);
  });

  it('refuses damaged and hostile archives with 400, and other media types with 415', async () => {
    const before = await server.storage.policies.currentRevision();
    const { tar, dir } = archive(FILES, { gzip: false });
    expect((await send('/api/v1/policies/apply', tar.subarray(0, 600), 'application/x-tar')).status).toBe(
      400,
    );
    expect((await send('/api/v1/policies/apply', Buffer.from('garbage'))).status).toBe(400);
    symlinkSync('/etc/passwd', join(dir, 'passwd.yaml'));
    const linked = execFileSync('tar', ['-cf', '-', '-C', dir, '.']);
    const link = await send('/api/v1/policies/apply', linked, 'application/x-tar');
    expect(link.status).toBe(400);
    expect(link.body.detail).toMatch(/passwd.yaml.*only regular files/);
    const notYaml = await send('/api/v1/policies/apply', archive({ ...FILES, 'notes.txt': 'hello' }).tar);
    expect(notYaml.status).toBe(400);
    // A file other than YAML is a side file, and one no file: value names is refused.
    expect(notYaml.body.detail).toMatch(/notes.txt.*no file: value/);
    expect(notYaml.body.errors).toEqual([expect.objectContaining({ path: 'payloads.notes.txt' })]);
    const text = await admin.call('POST', '/api/v1/policies/apply', {
      raw: 'files',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.detail).toMatch(/application\/x-tar/);
    expect(await server.storage.policies.currentRevision()).toBe(before);
  });

  it('documents the archive media types in OpenAPI', () => {
    // biome-ignore lint/suspicious/noExplicitAny: walks the generated document
    const doc = openApiDocument() as any;
    for (const path of ['/api/v1/policies/validate', '/api/v1/policies/plan', '/api/v1/policies/apply']) {
      const content = doc.paths[path].post.requestBody.content;
      expect(Object.keys(content)).toEqual(
        expect.arrayContaining(['application/json', 'application/x-tar', 'application/gzip']),
      );
    }
  });
});
