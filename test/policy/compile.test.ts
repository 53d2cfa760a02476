import { describe, expect, it } from 'vitest';
import { renderSyncMl, toSyncMlCommands } from '../../src/cli/policy-syncml.js';
import { parseSyncMl } from '../../src/codec/syncml/index.js';
import { applyCommands, removeCommands, verifyCommands } from '../../src/policy/language/compile.js';
import type { CompiledPolicy, SettingPlan } from '../../src/policy/language/types.js';
import { check, issuesOf } from './fixtures.js';

function compiled(settings: string, extra = ''): CompiledPolicy {
  const result = check(`name: p\n${extra}settings:\n${settings}`);
  expect(issuesOf(result)).toEqual([]);
  return result.policy!;
}

const byPath = (policy: CompiledPolicy, suffix: string): SettingPlan =>
  policy.settings.find((s) => s.path.endsWith(suffix))!;

describe('compiling settings to command plans', () => {
  const policy = compiled(
    '  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n' +
      '  - path: ./Vendor/MSFT/Firewall/MdmStore/DomainProfile/EnableFirewall\n    value: true\n' +
      '  - path: ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/AB12/EncodedCertificate\n    value: MIIB\n' +
      '  - path: ./Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption\n    value: 1\n' +
      '  - path: ./Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Name\n    value: Remote Desktop\n' +
      '  - path: DeviceLock/PreventLockScreenSlideShow\n    value: enabled\n',
  );

  it('Policy CSP: Add the first time, Replace afterwards, read back from Policy/Result, Delete to remove', () => {
    const plan = byPath(policy, 'DevicePasswordEnabled');
    const item = {
      target: './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
      format: 'int',
      type: 'text/plain',
      data: '0',
    };
    expect(plan.apply).toEqual({
      first: { verb: 'Add', items: [item] },
      update: { verb: 'Replace', items: [item] },
    });
    expect(plan.verifyPath).toBe('./Device/Vendor/MSFT/Policy/Result/DeviceLock/DevicePasswordEnabled');
    expect(plan.verify).toEqual({ verb: 'Get', items: [{ target: plan.verifyPath }] });
    expect(plan.remove).toEqual({ verb: 'Delete', items: [{ target: item.target }] });
    expect([plan.scope, plan.format, plan.value, plan.node.path]).toEqual([
      'device',
      'int',
      '0',
      './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
    ]);
  });

  it('a CSP that only takes Replace gets Replace both times; no Delete, no Get → not verifiable', () => {
    const plan = byPath(policy, 'EnableFirewall');
    expect([plan.apply.first.verb, plan.apply.update.verb]).toEqual(['Replace', 'Replace']);
    expect(plan.remove).toBeUndefined();
    expect(plan.verifiable).toBe(false);
    expect(verifyCommands(policy).some((c) => 'items' in c && c.items[0]?.target === plan.path)).toBe(false);
  });

  it('a CSP that only takes Add gets Add both times', () => {
    const plan = byPath(policy, 'EncodedCertificate');
    expect([plan.apply.first.verb, plan.apply.update.verb]).toEqual(['Add', 'Add']);
    expect(plan.format).toBe('b64');
  });

  it('other CSPs are Replaced; nodes under a server-named instance are Added first', () => {
    expect(byPath(policy, 'RequireDeviceEncryption').apply.first.verb).toBe('Replace');
    const rule = byPath(policy, 'Rdp/Name');
    expect([rule.apply.first.verb, rule.apply.update.verb]).toEqual(['Add', 'Replace']);
    expect(rule.verifyPath).toBe(rule.path);
  });

  it('ADMX-backed values are chr text/plain payloads, verified on Policy/Result', () => {
    const plan = byPath(policy, 'PreventLockScreenSlideShow');
    expect(plan.apply.first).toEqual({
      verb: 'Add',
      items: [
        {
          target: './Device/Vendor/MSFT/Policy/Config/DeviceLock/PreventLockScreenSlideShow',
          format: 'chr',
          type: 'text/plain',
          data: '<enabled/>',
        },
      ],
    });
    expect(plan.verifyPath).toBe('./Device/Vendor/MSFT/Policy/Result/DeviceLock/PreventLockScreenSlideShow');
  });

  it('apply/verify/remove command lists; Atomic only when the policy asks for it', () => {
    expect(applyCommands(policy).map((c) => c.verb)).toEqual([
      'Add',
      'Replace',
      'Add',
      'Replace',
      'Add',
      'Add',
    ]);
    expect(applyCommands(policy, 'update').map((c) => c.verb)).toEqual([
      'Replace',
      'Replace',
      'Add',
      'Replace',
      'Replace',
      'Replace',
    ]);
    expect(verifyCommands(policy)).toHaveLength(5);
    expect(removeCommands(policy).map((c) => ('items' in c ? c.items[0]?.target : ''))).toEqual([
      './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
      './Device/Vendor/MSFT/RootCATrustedCertificates/Root/AB12/EncodedCertificate',
      './Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption',
      './Vendor/MSFT/Firewall/MdmStore/FirewallRules/Rdp/Name',
      './Device/Vendor/MSFT/Policy/Config/DeviceLock/PreventLockScreenSlideShow',
    ]);
    const atomic = compiled('  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n', 'atomic: true\n');
    expect(atomic.atomic).toBe(true);
    expect(applyCommands(atomic)).toEqual([{ verb: 'Atomic', commands: [atomic.settings[0]!.apply.first] }]);
  });
});

describe('rendering plans as SyncML', () => {
  it('numbers CmdIDs across nested commands and round-trips through the codec with Data unescaped', () => {
    const policy = compiled(
      '  - path: DeviceLock/PreventLockScreenSlideShow\n    value: enabled\n    data: { Url: "https://a/?b=1&c=<2>" }\n' +
        '  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n',
      'atomic: true\n',
    );
    const commands = toSyncMlCommands(applyCommands(policy));
    expect(commands.map((c) => [c.kind, c.cmdId])).toEqual([['Atomic', 1]]);
    const xml = renderSyncMl(applyCommands(policy), {
      sessionId: '7',
      msgId: 2,
      target: 'urn:uuid:device',
      source: 'https://mdm.example/ManagementServer/MDM.svc',
    });
    expect(xml).toContain(
      '<Data>&lt;enabled/&gt;&lt;data id=&quot;Url&quot; value=&quot;https://a/?b=1&amp;amp;c=&amp;lt;2&amp;gt;&quot;/&gt;</Data>',
    );
    const message = parseSyncMl(xml);
    expect(message.header).toMatchObject({ sessionId: '7', msgId: 2, target: 'urn:uuid:device' });
    const atomic = message.commands[0]!;
    expect(atomic.kind).toBe('Atomic');
    if (atomic.kind !== 'Atomic') return;
    expect(atomic.commands.map((c) => [c.kind, c.cmdId])).toEqual([
      ['Add', 2],
      ['Add', 3],
    ]);
    const add = atomic.commands[0]!;
    if (add.kind !== 'Add') return;
    expect(add.items[0]).toEqual({
      target: './Device/Vendor/MSFT/Policy/Config/DeviceLock/PreventLockScreenSlideShow',
      meta: { format: 'chr', type: 'text/plain' },
      data: policy.settings[0]!.value,
    });
  });
});
