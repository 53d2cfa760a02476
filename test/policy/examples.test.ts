// The example policies admins start from: each must pass `mdm policy check` against the real catalog,
// and compile to the SyncML kept in test/policy/golden/ (regenerate with UPDATE_GOLDEN=1).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { compilePolicyCommand } from '../../src/cli/policy.js';
import { parseSyncMl } from '../../src/codec/syncml/index.js';
import { loadPolicyFile } from '../../src/policy/language/load.js';

const EXAMPLES = join(import.meta.dirname, '../../csp-catalog/examples');
const GOLDEN = join(import.meta.dirname, 'golden');
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

describe('csp-catalog/examples', () => {
  it('covers the policies an admin starts from', () => {
    expect(files).toEqual([
      'bitlocker.yaml',
      'defender.yaml',
      'edge-browser.yaml',
      'firewall.yaml',
      'password-and-lock-screen.yaml',
      'windows-update-ring-broad.yaml',
      'windows-update-ring-pilot.yaml',
    ]);
  });

  for (const file of files) {
    describe(file, () => {
      const path = join(EXAMPLES, file);

      it('checks clean against the CSP catalog and points editors at the schema', async () => {
        const result = await loadPolicyFile(path, { catalog: defaultCatalog() });
        expect(result.issues).toEqual([]);
        expect(result.policy?.name).toBe(
          file.replace(/\.yaml$/, '').replace(/^defender$/, 'defender-antivirus'),
        );
        expect(readFileSync(path, 'utf8')).toMatch(
          /^# yaml-language-server: \$schema=\.\.\/policy\.schema\.json\n/,
        );
      });

      it('compiles to the golden SyncML, which the codec parses back to the plans', async () => {
        const out = await compilePolicyCommand(path, { catalog: defaultCatalog(), syncml: true });
        expect(out.exitCode).toBe(0);
        const golden = join(GOLDEN, file.replace(/\.yaml$/, '.syncml.xml'));
        if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, out.stdout);
        expect(existsSync(golden), `${golden} missing: run with UPDATE_GOLDEN=1`).toBe(true);
        expect(out.stdout).toBe(readFileSync(golden, 'utf8'));

        const policy = (await loadPolicyFile(path, { catalog: defaultCatalog() })).policy!;
        const message = parseSyncMl(out.stdout);
        const commands = message.commands.flatMap((c) => (c.kind === 'Atomic' ? c.commands : [c]));
        expect(commands.map((c) => c.cmdId)).toEqual(
          policy.settings.map((_, i) => i + 1 + (policy.atomic ? 1 : 0)),
        );
        commands.forEach((command, i) => {
          const plan = policy.settings[i]!;
          expect(command.kind).toBe(plan.apply.first.verb);
          if (!('items' in command) || command.kind === 'Status' || command.kind === 'Results') return;
          expect(command.items[0]).toEqual({
            target: plan.path,
            meta: { format: plan.format, ...(plan.type ? { type: plan.type } : {}) },
            data: plan.value,
          });
        });
      });
    });
  }
});
