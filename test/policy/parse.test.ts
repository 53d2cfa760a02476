import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/policy/language/errors.js';
import { parsePolicy } from '../../src/policy/language/parse.js';
import { check, issuesOf } from './fixtures.js';

describe('parsing policy files with positions', () => {
  it('YAML syntax errors carry the position the parser reports', () => {
    expect(issuesOf(check('name: p\nsettings:\n  - path: [a\n'))).toEqual([
      expect.stringMatching(/^4:1 error yaml-syntax /),
    ]);
    expect(issuesOf(check('name: p\nname: q\nsettings: []\n'))).toEqual([
      '2:1 error yaml-syntax Map keys must be unique',
    ]);
  });

  it('an empty file or a non-mapping says what a policy needs', () => {
    expect(issuesOf(check(''))).toEqual([
      '1:1 error schema the file is empty; a policy needs at least `name` and `settings` or `apps`',
    ]);
    expect(issuesOf(check('- a\n- b\n'))).toEqual([
      '1:1 error schema the document is not a mapping; a policy needs at least `name` and `settings` or `apps`',
    ]);
  });

  it('shape errors point at the offending key or value and say what would be right', () => {
    const result = check(
      'name: my policy\ndescripton: x\ntarget: { scope: devices, minOsBuild: 10.0 }\natomic: yes\nsettings:\n' +
        '  - path: DeviceLock/DevicePasswordEnabled\n    valu: 0\n' +
        '  - path: DeviceLock/DevicePasswordEnabled\n' +
        '  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n    file: a.txt\n' +
        '  - path: DeviceLock/DevicePasswordEnabled\n    value: { a: 1 }\n',
    );
    expect(issuesOf(result)).toEqual([
      '1:7 error schema `name`: use letters, digits, `.`, `_` and `-` (at most 100)',
      '2:1 error schema unknown key `descripton` in the policy; did you mean `description`? ' +
        '(allowed: $schema, name, description, target, atomic, certificates, settings, apps)',
      '3:18 error schema `target.scope` must be one of device, user, not the string "devices"',
      '3:39 error schema `target.minOsBuild` must be a string, not number 10',
      '4:9 error schema `atomic` must be a boolean (true or false), not the string "yes"',
      '7:5 error schema unknown key `valu` in `settings[0]`; did you mean `value`? ' +
        '(allowed: path, value, data, file, comment)',
      '8:5 error schema setting has neither `value` nor `file`; give the value to set, or a file to read it from',
      '9:5 error schema setting has both `value` and `file`; keep one',
      '13:12 error schema `settings[3].value` must be a string, number, boolean or a list of them, not a mapping',
    ]);
  });

  it('missing required keys are reported on the enclosing mapping', () => {
    expect(issuesOf(check('description: nothing else\n'))).toEqual([
      '1:1 error schema missing required key `name`',
      '1:1 error schema a policy needs `settings`, `apps` or `certificates` (none is given)',
    ]);
    expect(issuesOf(check('name: p\nsettings: []\n'))).toEqual([
      '2:11 error schema `settings` must list at least 1 item',
    ]);
  });

  it('keeps the source text of scalars and the position of every data element', () => {
    const { policy, issues } = parsePolicy(
      'name: p\nsettings:\n  - path: A/B\n    value: enabled\n    data:\n      Count: 010\n      List: [x, y]\n',
      'f.yaml',
    );
    expect(issues).toEqual([]);
    const data = policy!.settings[0]!.data!;
    expect(data.map((d) => [d.id.value, d.id.pos.line, d.id.pos.col, d.value.source])).toEqual([
      ['Count', 6, 7, '010'],
      ['List', 7, 7, undefined],
    ]);
    expect(data[1]!.value.items!.map((i) => [i.value, i.pos.col])).toEqual([
      ['x', 14],
      ['y', 17],
    ]);
  });

  it('formats issues as file:line:col: severity: message [code]', () => {
    const [issue] = check(
      'name: p\nsettings:\n  - path: DeviceLock/DevicePasswordEnabled\n    value: 7\n',
    ).issues;
    expect(formatIssue(issue!)).toBe(
      'p.yaml:4:12: error: DeviceLock/DevicePasswordEnabled must be one of 0 (Enabled), 1 (Disabled); got 7 [value-enum]',
    );
  });
});
