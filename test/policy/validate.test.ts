import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, issuesOf } from './fixtures.js';

const header = 'name: p\nsettings:\n';

describe('policy validation against the CSP catalog', () => {
  it('accepts a valid policy and reports nothing', () => {
    const result = check(`${header}  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n`);
    expect(issuesOf(result)).toEqual([]);
    expect(result.policy?.settings.map((s) => [s.path, s.value])).toEqual([
      ['./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled', '0'],
    ]);
  });

  it('unknown path: suggests the closest names in the form the admin wrote', () => {
    const result = check(
      `${header}  - path: DeviceLock/DevicePasswordEnable\n    value: 0\n` +
        `  - path: ./Device/Vendor/MSFT/BitLocker/RequireDeviceEncyption\n    value: 1\n`,
    );
    expect(issuesOf(result)).toEqual([
      '3:11 error unknown-path unknown setting `DeviceLock/DevicePasswordEnable` ' +
        '(./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnable): not in the CSP catalog; ' +
        'did you mean one of `DeviceLock/DevicePasswordEnabled`, `DeviceLock/MinDevicePasswordLength`?',
      '5:11 error unknown-path unknown setting `./Device/Vendor/MSFT/BitLocker/RequireDeviceEncyption`: ' +
        'not in the CSP catalog; did you mean `./Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption`?',
    ]);
    expect(result.policy).toBeUndefined();
  });

  it('bad path: neither a LocURI nor a short form, or breaking LocURI rules', () => {
    const result = check(
      `${header}  - path: Vendor\n    value: 1\n  - path: /Vendor/MSFT/Reboot/Schedule/Single\n    value: x\n` +
        `  - path: ./Device/Vendor//MSFT/Reboot\n    value: x\n`,
    );
    expect(issuesOf(result)).toEqual([
      '3:11 error bad-path path `Vendor` is neither a full node path (`./Device/Vendor/MSFT/…`, `./User/…`, ' +
        '`./Vendor/MSFT/…`) nor a Policy CSP short form (`Area/Policy`, e.g. `DeviceLock/DevicePasswordEnabled`)',
      '5:11 error bad-path path `/Vendor/MSFT/Reboot/Schedule/Single` must not start with "/"; ' +
        'write `./Vendor/MSFT/Reboot/Schedule/Single`',
      '7:11 error bad-path path `./Device/Vendor//MSFT/Reboot` has an empty segment; node names cannot be empty, ' +
        '"*", "." or ".." (docs/protocol-notes.md#meta-format-and-locuri)',
    ]);
  });

  it('value out of range', () => {
    const result = check(
      `${header}  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n` +
        `  - path: DeviceLock/MinDevicePasswordLength\n    value: 40\n`,
    );
    expect(issuesOf(result)).toEqual([
      '6:12 error value-range DeviceLock/MinDevicePasswordLength must be between 4 and 16 (allowed range [4-16]); got 40',
    ]);
  });

  it('not one of the ENUM values: lists them with their meaning', () => {
    const result = check(`${header}  - path: DeviceLock/DevicePasswordEnabled\n    value: 2\n`);
    expect(issuesOf(result)).toEqual([
      '4:12 error value-enum DeviceLock/DevicePasswordEnabled must be one of 0 (Enabled), 1 (Disabled); got 2',
    ]);
    const byName = check(`${header}  - path: DeviceLock/DevicePasswordEnabled\n    value: Required\n`);
    expect(issuesOf(byName)).toEqual([
      '4:12 error value-enum DeviceLock/DevicePasswordEnabled must be one of 0 (Enabled), 1 (Disabled); got "Required"',
    ]);
  });

  it('wrong type for int, bool and single-valued nodes', () => {
    const result = check(
      `${header}  - path: ./Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption\n    value: true\n` +
        `  - path: ./Vendor/MSFT/Firewall/MdmStore/DomainProfile/EnableFirewall\n    value: 1\n` +
        `  - path: ./Device/Vendor/MSFT/Reboot/Schedule/Single\n    value: [a, b]\n` +
        `  - path: Update/ConfigureDeadlineForQualityUpdates\n    value: 2.5\n`,
    );
    expect(issuesOf(result)).toEqual([
      '4:12 error wrong-type ./Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption takes an integer (format int); ' +
        'got true (write 1 if that is what you mean)',
      '6:12 error wrong-type ./Vendor/MSFT/Firewall/MdmStore/DomainProfile/EnableFirewall takes true or false ' +
        '(format bool); got 1',
      '8:12 error wrong-type ./Device/Vendor/MSFT/Reboot/Schedule/Single takes a single value (format chr); got a list',
      '10:12 error wrong-type Update/ConfigureDeadlineForQualityUpdates takes an integer (format int); got 2.5',
    ]);
  });

  it('node not writable: read-only, operation, interior node, Result path', () => {
    const result = check(
      `${header}  - path: ./Device/Vendor/MSFT/BitLocker/Status/DeviceEncryptionStatus\n    value: 0\n` +
        `  - path: ./Device/Vendor/MSFT/BitLocker/RotateRecoveryPasswords\n    value: "1"\n` +
        `  - path: ./Device/Vendor/MSFT/BitLocker\n    value: 1\n` +
        `  - path: ./Device/Vendor/MSFT/Policy/Result/DeviceLock/DevicePasswordEnabled\n    value: 0\n`,
    );
    expect(issuesOf(result)).toEqual([
      '3:11 error not-writable ./Device/Vendor/MSFT/BitLocker/Status/DeviceEncryptionStatus is read-only ' +
        '(access: Get); a policy can only set nodes that take Add or Replace',
      '5:11 error not-writable ./Device/Vendor/MSFT/BitLocker/RotateRecoveryPasswords is an operation ' +
        '(access: Exec), not a setting; run it as a device action',
      '7:11 error not-writable ./Device/Vendor/MSFT/BitLocker is an interior node, not a setting; set one of the ' +
        'settings under it (e.g. RequireDeviceEncryption)',
      '9:11 error not-writable ./Device/Vendor/MSFT/Policy/Result/DeviceLock/DevicePasswordEnabled is the read-only ' +
        'effective value of a policy; set ./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled instead',
    ]);
  });

  it('User-scope node in a device policy, device node in a user policy', () => {
    const device = check(`${header}  - path: Education/PrinterNames\n    value: Printer1\n`);
    expect(issuesOf(device)).toEqual([
      '3:11 error scope-mismatch Education/PrinterNames is a user setting ' +
        '(./User/Vendor/MSFT/Policy/Config/Education/PrinterNames) but this policy targets devices; ' +
        'put it in a policy with `target: { scope: user }`',
    ]);
    const user = check(
      'name: p\ntarget: { scope: user }\nsettings:\n' +
        '  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n' +
        '  - path: Education/PrinterNames\n    value: Printer1\n',
    );
    expect(issuesOf(user)).toEqual([
      '4:11 error scope-mismatch DeviceLock/DevicePasswordEnabled is a device setting ' +
        '(./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled) but this policy targets users ' +
        '(target.scope: user); put it in a device policy',
    ]);
    const valid = check(
      'name: p\ntarget: { scope: user }\nsettings:\n  - path: Education/PrinterNames\n    value: P1\n',
    );
    expect(issuesOf(valid)).toEqual([]);
    expect(valid.policy?.settings[0]?.path).toBe('./User/Vendor/MSFT/Policy/Config/Education/PrinterNames');
  });

  it('setting newer than the targeted OS build', () => {
    const result = check(
      'name: p\ntarget:\n  minOsBuild: "10.0.19045"\nsettings:\n' +
        '  - path: Update/ConfigureDeadlineForQualityUpdates\n    value: 3\n' +
        '  - path: Update/AllowTemporaryEnterpriseFeatureControl\n    value: 1\n',
    );
    expect(issuesOf(result)).toEqual([
      '7:11 error os-build Update/AllowTemporaryEnterpriseFeatureControl needs Windows 10.0.22621.1555 or later, ' +
        'but this policy targets 10.0.19045 (target.minOsBuild); raise minOsBuild or remove the setting',
    ]);
    const newer = check(
      'name: p\ntarget:\n  minOsBuild: "10.0.22631"\nsettings:\n' +
        '  - path: Update/AllowTemporaryEnterpriseFeatureControl\n    value: 1\n',
    );
    expect(issuesOf(newer)).toEqual([]);
  });

  it('the same node set twice: error with different values, warning with the same value', () => {
    const result = check(
      `${header}  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n` +
        `  - path: ./Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled\n    value: 1\n` +
        `  - path: ./device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled\n    value: Enabled\n`,
    );
    expect(issuesOf(result)).toEqual([
      '5:11 error duplicate-setting ./Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled is set twice ' +
        'with different values: "0" on line 3 and "1" here; keep one',
      '7:11 warning duplicate-setting ./device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled is ' +
        'already set to the same value on line 3; remove one of them',
    ]);
  });

  it('a setting that needs another setting it depends on', () => {
    const missing = check(`${header}  - path: DeviceLock/MinDevicePasswordLength\n    value: 8\n`);
    expect(issuesOf(missing)).toEqual([
      '3:11 error missing-dependency DeviceLock/MinDevicePasswordLength only takes effect when ' +
        'DeviceLock/DevicePasswordEnabled is 0; add that setting to this policy ' +
        '(./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled)',
    ]);
    const wrong = check(
      `${header}  - path: DeviceLock/DevicePasswordEnabled\n    value: Disabled\n` +
        `  - path: DeviceLock/MinDevicePasswordLength\n    value: 8\n`,
    );
    expect(issuesOf(wrong)).toEqual([
      '5:11 error missing-dependency DeviceLock/MinDevicePasswordLength only takes effect when ' +
        'DeviceLock/DevicePasswordEnabled is 0, but line 3 sets it to "1"',
    ]);
  });

  it('a dependency under a dynamic name refers to the same instance', () => {
    const keyword =
      './Vendor/MSFT/Firewall/MdmStore/DynamicKeywords/Addresses/{0f4b1a44-5e2a-4c3e-9a55-2f1f1c0d7e11}';
    const missing = check(
      `${header}  - path: ${keyword}/Addresses\n    value: 10.1.0.0/16\n` +
        `  - path: ./Vendor/MSFT/Firewall/MdmStore/DynamicKeywords/Addresses/{other}/AutoResolve\n    value: false\n`,
    );
    expect(issuesOf(missing)).toEqual([
      `3:11 error missing-dependency ${keyword}/Addresses only takes effect when ${keyword}/AutoResolve is false; ` +
        `add that setting to this policy (${keyword}/AutoResolve)`,
    ]);
    const ok = check(
      `${header}  - path: ${keyword}/AutoResolve\n    value: false\n  - path: ${keyword}/Addresses\n    value: 10.1.0.0/16\n`,
    );
    expect(issuesOf(ok)).toEqual([]);
    expect(ok.policy?.settings[1]?.path).toBe(
      './Vendor/MSFT/Firewall/MdmStore/DynamicKeywords/Addresses/%7B0f4b1a44-5e2a-4c3e-9a55-2f1f1c0d7e11%7D/Addresses',
    );
  });

  it('ADMX-backed policies need enabled/disabled, data only when enabled, and only there', () => {
    const result = check(
      `${header}  - path: DeviceLock/PreventLockScreenSlideShow\n    value: 1\n` +
        `  - path: DeviceLock/PreventLockScreenSlideShow\n    value: disabled\n    data: { A: 1 }\n` +
        `  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n    data: { A: 1 }\n` +
        `  - path: DeviceLock/PreventLockScreenSlideShow\n    value: enabled\n    data: { "": 1 }\n`,
    );
    expect(issuesOf(result)).toEqual([
      '4:12 error admx-value DeviceLock/PreventLockScreenSlideShow is ADMX-backed: set `value` to `enabled` ' +
        '(with its `data` elements) or `disabled`; got 1',
      '7:5 error admx-value DeviceLock/PreventLockScreenSlideShow: `data` only applies when the policy is `enabled`',
      '10:5 error admx-value DeviceLock/DevicePasswordEnabled is not ADMX-backed; `data` only applies to ' +
        'ADMX-backed policies',
      '13:13 error admx-value DeviceLock/PreventLockScreenSlideShow: a data element needs an id (the element id ' +
        'from the ADMX file)',
    ]);
  });

  it('values that must match a pattern or be well-formed XML or base64', () => {
    const result = check(
      `${header}  - path: ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/LocalPortRanges\n    value: "3389;80"\n` +
        `  - path: ./Device/Vendor/MSFT/AppLocker/ApplicationLaunchRestrictions/Apps/EXE/Policy\n    value: "<RuleCollection"\n` +
        `  - path: ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCD/EncodedCertificate\n    value: "not base64!"\n`,
    );
    expect(issuesOf(result)).toEqual([
      '4:12 error value-pattern ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/LocalPortRanges must match the ' +
        'pattern ^[0-9,-]+$; got "3389;80"',
      expect.stringMatching(
        /^6:12 error value-format \.\/Device\/Vendor\/MSFT\/AppLocker\/ApplicationLaunchRestrictions\/Apps\/EXE\/Policy takes an XML document; the value is not well-formed XML: /,
      ),
      '8:12 error value-format ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCD/EncodedCertificate takes ' +
        'base64 data (format b64); got "not base64!", which is not base64 (use `file:` to send a file, it is encoded for you)',
    ]);
  });

  it('files: base64 for b64 nodes, text for XML nodes, and a clear error when missing', () => {
    const der = Buffer.from([0x30, 0x82, 0x01, 0x0a, 0xff]);
    const wlan =
      '<?xml version="1.0"?>\n<WLANProfile xmlns="http://www.microsoft.com/networking/WLAN/profile/v1"><name>Corp &amp; Guests</name></WLANProfile>';
    const result = check(
      `${header}  - path: ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCD/EncodedCertificate\n    file: root.cer\n` +
        `  - path: ./Vendor/MSFT/WiFi/Profile/Corp Wifi/WlanXml\n    file: corp.xml\n`,
      { 'root.cer': der, 'corp.xml': `\uFEFF${wlan}` },
    );
    expect(issuesOf(result)).toEqual([]);
    expect(result.policy?.settings.map((s) => [s.path, s.format, s.value])).toEqual([
      [
        './Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCD/EncodedCertificate',
        'b64',
        der.toString('base64'),
      ],
      ['./Vendor/MSFT/WiFi/Profile/Corp%20Wifi/WlanXml', 'xml', wlan],
    ]);
    const missing = check(
      `${header}  - path: ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCD/EncodedCertificate\n    file: gone.cer\n`,
    );
    expect(issuesOf(missing)).toEqual([
      `4:11 error file-read cannot read \`gone.cer\` (${resolve('gone.cer')}): no such file`,
    ]);
  });

  it('reports several errors of different kinds in one run, in file order', () => {
    const result = check(
      'name: p\ntarget: { minOsBuild: "10.0.19045" }\natomic: true\nsettings:\n' +
        '  - path: DeviceLock/MinDevicePasswordLength\n    value: 3\n' +
        '  - path: Education/PrinterNames\n    value: x\n' +
        '  - path: Update/AllowTemporaryEnterpriseFeatureControl\n    value: 1\n' +
        '  - path: DeviceLock/NoSuchPolicy\n    value: 1\n',
    );
    expect(result.issues.map((i) => [i.line, i.code])).toEqual([
      [6, 'value-range'],
      [7, 'scope-mismatch'],
      [9, 'os-build'],
      [11, 'unknown-path'],
    ]);
    expect(result.issues.every((i) => i.file === 'p.yaml')).toBe(true);
  });
});

describe('natural values → wire values', () => {
  it('ENUM names, flag lists, strings as written, booleans', () => {
    const result = check(
      `${header}  - path: DeviceLock/DevicePasswordEnabled\n    value: enabled\n` +
        `  - path: ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Name\n    value: 0123\n` +
        `  - path: ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Profiles\n    value: [Domain, Private]\n` +
        `  - path: ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Enabled\n    value: false\n` +
        `  - path: ./Vendor/MSFT/DMClient/Provider/My MDM/ManagementServiceAddress\n    value: https://mdm.example/a?b=1&c=2\n`,
    );
    expect(issuesOf(result)).toEqual([]);
    expect(result.policy?.settings.map((s) => [s.path, s.value])).toEqual([
      ['./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled', '0'],
      ['./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Name', '0123'],
      ['./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Profiles', '3'],
      ['./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Enabled', 'false'],
      ['./Vendor/MSFT/DMClient/Provider/My%20MDM/ManagementServiceAddress', 'https://mdm.example/a?b=1&c=2'],
    ]);
  });

  it('flag values outside the allowed bits are rejected', () => {
    const result = check(
      `${header}  - path: ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Profiles\n    value: [1, 8]\n`,
    );
    expect(issuesOf(result)).toEqual([
      '4:16 error value-enum ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Profiles takes a combination of the ' +
        'flags 0x1 (Domain), 0x2 (Private), 0x4 (Public); got 8',
    ]);
  });

  it('ADMX payload: enabled with data elements, attribute values escaped, lists joined by U+F000', () => {
    const result = check(
      `${header}  - path: DeviceLock/PreventLockScreenSlideShow\n    value: enabled\n    data:\n` +
        `      Url: 'https://intranet/?a=1&b="2"<x>'\n      Sites: [a.example, b.example]\n      Count: 010\n` +
        `  - path: ./Device/Vendor/MSFT/Policy/Config/Contoso~Policy~Apps/ShowBanner\n    value: disabled\n`,
    );
    expect(issuesOf(result)).toEqual([]);
    const [admx, ingested] = result.policy!.settings;
    expect(admx?.value).toBe(
      '<enabled/><data id="Url" value="https://intranet/?a=1&amp;b=&quot;2&quot;&lt;x&gt;"/>' +
        '<data id="Sites" value="a.example&#xF000;b.example"/><data id="Count" value="010"/>',
    );
    expect([admx?.format, admx?.type]).toEqual(['chr', 'text/plain']);
    expect(ingested).toMatchObject({
      path: './Device/Vendor/MSFT/Policy/Config/Contoso~Policy~Apps/ShowBanner',
      value: '<disabled/>',
      format: 'chr',
      type: 'text/plain',
    });
  });
});
