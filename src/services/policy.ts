// Policy folder operations shared by `mdm policy apply|check` and the admin API (docs/api.md): the
// API receives a folder as a bundle (file name → YAML text), writes it to a private temporary
// folder and runs the very same load → validate → plan → store (src/policy/delivery/apply-folder.ts), so
// both surfaces behave alike: nothing is stored on any error; the revision number is returned.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import type { CatalogLookup } from '../catalog/types.js';
import { readTar, TarError, type TarFile } from '../codec/tar.js';
import {
  type ApplyFolderResult,
  applyPolicyFolder,
  enrolledDeviceProfiles,
} from '../policy/delivery/apply-folder.js';
import { type CheckResult, checkPath } from '../policy/language/check.js';
import type { PolicyIssue } from '../policy/language/errors.js';
import { MAX_POLICY_BYTES } from '../policy/language/parse.js';
import type { Storage } from '../storage/index.js';
import type { EventSink } from '../webhooks/events.js';

export class BundleError extends Error {
  override name = 'BundleError';
}

/** At most this many files in one bundle. */
export const MAX_BUNDLE_FILES = 500;

/** Why a bundle file name cannot be used, or undefined: relative, `/`-separated, no `..`, YAML. */
export function bundleNameProblem(name: string): string | undefined {
  if (name === '' || name.length > 255) return 'a file name is 1–255 characters';
  if (name.startsWith('/') || name.includes('\\') || /^[a-zA-Z]:/.test(name))
    return 'a file name is relative and uses / between folders';
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.')))
    return 'a file name has no empty, hidden, . or .. segments';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a file name has no control characters';
  if (!/\.ya?ml$/i.test(name)) return 'only .yaml and .yml files belong in a policy folder';
  return undefined;
}

/** Largest bundle archive once decompressed. */
export const MAX_BUNDLE_ARCHIVE_BYTES = 16 * 1024 * 1024;

/** Media types of a folder bundle sent as an archive instead of a JSON map. */
export const TAR_BUNDLE_TYPES = ['application/x-tar', 'application/gzip', 'application/x-gzip'] as const;

/**
 * A policy folder sent as a tar archive (gzip allowed) → the bundle's file name → YAML text map.
 * Folders and hidden entries (`.git/…`, `._name` resource forks) are skipped; an archive whose files
 * all sit in one top folder (`tar czf b.tgz policies/`) is read from inside it. Every other file
 * follows the bundle rules (`bundleNameProblem`), and must be UTF-8 text.
 */
export function bundleFromTar(archive: Buffer): Record<string, string> {
  let entries: TarFile[];
  try {
    entries = readTar(archive, { maxBytes: MAX_BUNDLE_ARCHIVE_BYTES, maxEntries: 4 * MAX_BUNDLE_FILES });
  } catch (err) {
    if (err instanceof TarError) throw new BundleError(err.message);
    throw err;
  }
  const visible = entries.filter((e) => !e.name.split('/').some((part) => part.startsWith('.')));
  const tops = new Set(visible.map((e) => e.name.split('/')[0]));
  const top = tops.size === 1 && visible.every((e) => e.name.includes('/')) ? `${[...tops][0]}/` : '';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const files: Record<string, string> = {};
  for (const e of visible) {
    const name = e.name.slice(top.length);
    if (Object.hasOwn(files, name)) throw new BundleError(`${JSON.stringify(name)}: twice in the archive`);
    try {
      files[name] = decoder.decode(e.data);
    } catch {
      throw new BundleError(`${JSON.stringify(name)}: not UTF-8 text`);
    }
  }
  return files;
}

/** Writes a bundle to a new temporary folder, runs `work` on it and deletes it. */
export async function withBundle<T>(
  files: Readonly<Record<string, string>>,
  work: (dir: string) => Promise<T>,
): Promise<T> {
  const names = Object.keys(files);
  if (names.length > MAX_BUNDLE_FILES) throw new BundleError(`at most ${MAX_BUNDLE_FILES} files`);
  for (const name of names) {
    const problem = bundleNameProblem(name);
    if (problem) throw new BundleError(`${JSON.stringify(name)}: ${problem}`);
    if (Buffer.byteLength(files[name]!, 'utf8') > MAX_POLICY_BYTES)
      throw new BundleError(`${name}: larger than ${MAX_POLICY_BYTES} bytes`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'mdm-bundle-'));
  try {
    for (const name of names) {
      const path = join(dir, ...name.split('/'));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, files[name]!, { mode: 0o600 });
    }
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An issue with its file named as in the bundle (relative, `/`-separated). */
export function relativeIssue(dir: string, issue: PolicyIssue): PolicyIssue {
  const rel = relative(dir, issue.file);
  return { ...issue, file: rel === '' ? '.' : rel.split(sep).join('/') };
}

/** `mdm policy check` on a bundle: the whole folder (every file and the cross-references). */
export async function checkBundle(
  files: Readonly<Record<string, string>>,
  catalog: CatalogLookup,
): Promise<CheckResult> {
  return withBundle(files, async (dir) => {
    const r = await checkPath(dir, catalog);
    return { ...r, file: '.', issues: r.issues.map((i) => relativeIssue(dir, i)) };
  });
}

export interface ApplyRequest {
  readonly catalog: CatalogLookup;
  readonly dryRun: boolean;
  readonly actor: string;
  /** Where the folder came from, for the audit log (a path, or `api bundle`). */
  readonly source: string;
  /** Webhook events (policy.revision_applied). */
  readonly events?: EventSink;
}

/** `mdm policy apply`: validate, plan per group (with group sizes), store unless a dry run; audited. */
export async function applyFolder(
  storage: Storage,
  dir: string,
  r: ApplyRequest,
): Promise<ApplyFolderResult> {
  const devices = await enrolledDeviceProfiles(storage);
  // The new revision, its audit entry and its webhook event commit together.
  return storage.transaction(async (tx) => {
    const result = await applyPolicyFolder(tx.policies, dir, {
      catalog: r.catalog,
      dryRun: r.dryRun,
      devices,
      // Local app packages are stored with the policy set and served at /content/<sha256>.
      content: tx.apps,
    });
    if (result.stored?.created) {
      await r.events?.emit(tx, 'policy.revision_applied', {
        revision: result.stored.revision,
        changes: result.stored.changes,
      });
      await tx.audit.record({
        actor: r.actor,
        action: 'policy.apply',
        details: {
          folder: r.source,
          revision: result.stored.revision,
          changes: result.stored.changes.map((c) => `${c.change} ${c.name} v${c.version}`),
        },
      });
    }
    return result;
  });
}

/** `applyFolder` on a bundle; issue files are named as in the bundle. */
export async function applyBundle(
  storage: Storage,
  files: Readonly<Record<string, string>>,
  r: ApplyRequest,
): Promise<ApplyFolderResult> {
  return withBundle(files, async (dir) => {
    const result = await applyFolder(storage, dir, r);
    return {
      ...result,
      folder: { ...result.folder, issues: result.folder.issues.map((i) => relativeIssue(dir, i)) },
    };
  });
}
