import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import type { CatalogNode } from '../../src/catalog/types.js';
import { applyCommand, catalogDefault, type DeviceEffect } from '../../src/simulator/apply.js';
import { canonicalPath, DmTree } from '../../src/simulator/dm-tree.js';
import type { ServerCommand, ServerItem } from '../../src/simulator/wire.js';

const node = (path: string, extra: Partial<CatalogNode>): CatalogNode => ({
  path,
  csp: path.split('/')[4] ?? 'DevDetail',
  scope: path.startsWith('./Device/') ? 'device' : 'rootless',
  format: 'chr',
  access: ['Get'],
  source: 'test.xml',
  ...extra,
});

const catalog = Catalog.fromNodes([
  node('./DevDetail/SwV', {}),
  node('./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', {
    format: 'int',
    access: ['Get', 'Add', 'Replace', 'Delete'],
    defaultValue: '1',
    area: 'Camera',
    allowed: { kind: 'enum', values: [{ value: '0' }, { value: '1' }] },
  }),
  node('./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart', {
    format: 'int',
    access: ['Get', 'Add', 'Replace', 'Delete'],
    allowed: { kind: 'range', min: 0, max: 23, raw: '[0-23]' },
  }),
  node('./Vendor/MSFT/Personalization/DesktopImageUrl', { access: ['Get', 'Add', 'Replace', 'Delete'] }),
  node('./Device/Vendor/MSFT/DMClient/Provider/{ProviderID}', {
    format: 'node',
    access: ['Get', 'Add', 'Delete'],
    dynamic: true,
  }),
  node('./Device/Vendor/MSFT/DMClient/Provider/{ProviderID}/Unenroll', {
    format: 'null',
    access: ['Get', 'Exec'],
    dynamic: true,
  }),
  node('./Device/Vendor/MSFT/Reboot/RebootNow', { format: 'null', access: ['Get', 'Exec'] }),
]);

function setup(failPaths: string[] = []) {
  const tree = new DmTree(catalogDefault(catalog));
  tree.set('./DevDetail/SwV', { value: '10.0.19045.4529', format: 'chr' });
  const effects: DeviceEffect[] = [];
  const ctx = { tree, catalog, effects, failsAt: (p: string) => failPaths.includes(p) };
  return { tree, effects, ctx };
}

const item = (target: string, data?: string, format?: string): ServerItem => ({
  target,
  data,
  format,
  moreData: false,
});
const cmd = (name: string, cmdId: string, ...items: ServerItem[]): ServerCommand => ({ name, cmdId, items });
const ALLOW_CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';

describe('DM tree', () => {
  it('treats ./Device, ./device and unprefixed device paths as one node', () => {
    expect(canonicalPath('./Device/Vendor/MSFT/X/Y')).toBe('./Vendor/MSFT/X/Y');
    expect(canonicalPath('./device/Vendor/MSFT/X/Y/')).toBe('./Vendor/MSFT/X/Y');
    expect(canonicalPath('./user/Vendor/MSFT/X')).toBe('./User/Vendor/MSFT/X');
    expect(canonicalPath('./DevInfo/DevId')).toBe('./DevInfo/DevId');
  });

  it('rolls back every mutation since begin()', () => {
    const { tree } = setup();
    tree.begin();
    tree.set('./Vendor/MSFT/A', { value: '1', format: 'int' });
    tree.delete('./DevDetail/SwV');
    tree.rollback();
    expect(tree.get('./Vendor/MSFT/A')).toBeUndefined();
    expect(tree.get('./DevDetail/SwV')?.value).toBe('10.0.19045.4529');
  });
});

describe('applying server commands like Windows', () => {
  it('answers a Get with Results, and 404 for unknown or never-set nodes', () => {
    const { ctx } = setup();
    const [ok] = applyCommand(cmd('Get', '2', item('./DevDetail/SwV')), ctx);
    expect(ok).toMatchObject({ status: 200, cmd: 'Get', cmdId: '2' });
    expect(ok!.results).toEqual([
      { source: './DevDetail/SwV', format: 'chr', type: 'text/plain', data: '10.0.19045.4529' },
    ]);
    expect(applyCommand(cmd('Get', '3', item('./Vendor/MSFT/Nope/X')), ctx)[0]!.status).toBe(404);
    expect(applyCommand(cmd('Get', '4', item(ALLOW_CAMERA)), ctx)[0]!.status).toBe(404);
  });

  it('applies Add/Replace/Delete with the catalog rules', () => {
    const { ctx, tree } = setup();
    const status = (c: ServerCommand) => applyCommand(c, ctx)[0]!.status;
    expect(status(cmd('Replace', '2', item('./DevDetail/SwV', '1')))).toBe(405); // read-only
    expect(status(cmd('Add', '3', item(ALLOW_CAMERA, '0', 'int')))).toBe(200);
    expect(tree.get('./Vendor/MSFT/Policy/Config/Camera/AllowCamera')?.value).toBe('0');
    expect(status(cmd('Add', '4', item(ALLOW_CAMERA, '0', 'int')))).toBe(418);
    expect(status(cmd('Replace', '5', item(ALLOW_CAMERA, '1', 'chr')))).toBe(415); // wrong Meta Format
    expect(status(cmd('Replace', '6', item(ALLOW_CAMERA, '7', 'int')))).toBe(400); // not an allowed value
    expect(
      status(
        cmd('Replace', '7', item('./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart', '24', 'int')),
      ),
    ).toBe(400);
    expect(status(cmd('Replace', '8', item(ALLOW_CAMERA, 'x', 'int')))).toBe(400);
    expect(status(cmd('Replace', '9', item('./Vendor/MSFT/Nope/X', '1')))).toBe(404);
    expect(status(cmd('Delete', '10', item(ALLOW_CAMERA)))).toBe(200);
    expect(status(cmd('Delete', '11', item(ALLOW_CAMERA)))).toBe(404);
  });

  it('reports the configured value under Policy/Result, else the default', () => {
    const { ctx } = setup();
    const result = './Device/Vendor/MSFT/Policy/Result/Camera/AllowCamera';
    expect(applyCommand(cmd('Get', '2', item(result)), ctx)[0]!.results?.[0]?.data).toBe('1');
    applyCommand(cmd('Replace', '3', item(ALLOW_CAMERA, '0', 'int')), ctx);
    expect(applyCommand(cmd('Get', '4', item(result)), ctx)[0]!.results?.[0]?.data).toBe('0');
  });

  it('answers 202 for asynchronous nodes and records Exec effects', () => {
    const { ctx, effects } = setup();
    expect(
      applyCommand(
        cmd('Replace', '2', item('./Vendor/MSFT/Personalization/DesktopImageUrl', 'https://x/y.jpg')),
        ctx,
      )[0]!.status,
    ).toBe(202);
    expect(
      applyCommand(
        cmd('Exec', '3', item('./Vendor/MSFT/DMClient/Provider/MDM/Unenroll', 'MDM', 'chr')),
        ctx,
      )[0]!.status,
    ).toBe(200);
    expect(
      applyCommand(cmd('Exec', '4', item('./Device/Vendor/MSFT/Reboot/RebootNow')), ctx)[0]!.status,
    ).toBe(200);
    expect(effects).toEqual(['unenroll', 'reboot']);
    expect(applyCommand(cmd('Exec', '5', item('./DevDetail/SwV')), ctx)[0]!.status).toBe(405);
  });

  it('fails chosen paths with 500 (fault injection)', () => {
    const { ctx } = setup([ALLOW_CAMERA]);
    expect(applyCommand(cmd('Replace', '2', item(ALLOW_CAMERA, '0', 'int')), ctx)[0]!.status).toBe(500);
  });

  it('rolls back a failed Atomic: 507 for the Atomic, 216 for executed commands, 215 after the failure', () => {
    const { ctx, tree } = setup();
    const atomic: ServerCommand = {
      name: 'Atomic',
      cmdId: '2',
      items: [],
      commands: [
        cmd('Replace', '3', item(ALLOW_CAMERA, '0', 'int')),
        cmd('Replace', '4', item('./DevDetail/SwV', 'x')),
        cmd('Replace', '5', item('./Vendor/MSFT/Personalization/DesktopImageUrl', 'u')),
      ],
    };
    const out = applyCommand(atomic, ctx);
    expect(out.map((o) => [o.cmdId, o.cmd, o.status])).toEqual([
      ['2', 'Atomic', 507],
      ['3', 'Replace', 216],
      ['4', 'Replace', 405],
      ['5', 'Replace', 215],
    ]);
    expect(tree.get(ALLOW_CAMERA)).toBeUndefined();
  });

  it('commits a successful Atomic and refuses Get inside one', () => {
    const { ctx, tree } = setup();
    const ok = applyCommand(
      { name: 'Atomic', cmdId: '2', items: [], commands: [cmd('Add', '3', item(ALLOW_CAMERA, '0', 'int'))] },
      ctx,
    );
    expect(ok.map((o) => o.status)).toEqual([200, 200]);
    expect(tree.get(ALLOW_CAMERA)?.value).toBe('0');
    const withGet = applyCommand(
      { name: 'Atomic', cmdId: '4', items: [], commands: [cmd('Get', '5', item('./DevDetail/SwV'))] },
      ctx,
    );
    expect(withGet.map((o) => o.status)).toEqual([507, 500]);
  });

  it('stops a Sequence at the first failure', () => {
    const { ctx } = setup();
    const seq: ServerCommand = {
      name: 'Sequence',
      cmdId: '2',
      items: [],
      commands: [
        cmd('Get', '3', item('./DevDetail/SwV')),
        cmd('Get', '4', item('./Nope')),
        cmd('Get', '5', item('./DevDetail/SwV')),
      ],
    };
    const out = applyCommand(seq, ctx);
    expect(out.map((o) => o.status)).toEqual([200, 200, 404, 215]);
    expect(out[1]!.results?.[0]?.data).toBe('10.0.19045.4529');
  });

  it('lists children for a Get on an interior node', () => {
    const { ctx, tree } = setup();
    expect(applyCommand(cmd('Get', '2', item('./Vendor/MSFT/DMClient/Provider/MDM')), ctx)[0]!.status).toBe(
      404,
    );
    expect(
      applyCommand(cmd('Add', '3', item('./Vendor/MSFT/DMClient/Provider/MDM', undefined, 'node')), ctx)[0]!
        .status,
    ).toBe(200);
    tree.set('./Vendor/MSFT/DMClient/Provider/MDM/EntDMID', { value: 'x', format: 'chr' });
    const [get] = applyCommand(cmd('Get', '4', item('./Vendor/MSFT/DMClient/Provider/MDM')), ctx);
    expect(get!.results?.[0]).toMatchObject({ format: 'node', data: 'EntDMID' });
  });
});
