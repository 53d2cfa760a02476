// Checks the `apps:` entries of a parsed policy and compiles them into app plans: a local package is
// read (SHA-256; for an MSI its Property table), a URL package must say who it is. Problems are
// reported at the key at fault (`file:line:col`), all of them in one run.
import { createHash } from 'node:crypto';
import { basename, isAbsolute, resolve as resolvePath } from 'node:path';
import type { PolicyIssue, PolicyIssueCode, SourcePosition } from '../language/errors.js';
import type { ParsedPolicy } from '../language/parse.js';
import { type MsiRead, readMsiProperties } from './msi.js';
import type { ParsedApp } from './parse.js';
import { APP_VERSION_RE, GUID_RE } from './schema.js';
import type { AppContent, AppPlan, HostedFile } from './types.js';

export interface AppValidateOptions {
  readonly baseDir?: string;
  readonly readFile?: (absolutePath: string) => Buffer;
  /** Reads an MSI's Property table (default: `msiinfo`). */
  readonly readMsi?: (absolutePath: string) => MsiRead;
}

export interface AppValidation {
  readonly apps: readonly AppPlan[];
  readonly hosted: readonly HostedFile[];
}

const MSI_ONLY = ['commandLine', 'timeout', 'retryCount', 'retryInterval'] as const;

function issue(pos: SourcePosition, code: PolicyIssueCode, message: string): PolicyIssue {
  return { ...pos, code, severity: 'error', message };
}

export function validateApps(
  parsed: ParsedPolicy,
  options: AppValidateOptions,
  issues: PolicyIssue[],
): AppValidation {
  const apps: AppPlan[] = [];
  const hosted = new Map<string, HostedFile>();
  const keys = new Map<string, number>();
  const readMsi = options.readMsi ?? readMsiProperties;

  function readLocal(name: string, at: SourcePosition): { content: AppContent; path: string } | undefined {
    const full = isAbsolute(name) ? name : resolvePath(options.baseDir ?? '.', name);
    if (!options.readFile) {
      issues.push(issue(at, 'file-read', `cannot read \`${name}\`: no file access in this context`));
      return undefined;
    }
    let bytes: Buffer;
    try {
      bytes = options.readFile(full);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
      issues.push(issue(at, 'file-read', `cannot read \`${name}\` (${full}): ${reason}`));
      return undefined;
    }
    if (bytes.length === 0) {
      issues.push(issue(at, 'file-read', `\`${name}\` is empty`));
      return undefined;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    hosted.set(sha256, { sha256, size: bytes.length, path: full });
    return { content: { sha256, size: bytes.length, file: name }, path: full };
  }

  for (const app of parsed.apps) {
    const plan = compileApp(app, parsed, readLocal, readMsi, issues);
    if (!plan) continue;
    const seen = keys.get(plan.key);
    if (seen !== undefined) {
      issues.push(
        issue(
          app.pos,
          'app-package',
          `${plan.name} (${plan.key}) is already listed as apps[${seen}]; list each app once per policy`,
        ),
      );
      continue;
    }
    keys.set(plan.key, app.index);
    apps.push(plan);
  }
  return { apps, hosted: [...hosted.values()] };
}

function compileApp(
  app: ParsedApp,
  policy: ParsedPolicy,
  readLocal: (name: string, at: SourcePosition) => { content: AppContent; path: string } | undefined,
  readMsi: (path: string) => MsiRead,
  issues: PolicyIssue[],
): AppPlan | undefined {
  const s = app.source;
  const before = issues.length;
  if ((s.msi === undefined) === (s.msix === undefined)) {
    issues.push(
      issue(
        app.pos,
        'schema',
        s.msi === undefined
          ? 'app has neither `msi` nor `msix`; give the package to install'
          : 'app has both `msi` and `msix`; list them as two apps',
      ),
    );
    return undefined;
  }
  if (policy.scope === 'user') {
    issues.push(
      issue(
        app.pos,
        'scope-mismatch',
        'apps are installed for the whole device (./Device/…); put them in a policy without `target.scope: user`',
      ),
    );
    return undefined;
  }
  if (s.msix !== undefined) {
    for (const key of MSI_ONLY)
      if (s[key] !== undefined)
        issues.push(issue(app.at([key]), 'schema', `\`${key}\` applies to MSI packages only`));
  } else if (s.dependencies !== undefined) {
    issues.push(issue(app.at(['dependencies']), 'schema', '`dependencies` applies to MSIX packages only'));
  }
  if (issues.length > before) return undefined;

  if (s.msi !== undefined) {
    let id: string;
    let version: string;
    let upgradeCode: string | undefined;
    let name: string;
    let content: AppContent;
    if (typeof s.msi === 'string') {
      const at = app.at(['msi']);
      const local = readLocal(s.msi, at);
      if (!local) return undefined;
      const read = readMsi(local.path);
      if (!read.ok) {
        issues.push(
          issue(at, 'app-package', `cannot read the MSI Property table of \`${s.msi}\`: ${read.reason}`),
        );
        return undefined;
      }
      const p = read.properties;
      if (!p.productCode || !GUID_RE.test(p.productCode)) {
        issues.push(issue(at, 'app-package', `\`${s.msi}\` has no valid ProductCode in its Property table`));
        return undefined;
      }
      if (!p.productVersion || !APP_VERSION_RE.test(p.productVersion)) {
        issues.push(
          issue(
            at,
            'app-package',
            `\`${s.msi}\` has no valid ProductVersion in its Property table (found ${JSON.stringify(p.productVersion ?? '')})`,
          ),
        );
        return undefined;
      }
      id = p.productCode.toUpperCase();
      version = p.productVersion;
      upgradeCode = p.upgradeCode && GUID_RE.test(p.upgradeCode) ? p.upgradeCode.toUpperCase() : undefined;
      name = s.name ?? p.productName ?? basename(s.msi);
      content = local.content;
    } else {
      id = s.msi.productId.toUpperCase();
      version = s.msi.version;
      upgradeCode = s.msi.upgradeCode?.toUpperCase();
      name = s.name ?? id;
      content = { url: s.msi.url, sha256: s.msi.sha256.toLowerCase() };
    }
    return {
      key: `msi:${upgradeCode ?? id}`,
      kind: 'msi',
      id,
      name,
      version,
      content,
      commandLine: s.commandLine ?? '/quiet',
      timeoutMinutes: s.timeout ?? 5,
      retryCount: s.retryCount ?? 3,
      retryIntervalMinutes: s.retryInterval ?? 5,
    };
  }

  const m = s.msix!;
  if ((m.file === undefined) === (m.url === undefined)) {
    issues.push(
      issue(
        app.at(['msix']),
        'schema',
        m.file === undefined
          ? '`msix` has neither `file` nor `url`; give the package'
          : '`msix` has both `file` and `url`; keep one',
      ),
    );
    return undefined;
  }
  let content: AppContent;
  if (m.file !== undefined) {
    if (m.sha256 !== undefined) {
      issues.push(
        issue(app.at(['msix', 'sha256']), 'schema', '`sha256` is computed for a local file; remove it'),
      );
      return undefined;
    }
    const local = readLocal(m.file, app.at(['msix', 'file']));
    if (!local) return undefined;
    content = local.content;
  } else {
    content = { url: m.url!, ...(m.sha256 ? { sha256: m.sha256.toLowerCase() } : {}) };
  }
  const dependencies: AppContent[] = [];
  (s.dependencies ?? []).forEach((d, i) => {
    if (typeof d === 'string') {
      const local = readLocal(d, app.at(['dependencies', i]));
      if (local) dependencies.push(local.content);
    } else dependencies.push({ url: d.url, ...(d.sha256 ? { sha256: d.sha256.toLowerCase() } : {}) });
  });
  if (issues.length > before) return undefined;
  return {
    key: `msix:${m.packageFamilyName}`,
    kind: 'msix',
    id: m.packageFamilyName,
    name: s.name ?? (m.file ? basename(m.file) : m.packageFamilyName),
    version: m.version,
    content,
    ...(dependencies.length > 0 ? { dependencies } : {}),
  };
}
