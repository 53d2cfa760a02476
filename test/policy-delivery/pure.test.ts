import { describe, expect, it } from 'vitest';
import { notApplicableReason } from '../../src/policy/delivery/applicability.js';
import { resolveSettings } from '../../src/policy/delivery/conflicts.js';
import { canonicalAdmx, valuesEqual } from '../../src/policy/delivery/equality.js';
import { indexGroups, targetedPolicies } from '../../src/policy/delivery/targeting.js';
import {
  appRecheckIntervalMs,
  parseAssignments,
  recheckIntervalMs,
} from '../../src/policy/language/assignment.js';
import { compareVersions, editionId, isMember } from '../../src/policy/language/groups.js';
import { CAMERA, DEVLOCK, plan, policy, USER_POLICY } from './plans.js';

describe('valuesEqual', () => {
  const admx = { node: { format: 'chr' as const, allowed: { kind: 'admx' as const } } };
  it.each([
    ['1', '01', 'int', true],
    ['1', ' 1 ', 'int', true],
    ['-0', '0', 'int', true],
    ['1', '2', 'int', false],
    ['1', 'one', 'int', false],
    ['true', 'True', 'bool', true],
    ['true', '1', 'bool', true],
    ['false', '0', 'bool', true],
    ['true', 'false', 'bool', false],
    ['abc', 'abc', 'chr', true],
    ['abc', 'ABC', 'chr', false],
    ['abc', 'abc ', 'chr', false],
    ['1.5', '1.50', 'float', true],
    ['QUJD\nREVG', 'QUJDREVG', 'b64', true],
    ['<a x="1" y="2"><b>t</b></a>', '<a  y="2" x="1">\n  <b> t </b>\n</a>', 'xml', true],
    ['<p:a xmlns:p="urn:x"/>', '<q:a xmlns:q="urn:x"></q:a>', 'xml', true],
    ['<a><b/><c/></a>', '<a><c/><b/></a>', 'xml', false],
    ['<a>', '<a>', 'xml', true],
    ['<a>', '<a/>', 'xml', false],
  ] as const)('%j vs %j as %s → %s', (a, b, format, equal) => {
    expect(valuesEqual(a, b, format)).toBe(equal);
  });

  it('compares ADMX payloads regardless of data order, quoting and whitespace', () => {
    const desired = '<enabled/><data id="A" value="1"/><data id="B" value="x y"/>';
    expect(
      valuesEqual(
        desired,
        '<enabled />\n <data value=\'x y\' id=\'B\'/><data id="A" value="1"/>',
        'chr',
        admx,
      ),
    ).toBe(true);
    expect(
      valuesEqual(desired, '<enabled/><data id="A" value="2"/><data id="B" value="x y"/>', 'chr', admx),
    ).toBe(false);
    expect(valuesEqual(desired, '<disabled/>', 'chr', admx)).toBe(false);
    expect(valuesEqual('<disabled/>', '<disabled></disabled>', 'chr')).toBe(true);
    expect(canonicalAdmx('<enabled/><bogus/>')).toBeUndefined();
    expect(canonicalAdmx('not xml <')).toBeUndefined();
  });
});

describe('groups and targeting', () => {
  const laptop = {
    id: 'D1',
    user: 'Alice@Contoso.com',
    edition: '4',
    osVersion: '10.0.22631.4037',
    model: 'Surface Laptop 5',
  };
  const desktop = {
    id: 'D2',
    user: 'bob@contoso.com',
    edition: 'Pro',
    osVersion: '10.0.19045.1',
    model: 'OptiPlex 7090',
  };
  const groups = indexGroups([
    { name: 'surfaces', rules: [{ models: ['Surface*'] }] },
    { name: 'win11-enterprise', rules: [{ editions: ['Enterprise'], osVersion: { min: '10.0.22000' } }] },
    { name: 'alice', users: ['alice@contoso.com'] },
    { name: 'pinned', devices: ['D2'] },
  ]);

  it('matches members by device id, user, edition, version and model', () => {
    expect(isMember(laptop, groups.get('surfaces')!)).toBe(true);
    expect(isMember(desktop, groups.get('surfaces')!)).toBe(false);
    expect(isMember(laptop, groups.get('win11-enterprise')!)).toBe(true);
    expect(isMember(desktop, groups.get('win11-enterprise')!)).toBe(false);
    expect(isMember(laptop, groups.get('alice')!)).toBe(true);
    expect(isMember(desktop, groups.get('pinned')!)).toBe(true);
  });

  it('includes by group and lets exclusions win', () => {
    const assignments = [
      { policy: 'baseline', include: ['all'], exclude: ['pinned'] },
      { policy: 'surface-only', include: ['surfaces'] },
      { policy: 'kiosk', include: ['pinned'] },
    ];
    expect(targetedPolicies(laptop, assignments, groups)).toEqual(['baseline', 'surface-only']);
    expect(targetedPolicies(desktop, assignments, groups)).toEqual(['kiosk']);
  });

  it('understands edition names and version ordering', () => {
    expect(editionId('Windows 11 Enterprise')).toBe('4');
    expect(editionId('0x30')).toBe('48');
    expect(compareVersions('10.0.9', '10.0.19041')).toBe(-1);
    expect(compareVersions('10.0.22631.1', '10.0.22631')).toBe(1);
  });
});

describe('resolveSettings (conflicts)', () => {
  it('merges agreeing policies and reports disagreeing ones as conflicts', () => {
    const a = policy('a', [plan(CAMERA, '0'), plan(DEVLOCK, '1')]);
    const b = policy('b', [plan(CAMERA, '1'), plan(DEVLOCK, '01')]);
    const { desired, conflicts } = resolveSettings([b, a]);
    expect(desired.map((d) => [d.plan.path, d.policy])).toEqual([[DEVLOCK, 'a']]);
    expect(conflicts).toEqual([
      {
        path: CAMERA,
        candidates: [
          { policy: 'a', value: '0' },
          { policy: 'b', value: '1' },
        ],
      },
    ]);
  });

  it('delivers the winner an admin chose', () => {
    const a = policy('a', [plan(CAMERA, '0')]);
    const b = policy('b', [plan(CAMERA, '1')]);
    expect(resolveSettings([a, b], [{ path: CAMERA, winner: 'b' }]).desired[0]?.policy).toBe('b');
    expect(resolveSettings([a, b], [{ winner: 'a' }]).desired[0]?.policy).toBe('a');
    expect(resolveSettings([a, b], [{ path: DEVLOCK, winner: 'b' }]).conflicts).toHaveLength(1);
  });
});

describe('notApplicableReason', () => {
  const device = { id: 'D', edition: '48', osVersion: '10.0.19045.100', userLoggedOn: false };
  it('flags too-old OS, wrong edition and user scope without a user', () => {
    expect(
      notApplicableReason(device, plan(CAMERA, '1', 'int', { applicability: { minOsBuild: '10.0.22000' } })),
    ).toMatch(/requires OS build 10.0.22000/);
    expect(
      notApplicableReason(device, plan(CAMERA, '1', 'int', { applicability: { editions: ['4', '121'] } })),
    ).toMatch(/edition 48/);
    expect(notApplicableReason(device, plan(USER_POLICY, '1'))).toMatch(/no user is logged on/);
    expect(notApplicableReason({ ...device, userLoggedOn: true }, plan(USER_POLICY, '1'))).toBeUndefined();
    expect(
      notApplicableReason(
        { id: 'X' },
        plan(CAMERA, '1', 'int', { applicability: { minOsBuild: '10.0.22000' } }),
      ),
    ).toBeUndefined();
  });
});

describe('assignments.yaml', () => {
  it('takes a default and per-setting re-verification intervals', () => {
    const { config, issues } = parseAssignments(
      'assignments.yaml',
      `verification:\n  interval: 12h\n  settings:\n    - path: ${CAMERA}\n      interval: 30m\n`,
    );
    expect(issues).toEqual([]);
    expect(recheckIntervalMs(config!, CAMERA)).toBe(30 * 60_000);
    expect(recheckIntervalMs(config!, DEVLOCK)).toBe(12 * 3_600_000);
    expect(config!.verification.maxDriftRetries).toBe(3);
    expect(appRecheckIntervalMs(config!)).toBe(12 * 3_600_000);
    const apps = parseAssignments('assignments.yaml', 'verification:\n  appInterval: 7d\n');
    expect(apps.issues).toEqual([]);
    expect(appRecheckIntervalMs(apps.config!)).toBe(7 * 24 * 3_600_000);
  });

  it('rejects the reserved group name and bad durations with positions', () => {
    const { issues } = parseAssignments(
      'a.yaml',
      'groups:\n  - name: all\nverification:\n  interval: soon\n',
    );
    expect(issues.map((i) => `${i.line}:${i.col} ${i.message}`)).toEqual([
      '2:11 groups.0.name: `all` is reserved for every device',
      '4:13 verification.interval: expected a duration such as 30m, 24h or 7d',
    ]);
  });
});
