// Hand-made catalog nodes, modelled on the real DDF entries, for validator and compiler tests.
import { Catalog } from '../../src/catalog/catalog.js';
import type { CatalogNode } from '../../src/catalog/types.js';
import { loadPolicyText, type PolicyLoadResult } from '../../src/policy/language/load.js';

const RW = ['Get', 'Add', 'Replace', 'Delete'] as const;
const CONFIG = './Device/Vendor/MSFT/Policy/Config';

function policy(area: string, name: string, extra: Partial<CatalogNode>): CatalogNode {
  return {
    path: `${CONFIG}/${area}/${name}`,
    aliases: [`./Vendor/MSFT/Policy/Config/${area}/${name}`],
    csp: 'Policy',
    area,
    scope: 'device',
    format: 'int',
    access: RW,
    mime: 'text/plain',
    source: `${area}_AreaDDF.xml`,
    ...extra,
  };
}

const interior = (path: string, scope: CatalogNode['scope'] = 'device'): CatalogNode => ({
  path,
  csp: path.split('/')[4] ?? 'Policy',
  scope,
  format: 'node',
  access: ['Get'],
  source: 'fixture.xml',
});

export const FIXTURE_NODES: CatalogNode[] = [
  interior('./Device/Vendor/MSFT/Policy'),
  interior(CONFIG),
  interior(`${CONFIG}/DeviceLock`),
  {
    ...interior(`${CONFIG}/{AreaName}`),
    access: ['Get', 'Add', 'Delete'],
    dynamic: true,
  },
  {
    path: `${CONFIG}/{AreaName}/{PolicyName}`,
    csp: 'Policy',
    scope: 'device',
    format: 'null',
    access: RW,
    dynamic: true,
    allowed: { kind: 'none' },
    source: 'Policy.xml',
  },
  policy('DeviceLock', 'DevicePasswordEnabled', {
    allowed: {
      kind: 'enum',
      values: [
        { value: '0', description: 'Enabled' },
        { value: '1', description: 'Disabled' },
      ],
    },
    applicability: { minOsBuild: '10.0.10240' },
  }),
  policy('DeviceLock', 'MinDevicePasswordLength', {
    allowed: { kind: 'range', min: 4, max: 16, raw: '[4-16]' },
    applicability: { minOsBuild: '10.0.10240' },
    dependencies: [
      {
        type: 'DependsOn',
        path: 'Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
        value: '[0]',
        valueType: 'Range',
      },
    ],
  }),
  policy('DeviceLock', 'PreventLockScreenSlideShow', {
    format: 'chr',
    allowed: {
      kind: 'admx',
      admxFile: 'ControlPanelDisplay.admx',
      category: 'ControlPanelDisplay~AT~ControlPanel~Personalization',
      policy: 'CPL_Personalization_NoLockScreenSlideShow',
    },
  }),
  policy('Update', 'ConfigureDeadlineForQualityUpdates', {
    allowed: { kind: 'range', min: 0, max: 30, raw: '[0-30]' },
    applicability: { minOsBuild: '10.0.18362' },
  }),
  policy('Update', 'AllowTemporaryEnterpriseFeatureControl', {
    allowed: {
      kind: 'enum',
      values: [
        { value: '0', description: 'Not allowed' },
        { value: '1', description: 'Allowed' },
      ],
    },
    applicability: { minOsBuild: '10.0.22621.1555' },
  }),
  policy('Defender', 'AttackSurfaceReductionRules', { format: 'chr' }),
  {
    ...policy('Education', 'PrinterNames', { format: 'chr' }),
    path: './User/Vendor/MSFT/Policy/Config/Education/PrinterNames',
    aliases: [],
    scope: 'user',
  },
  interior('./Device/Vendor/MSFT/BitLocker'),
  {
    path: './Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption',
    csp: 'BitLocker',
    scope: 'device',
    format: 'int',
    access: RW,
    allowed: {
      kind: 'enum',
      values: [
        { value: '0', description: 'Disable' },
        { value: '1', description: 'Enable' },
      ],
    },
    source: 'BitLocker.xml',
  },
  {
    path: './Device/Vendor/MSFT/BitLocker/Status/DeviceEncryptionStatus',
    csp: 'BitLocker',
    scope: 'device',
    format: 'int',
    access: ['Get'],
    source: 'BitLocker.xml',
  },
  {
    path: './Device/Vendor/MSFT/BitLocker/RotateRecoveryPasswords',
    csp: 'BitLocker',
    scope: 'device',
    format: 'chr',
    access: ['Exec'],
    source: 'BitLocker.xml',
  },
  {
    path: './Vendor/MSFT/Firewall/MdmStore/DomainProfile/EnableFirewall',
    csp: 'Firewall',
    scope: 'device',
    format: 'bool',
    access: ['Replace'],
    source: 'Firewall.xml',
  },
  {
    path: './Vendor/MSFT/Firewall/MdmStore/FirewallRules/{FirewallRuleName}/Name',
    csp: 'Firewall',
    scope: 'device',
    format: 'chr',
    access: RW,
    dynamic: true,
    source: 'Firewall.xml',
  },
  {
    path: './Vendor/MSFT/Firewall/MdmStore/FirewallRules/{FirewallRuleName}/LocalPortRanges',
    csp: 'Firewall',
    scope: 'device',
    format: 'chr',
    access: RW,
    dynamic: true,
    allowed: { kind: 'regex', pattern: '^[0-9,-]+$' },
    source: 'Firewall.xml',
  },
  {
    path: './Vendor/MSFT/Firewall/MdmStore/FirewallRules/{FirewallRuleName}/Profiles',
    csp: 'Firewall',
    scope: 'device',
    format: 'int',
    access: ['Get', 'Replace'],
    dynamic: true,
    allowed: {
      kind: 'flag',
      values: [
        { value: '0x1', description: 'Domain' },
        { value: '0x2', description: 'Private' },
        { value: '0x4', description: 'Public' },
      ],
    },
    source: 'Firewall.xml',
  },
  {
    path: './Vendor/MSFT/Firewall/MdmStore/FirewallRules/{FirewallRuleName}/Enabled',
    csp: 'Firewall',
    scope: 'device',
    format: 'bool',
    access: ['Get', 'Replace'],
    dynamic: true,
    source: 'Firewall.xml',
  },
  {
    path: './Device/Vendor/MSFT/RootCATrustedCertificates/Root/{CertHash}/EncodedCertificate',
    csp: 'RootCATrustedCertificates',
    scope: 'device',
    format: 'b64',
    access: ['Get', 'Add', 'Delete'],
    dynamic: true,
    source: 'RootCATrustedCertificates.xml',
  },
  {
    path: './Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/{PackageFamilyName}/HostedInstall',
    csp: 'EnterpriseModernAppManagement',
    scope: 'device',
    format: 'xml',
    access: ['Exec', 'Get'],
    dynamic: true,
    source: 'EnterpriseModernAppManagement.xml',
  },
  {
    path: './Device/Vendor/MSFT/AppLocker/ApplicationLaunchRestrictions/{Grouping}/EXE/Policy',
    csp: 'AppLocker',
    scope: 'device',
    format: 'chr',
    access: RW,
    dynamic: true,
    allowed: { kind: 'xsd' },
    source: 'AppLocker.xml',
  },
  {
    path: './Vendor/MSFT/DMClient/Provider/{ProviderID}/ManagementServiceAddress',
    csp: 'DMClient',
    scope: 'device',
    format: 'chr',
    access: ['Get', 'Replace'],
    dynamic: true,
    source: 'DMClient.xml',
  },
  {
    path: './Vendor/MSFT/Firewall/MdmStore/DynamicKeywords/Addresses/{Id}/AutoResolve',
    csp: 'Firewall',
    scope: 'device',
    format: 'bool',
    access: ['Get', 'Add', 'Delete'],
    dynamic: true,
    source: 'Firewall.xml',
  },
  {
    path: './Vendor/MSFT/Firewall/MdmStore/DynamicKeywords/Addresses/{Id}/Addresses',
    csp: 'Firewall',
    scope: 'device',
    format: 'chr',
    access: RW,
    dynamic: true,
    dependencies: [
      {
        type: 'DependsOn',
        path: 'Vendor/MSFT/Firewall/MdmStore/DynamicKeywords/Addresses/[Id]/AutoResolve',
        value: 'false',
        valueType: 'ENUM',
      },
    ],
    source: 'Firewall.xml',
  },
  {
    path: './Device/Vendor/MSFT/Reboot/Schedule/Single',
    csp: 'Reboot',
    scope: 'device',
    format: 'chr',
    access: RW,
    source: 'Reboot.xml',
  },
  {
    path: './Vendor/MSFT/WiFi/Profile/{SSID}/WlanXml',
    csp: 'WiFi',
    scope: 'device',
    format: 'xml',
    access: ['Get', 'Add', 'Replace', 'Delete'],
    dynamic: true,
    source: 'WiFi.xml',
  },
];

export const fixtureCatalog = Catalog.fromNodes(FIXTURE_NODES);

/** Check a policy text against the fixture catalog; `files` stand in for the file system. */
export function check(text: string, files: Record<string, Buffer | string> = {}): PolicyLoadResult {
  return loadPolicyText(text, 'p.yaml', {
    catalog: fixtureCatalog,
    readFile: (path) => {
      const name = path.slice(path.lastIndexOf('/') + 1);
      const content = files[name];
      if (content === undefined) {
        throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
      }
      return Buffer.isBuffer(content) ? content : Buffer.from(content);
    },
  });
}

/** `line:col code message` of each issue, the way a reader of `mdm policy check` sees them. */
export function issuesOf(result: PolicyLoadResult): string[] {
  return result.issues.map((i) => `${i.line}:${i.col} ${i.severity} ${i.code} ${i.message}`);
}
