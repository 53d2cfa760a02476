// The `certificates:` section of a policy: SCEP certificate profiles, compiled to the
// ClientCertificateInstall CSP's SCEP nodes
// (https://learn.microsoft.com/en-us/windows/client-management/mdm/clientcertificateinstall-csp),
// issued by this server's SCEP endpoint (RFC 8894); and trusted roots, compiled to a setting of
// RootCATrustedCertificates/<store>/<SHA-1 thumbprint>/EncodedCertificate
// (https://learn.microsoft.com/en-us/windows/client-management/mdm/rootcacertificates-csp), delivered
// and read back like any setting. Every `{{variable}}` in the policy's setting values is checked
// here too (templates.ts).
import { X509Certificate } from 'node:crypto';
import { isMap, isScalar, isSeq, type Node, type Scalar, type YAMLMap } from 'yaml';
import {
  type CertificateProfile,
  CertificateProfileSchema,
  EKU_OIDS,
  type TrustedRoot,
  TrustedRootSchema,
} from './certificate-schema.js';
import type { PolicyIssue, SourcePosition } from './errors.js';
import type { Located, ParsedSetting } from './parsed.js';
import { templateUses, variableProblem } from './templates.js';

/** KeyUsage node: the key usage bits in decimal (CSP doc: 0x80 digitalSignature, 0x20 keyEncipherment). */
const KEY_USAGE_VALUES = { digitalSignature: 0x80, keyEncipherment: 0x20 } as const;

/** SubjectAlternativeNames node: `type+value;…` with the AlternativeNameType numbers of certenroll.h. */
const SAN_TYPES: Readonly<Record<string, number>> = { email: 2, dns: 3, uri: 7, upn: 11 };

export interface CertificateProfilePlan extends CertificateProfile {
  readonly scope: 'device' | 'user';
  /** `./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/<name>` (or ./User/…). */
  readonly root: string;
  readonly ekuOids: readonly string[];
  readonly pos: SourcePosition;
}

/** The Install nodes of a SCEP profile (CSP doc order); `{{scep.*}}` are filled by the server per device. */
export function scepInstallValues(p: CertificateProfilePlan): [node: string, value: string | number][] {
  const san = (p.san ?? []).map((s) => {
    const i = s.indexOf(':');
    return `${SAN_TYPES[s.slice(0, i)]}+${s.slice(i + 1)}`;
  });
  const values: [string, string | number][] = [
    ['ServerURL', '{{scep.url}}'],
    ['Challenge', `{{scep.challenge.${p.name}}}`],
    ['EKUMapping', p.ekuOids.join('+')],
    ['KeyUsage', p.keyUsage.reduce((bits, k) => bits | KEY_USAGE_VALUES[k], 0)],
    ['SubjectName', p.subject],
    ['KeyLength', p.keyLength],
    ['HashAlgorithm', p.hashAlgorithm],
    ['CAThumbprint', '{{scep.caThumbprint}}'],
    ['ValidPeriod', 'Days'],
    ['ValidPeriodUnits', p.validityDays],
    ['RetryCount', p.retryCount],
    ['RetryDelay', p.retryDelayMinutes],
  ];
  if (san.length > 0) values.splice(5, 0, ['SubjectAlternativeNames', san.join(';')]);
  return values;
}

export interface CertificatesResult {
  readonly profiles: readonly CertificateProfilePlan[];
  /** The profiles' Install nodes as settings (validated against the catalog like any other). */
  readonly settings: readonly ParsedSetting[];
  readonly issues: readonly PolicyIssue[];
}

type At = (offset: number) => SourcePosition;

const err = (pos: SourcePosition, code: PolicyIssue['code'], message: string): PolicyIssue => ({
  ...pos,
  code,
  severity: 'error',
  message,
});

const posOf = (node: Node | null | undefined, at: At, fallback: SourcePosition) =>
  node?.range ? at(node.range[0]) : fallback;

/**
 * Reads `certificates:` (shape already checked by the policy schema), builds each profile's
 * settings, and checks every template variable in it and in `settings:` values.
 */
export function readCertificates(
  root: YAMLMap,
  text: string,
  at: At,
  policyScope: 'device' | 'user',
  firstIndex: number,
): CertificatesResult {
  const issues: PolicyIssue[] = [];
  const profiles: CertificateProfilePlan[] = [];
  const settings: ParsedSetting[] = [];
  const start = at(0);
  const section = root.get('certificates', true) as Node | undefined;
  const seen = new Map<string, SourcePosition>();
  const unique = (item: YAMLMap, name: string, pos: SourcePosition): boolean => {
    const previous = seen.get(name);
    if (previous) {
      issues.push(
        err(
          posOf(item.get('name', true) as Node, at, pos),
          'duplicate-setting',
          `certificate "${name}" is defined twice (first at line ${previous.line})`,
        ),
      );
      return false;
    }
    seen.set(name, pos);
    return true;
  };
  if (isSeq(section)) {
    for (const item of section.items) {
      if (!isMap(item)) continue;
      if (item.get('type') === 'root') {
        const root = TrustedRootSchema.safeParse(item.toJSON());
        if (!root.success) continue; // the policy schema reported it at the key at fault
        const pos = posOf(item, at, start);
        if (!unique(item, root.data.name, pos)) continue;
        const setting = trustedRootSetting(root.data, item, policyScope, pos, at, issues);
        if (setting) settings.push({ ...setting, index: firstIndex + settings.length });
        continue;
      }
      const parsed = CertificateProfileSchema.safeParse(item.toJSON());
      if (!parsed.success) continue; // the policy schema reported it at the key at fault
      const pos = posOf(item, at, start);
      const profile = parsed.data;
      if (!unique(item, profile.name, pos)) continue;
      const scope = profile.scope ?? policyScope;
      if (scope !== policyScope) {
        issues.push(
          err(
            posOf(item.get('scope', true) as Node, at, pos),
            'scope-mismatch',
            `certificate profile "${profile.name}" is for the ${scope} but this policy targets ${policyScope === 'user' ? 'users' : 'devices'}; put it in a policy with \`target: { scope: ${scope} }\``,
          ),
        );
        continue;
      }
      const plan: CertificateProfilePlan = {
        ...profile,
        scope,
        root: `./${scope === 'user' ? 'User' : 'Device'}/Vendor/MSFT/ClientCertificateInstall/SCEP/${profile.name}`,
        ekuOids: profile.ekus.map((e) => EKU_OIDS[e] ?? e),
        pos,
      };
      profiles.push(plan);
      for (const [node, value] of scepInstallValues(plan)) {
        const located = <T>(v: T): Located<T> => ({ value: v, pos, source: String(v) });
        settings.push({
          index: firstIndex + settings.length,
          pos,
          path: located(`${plan.root}/Install/${node}`),
          value: located(value),
        });
      }
    }
  }
  const names = new Set(profiles.map((p) => p.name));
  // Variables in the profiles (subject, san) and in every setting value.
  const check = (node: unknown, internal = false) => {
    if (!isScalar(node) || typeof node.value !== 'string') return;
    const scalar = node as Scalar<string>;
    for (const use of templateUses(scalar.value)) {
      const problem = variableProblem(use.variable, names, { internal });
      if (!problem) continue;
      issues.push(err(templatePosition(scalar, text, use.offset, at, start), 'unknown-variable', problem));
    }
  };
  if (isSeq(section)) {
    for (const item of section.items) {
      if (!isMap(item)) continue;
      check(item.get('subject', true));
      const san = item.get('san', true);
      if (isSeq(san)) for (const s of san.items) check(s);
    }
  }
  const settingsNode = root.get('settings', true);
  if (isSeq(settingsNode)) {
    for (const item of settingsNode.items) {
      if (!isMap(item)) continue;
      const value = item.get('value', true);
      if (isSeq(value)) for (const v of value.items) check(v);
      else check(value);
      const data = item.get('data', true);
      if (isMap(data)) for (const pair of data.items) check(pair.value);
    }
  }
  return { profiles, settings, issues };
}

/**
 * The setting of a trusted root: its EncodedCertificate node (base64 DER) under the store, named
 * by the certificate's SHA-1 thumbprint as Windows names it (upper-case hex).
 */
function trustedRootSetting(
  root: TrustedRoot,
  item: YAMLMap,
  policyScope: 'device' | 'user',
  pos: SourcePosition,
  at: At,
  issues: PolicyIssue[],
): Omit<ParsedSetting, 'index'> | undefined {
  const scope = root.scope ?? policyScope;
  if (scope !== policyScope) {
    issues.push(
      err(
        posOf(item.get('scope', true) as Node, at, pos),
        'scope-mismatch',
        `certificate "${root.name}" is for the ${scope} but this policy targets ${policyScope === 'user' ? 'users' : 'devices'}; put it in a policy with \`target: { scope: ${scope} }\``,
      ),
    );
    return undefined;
  }
  if (scope === 'user' && root.store === 'Root') {
    issues.push(
      err(
        posOf(item.get('store', true) as Node, at, pos),
        'schema',
        `certificate "${root.name}": the user scope has no Root store (RootCATrustedCertificates CSP); use CA, TrustedPublisher or TrustedPeople, or a device policy`,
      ),
    );
    return undefined;
  }
  const certPos = posOf(item.get('certificate', true) as Node, at, pos);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(root.certificate)?.[0];
  let cert: X509Certificate | undefined;
  try {
    cert = pem ? new X509Certificate(pem) : undefined;
  } catch {
    cert = undefined;
  }
  if (!cert) {
    issues.push(
      err(
        certPos,
        'value-format',
        `certificate "${root.name}" is not a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)`,
      ),
    );
    return undefined;
  }
  const thumbprint = cert.fingerprint.replace(/:/g, '').toUpperCase();
  const path = `./${scope === 'user' ? 'User' : 'Device'}/Vendor/MSFT/RootCATrustedCertificates/${root.store}/${thumbprint}/EncodedCertificate`;
  const der = cert.raw.toString('base64');
  return {
    pos,
    path: { value: path, pos, source: path },
    value: { value: der, pos: certPos, source: der },
  };
}

/** Where `{{` at `offset` of the scalar's value is in the file: found in the scalar's source range. */
function templatePosition(
  scalar: Scalar<string>,
  text: string,
  offset: number,
  at: At,
  fallback: SourcePosition,
) {
  if (!scalar.range) return fallback;
  const end = scalar.value.indexOf('}}', offset);
  const needle = scalar.value.slice(offset, end < 0 ? undefined : end + 2);
  // Count earlier occurrences of the same text so the n-th use maps to the n-th in the source.
  let nth = 0;
  for (let i = scalar.value.indexOf(needle); i >= 0 && i < offset; i = scalar.value.indexOf(needle, i + 1))
    nth++;
  let found = scalar.range[0] - 1;
  for (let k = 0; k <= nth; k++) {
    found = text.indexOf(needle, found + 1);
    if (found < 0 || found >= scalar.range[1]) return at(scalar.range[0]);
  }
  return at(found);
}
