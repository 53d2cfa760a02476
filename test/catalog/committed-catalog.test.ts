// The committed csp-catalog/ (generated from the Feb 2025 DDF drop). Expected values were read by
// hand from the DDF XML of pl4nty/windows-ddf be7b21a8 (file named in each `source`).
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';

const catalog = defaultCatalog();
const node = (path: string) => {
  const found = catalog.get(path);
  if (!found) throw new Error(`missing ${path}`);
  return found;
};

describe('committed CSP catalog', () => {
  it('carries the DDF census and its source', () => {
    expect(catalog.info.stats).toEqual({ files: 309, nodes: 5815, leaves: 5025, csps: 49, policyAreas: 260 });
    expect(catalog.info.source).toMatchObject({
      repository: 'pl4nty/windows-ddf',
      commit: 'be7b21a8fe7a213d06d88979ed9a9b6abbce760f',
    });
    const ddfNodes = catalog.all().filter((n) => n.derivedFrom === undefined);
    expect(ddfNodes).toHaveLength(5815);
    expect(ddfNodes.filter((n) => n.format !== 'node')).toHaveLength(5025);
    expect(defaultCatalog()).toBe(catalog);
  });

  it('Policy/Config/DeviceLock/DevicePasswordEnabled (DeviceLock_AreaDDF.xml)', () => {
    expect(node('./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled')).toMatchObject({
      csp: 'Policy',
      area: 'DeviceLock',
      scope: 'device',
      format: 'int',
      access: ['Get', 'Add', 'Replace', 'Delete'],
      defaultValue: '1',
      allowed: {
        kind: 'enum',
        values: [
          { value: '0', description: 'Enabled' },
          { value: '1', description: 'Disabled' },
        ],
      },
      applicability: { minOsBuild: '10.0.10240', cspVersion: '1.0' },
      conflictResolution: 'LowestValueMostSecure',
    });
  });

  it('DevDetail/SwV is rootless, chr, Get only (DevDetail.xml)', () => {
    const swv = catalog.resolve('./DevDetail/SwV')!;
    expect(swv).toMatchObject({ path: './DevDetail/SwV', scope: 'rootless', format: 'chr', access: ['Get'] });
    expect(swv.description).toMatch(/^Returns the Windows 10 OS software version/);
    expect(node('./DevDetail').applicability?.minOsBuild).toBe('10.0.10586');
  });

  it('BitLocker/RequireDeviceEncryption (BitLocker.xml)', () => {
    const n = catalog.resolve('./Vendor/MSFT/BitLocker/RequireDeviceEncryption')!;
    expect(n).toMatchObject({
      path: './Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption',
      format: 'int',
      access: ['Get', 'Add', 'Replace', 'Delete'],
      defaultValue: '0',
    });
    expect(n.allowed?.kind === 'enum' && n.allowed.values.map((v) => v.value)).toEqual(['0', '1']);
  });

  it('Defender AllowRealtimeMonitoring (Defender_AreaDDF.xml)', () => {
    expect(node('./Device/Vendor/MSFT/Policy/Config/Defender/AllowRealtimeMonitoring')).toMatchObject({
      format: 'int',
      mime: 'text/plain',
      defaultValue: '1',
      allowed: { kind: 'enum', values: [{ value: '0' }, { value: '1' }] },
      applicability: { minOsBuild: '10.0.14393', cspVersion: '4.1' },
      gpMapping: { name: 'DisableRealtimeMonitoring' },
      conflictResolution: 'HighestValueMostSecure',
    });
  });

  it('an ADMX-backed policy: ADMX_Bits/BITS_EnablePeercaching (ADMX_Bits_AreaDDF.xml)', () => {
    expect(node('./Device/Vendor/MSFT/Policy/Config/ADMX_Bits/BITS_EnablePeercaching')).toMatchObject({
      format: 'chr',
      access: ['Get', 'Add', 'Replace', 'Delete'],
      allowed: {
        kind: 'admx',
        admxFile: 'Bits.admx',
        area: 'ADMX_Bits',
        category: 'Bits~AT~Network~BITS',
        policy: 'BITS_EnablePeercaching',
      },
      applicability: {
        minOsBuild: '10.0.19041.1202',
        osBuilds: ['10.0.22000', '10.0.19043.1202', '10.0.19042.1202', '10.0.19041.1202'],
      },
    });
  });

  it('DMClient/Provider/{ProviderID}/EntDMID is dynamic and resolves from a concrete provider (DMClient.xml)', () => {
    const n = catalog.resolve('./Vendor/MSFT/DMClient/Provider/MDMServer/EntDMID')!;
    expect(n).toMatchObject({
      path: './Device/Vendor/MSFT/DMClient/Provider/{ProviderID}/EntDMID',
      format: 'chr',
      access: ['Get', 'Add', 'Replace', 'Delete'],
      dynamic: true,
    });
    expect(node('./Device/Vendor/MSFT/DMClient/Provider/{ProviderID}').title).toBeUndefined();
  });

  it('RemoteWipe/doWipe is Exec-only chr (RemoteWipe.xml); Reboot/RebootNow is Exec+Get null (Reboot.xml)', () => {
    expect(catalog.resolve('./Device/Vendor/MSFT/RemoteWipe/doWipe')).toMatchObject({
      format: 'chr',
      access: ['Exec'],
    });
    expect(catalog.resolve('./Vendor/MSFT/Reboot/RebootNow')).toMatchObject({
      path: './Device/Vendor/MSFT/Reboot/RebootNow',
      format: 'null',
      access: ['Get', 'Exec'],
    });
  });

  it('a Range node: Update/ActiveHoursMaxRange [8-18] (Update_AreaDDF.xml)', () => {
    expect(node('./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursMaxRange')).toMatchObject({
      format: 'int',
      defaultValue: '18',
      allowed: { kind: 'range', min: 8, max: 18, raw: '[8-18]' },
      applicability: { minOsBuild: '10.0.15063', cspVersion: '5.0' },
    });
  });

  it('a RegEx node: DMClient SyncApplicationVersion (DMClient.xml)', () => {
    expect(node('./Device/Vendor/MSFT/DMClient/Provider/{ProviderID}/SyncApplicationVersion')).toMatchObject({
      format: 'chr',
      defaultValue: '1.0',
      allowed: { kind: 'regex', pattern: '^(\\d\\.)?(\\d)$' },
    });
  });

  it('a Flag node: Cryptography/ConfigureSystemCryptographyForceStrongKeyProtection (Cryptography_AreaDDF.xml)', () => {
    const n = node(
      './Device/Vendor/MSFT/Policy/Config/Cryptography/ConfigureSystemCryptographyForceStrongKeyProtection',
    );
    expect(n).toMatchObject({
      format: 'int',
      defaultValue: '2',
      applicability: { minOsBuild: '10.0.26100' },
    });
    expect(n.allowed?.kind === 'flag' && n.allowed.values.map((v) => v.value)).toEqual(['8', '2', '1']);
  });

  it('a dependency: DeviceLock/AllowIdleReturnWithoutPassword depends on DevicePasswordEnabled = 0', () => {
    expect(
      node('./Device/Vendor/MSFT/Policy/Config/DeviceLock/AllowIdleReturnWithoutPassword').dependencies,
    ).toEqual([
      {
        type: 'DependsOn',
        path: 'Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
        value: '[0]',
        valueType: 'Range',
      },
    ]);
  });

  it('Policy scopes: a user-only ADMX area has no device node; Result twins are read-only', () => {
    expect(catalog.resolve('./User/Vendor/MSFT/Policy/Config/ADMX_AddRemovePrograms/NoServices')?.scope).toBe(
      'user',
    );
    expect(
      catalog.resolve('./Device/Vendor/MSFT/Policy/Config/ADMX_AddRemovePrograms/NoServices'),
    ).toBeUndefined();
    expect(
      catalog.resolve('./user/Vendor/MSFT/Policy/Result/ADMX_AddRemovePrograms/NoServices'),
    ).toMatchObject({
      access: ['Get'],
      derivedFrom: './User/Vendor/MSFT/Policy/Config/ADMX_AddRemovePrograms/NoServices',
    });
  });

  it('did-you-mean and search on real data', () => {
    expect(catalog.closest('./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamra', 1)).toEqual([
      './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera',
    ]);
    expect(catalog.closest('./Vendor/MSFT/Bitlocker/RequireDeviceEncryption', 1)).toEqual([
      './Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption',
    ]);
    expect(catalog.search('realtime monitoring', 10).map((n) => n.path)).toContain(
      './Device/Vendor/MSFT/Policy/Config/Defender/AllowRealtimeMonitoring',
    );
  });
});
