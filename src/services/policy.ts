// Policy folder operations shared by `mdm policy apply|check` and the admin API (docs/api.md): the
// API receives a folder as a bundle (file name → YAML text, plus the side files its `file:` values
// name), read through a `FileSource` held in memory by the very same load → validate → plan → store
// (src/policy/delivery/apply-folder.ts), so both surfaces behave alike: nothing is stored on any
// error; the revision number is returned. An applied bundle is written into the server's folder.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { parseDocument, visit } from 'yaml';
import type { CatalogLookup } from '../catalog/types.js';
import { readTar, TarError, type TarFile } from '../codec/tar.js';
import {
  type ApplyFolderResult,
  applyPolicyFolder,
  enrolledDeviceProfiles,
} from '../policy/delivery/apply-folder.js';
import { type CheckResult, checkFolder, checkSourceFile } from '../policy/language/check.js';
import type { PolicyIssue } from '../policy/language/errors.js';
import { diskSource, type FileSource, memorySource, nameUnder } from '../policy/language/file-source.js';
import { MAX_POLICY_BYTES } from '../policy/language/parse.js';
import type { Storage } from '../storage/index.js';
import type { SideFile } from '../storage/policies.js';
import type { EventSink } from '../webhooks/events.js';

export class BundleError extends Error {
  override name = 'BundleError';
  /** The request field at fault, dot-separated as in zod errors (`files`, `payloads.contoso.admx`). */
  constructor(
    message: string,
    readonly field = 'files',
  ) {
    super(message);
  }
}

/** At most this many files in one bundle. */
export const MAX_BUNDLE_FILES = 500;

/** Why a bundle file name cannot be used, or undefined: relative, `/`-separated, no `..`, YAML. */
export function bundleNameProblem(name: string): string | undefined {
  const problem = safeNameProblem(name);
  if (problem) return problem;
  if (!/\.ya?ml$/i.test(name)) return 'only .yaml and .yml files belong in a policy folder';
  return undefined;
}

/** Relative, `/`-separated, no `..` or hidden segments, no control characters. */
function safeNameProblem(name: string): string | undefined {
  if (name === '' || name.length > 255) return 'a file name is 1–255 characters';
  if (name.startsWith('/') || name.includes('\\') || /^[a-zA-Z]:/.test(name))
    return 'a file name is relative and uses / between folders';
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.')))
    return 'a file name has no empty, hidden, . or .. segments';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a file name has no control characters';
  return undefined;
}

/** Largest bundle archive once decompressed. */
export const MAX_BUNDLE_ARCHIVE_BYTES = 16 * 1024 * 1024;

/** Media types of a folder bundle sent as an archive instead of a JSON map. */
export const TAR_BUNDLE_TYPES = ['application/x-tar', 'application/gzip', 'application/x-gzip'] as const;

/**
 * A policy folder sent as a tar archive (gzip allowed) → the bundle: YAML file name → text, and
 * every other file as a side file (`payloads`: UTF-8 text as text, anything else as base64), so an
 * archive of a folder with `file:` payloads is read like the same folder on disk. Folders and
 * hidden entries (`.git/…`, `._name` resource forks) are skipped; an archive whose files all sit in
 * one top folder (`tar czf b.tgz policies/`) is read from inside it. Every other file follows the
 * bundle rules (`bundleSource`); a YAML file must be UTF-8 text.
 */
export function bundleFromTar(archive: Buffer): {
  files: Record<string, string>;
  payloads: Record<string, BundlePayload>;
} {
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
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const files: Record<string, string> = {};
  const payloads: Record<string, BundlePayload> = {};
  for (const e of visible) {
    const name = e.name.slice(top.length);
    if (Object.hasOwn(files, name) || Object.hasOwn(payloads, name))
      throw new BundleError(`${JSON.stringify(name)}: twice in the archive`);
    if (!/\.ya?ml$/i.test(name)) {
      payloads[name] = sideFileOf(Buffer.from(e.data));
      continue;
    }
    try {
      files[name] = decoder.decode(e.data).replace(/^\uFEFF/, '');
    } catch {
      throw new BundleError(`${JSON.stringify(name)}: not UTF-8 text`);
    }
  }
  return { files, payloads };
}

/** A side file's contents as a bundle carries them: UTF-8 text without NUL as text, else base64. */
export function sideFileOf(bytes: Buffer): BundlePayload {
  if (!bytes.includes(0)) {
    try {
      return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
    } catch {
      // not text
    }
  }
  return { base64: bytes.toString('base64') };
}

/** A side file in a bundle: text files (XML, ADMX, PEM) as text, anything else as base64. */
export type BundlePayload = SideFile;
export type BundlePayloads = Readonly<Record<string, BundlePayload>>;

/** Largest side file in a bundle, once decoded (the JSON body limit of the API is 8 MB). */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** At most this many bytes of side files in one bundle, once decoded. */
export const MAX_PAYLOADS_TOTAL_BYTES = 6 * 1024 * 1024;

/** Base64 (RFC 4648 §4) with its padding; checked without backtracking (the text runs to MiB). */
const isBase64 = (s: string) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

/** Why a side file's name cannot be used, or undefined: the folder rules, and not a YAML file. */
export function payloadNameProblem(name: string): string | undefined {
  if (/\.ya?ml$/i.test(name)) return 'a YAML file belongs in files, not payloads';
  return safeNameProblem(name);
}

/**
 * The names a folder's YAML files can refer to: every string value, resolved against the folder
 * of the file it is in (`file: admx/contoso.admx` in `edge/edge.yaml` → `edge/admx/contoso.admx`).
 * Read from the YAML as written, so that a policy with errors still names its side files.
 */
export function referencedNames(files: Readonly<Record<string, string>>): Set<string> {
  const names = new Set<string>();
  for (const [file, text] of Object.entries(files)) {
    const base = posix.dirname(file);
    const doc = parseDocument(text, { prettyErrors: false });
    visit(doc, {
      Scalar(_key, node) {
        if (typeof node.value !== 'string' || node.value === '' || node.value.startsWith('/')) return;
        const name = posix.normalize(posix.join(base, node.value.trim()));
        if (!name.startsWith('../')) names.add(name);
      },
    });
  }
  return names;
}

/** Where a bundle's files seem to be: a folder that exists nowhere, so nothing else is ever read. */
const BUNDLE_ROOT = join(tmpdir(), 'mdm-policy-bundle');

/**
 * A bundle (file name → YAML text, plus side file name → contents) as a `FileSource`. Refused with
 * a `BundleError` naming the field at fault: a bad or unsafe name, a file too large, bad base64,
 * or a side file no YAML file refers to.
 */
export function bundleSource(
  files: Readonly<Record<string, string>>,
  payloads: BundlePayloads = {},
): FileSource {
  const names = Object.keys(files);
  const sideNames = Object.keys(payloads);
  if (names.length + sideNames.length > MAX_BUNDLE_FILES)
    throw new BundleError(`at most ${MAX_BUNDLE_FILES} files`);
  const bytes = new Map<string, Buffer>();
  for (const name of names) {
    const problem = bundleNameProblem(name);
    if (problem) throw new BundleError(`${JSON.stringify(name)}: ${problem}`, `files.${name}`);
    const data = Buffer.from(files[name]!, 'utf8');
    if (data.length > MAX_POLICY_BYTES)
      throw new BundleError(`${name}: larger than ${MAX_POLICY_BYTES} bytes`, `files.${name}`);
    bytes.set(name, data);
  }
  const referenced = sideNames.length > 0 ? referencedNames(files) : new Set<string>();
  let total = 0;
  for (const name of sideNames) {
    const field = `payloads.${name}`;
    const problem = payloadNameProblem(name);
    if (problem) throw new BundleError(`${JSON.stringify(name)}: ${problem}`, field);
    if (!referenced.has(name))
      throw new BundleError(`${JSON.stringify(name)}: no file: value of the policy files names it`, field);
    const payload = payloads[name]!;
    let data: Buffer;
    if ('text' in payload) data = Buffer.from(payload.text, 'utf8');
    else {
      const b64 = payload.base64.replace(/\s+/g, '');
      if (!isBase64(b64)) throw new BundleError(`${name}: base64 is not valid base64`, `${field}.base64`);
      data = Buffer.from(b64, 'base64');
    }
    if (data.length > MAX_PAYLOAD_BYTES)
      throw new BundleError(`${name}: larger than ${MAX_PAYLOAD_BYTES} bytes`, field);
    total += data.length;
    if (total > MAX_PAYLOADS_TOTAL_BYTES)
      throw new BundleError(
        `the side files are larger than ${MAX_PAYLOADS_TOTAL_BYTES} bytes together`,
        field,
      );
    bytes.set(name, data);
  }
  return memorySource(BUNDLE_ROOT, bytes);
}

/** An issue with its file named as in the bundle (relative, `/`-separated). */
export function relativeIssue(dir: string, issue: PolicyIssue): PolicyIssue {
  const rel = relative(dir, issue.file);
  // Messages name the paths they read (`cannot read \`x.cer\` (<dir>/certs/x.cer)`): relative too.
  const message = issue.message.split(`${dir}${sep}`).join('');
  return { ...issue, file: rel === '' ? '.' : rel.split(sep).join('/'), message };
}

/** `mdm policy check` on a bundle: the whole folder (every file and the cross-references). */
export async function checkBundle(
  files: Readonly<Record<string, string>>,
  catalog: CatalogLookup,
  payloads: BundlePayloads = {},
): Promise<CheckResult> {
  const source = bundleSource(files, payloads);
  const r = await checkFolder(source.root, catalog, source);
  return { ...r, file: '.', issues: r.issues.map((i) => relativeIssue(source.root, i)) };
}

/** `mdm policy check` on one document of a bundle, its side files with it. */
export async function checkBundleDocument(
  file: string,
  text: string,
  catalog: CatalogLookup,
  payloads: BundlePayloads = {},
): Promise<CheckResult> {
  const source = bundleSource({ [file]: text }, payloads);
  const r = await checkSourceFile(source, join(source.root, ...file.split('/')), catalog);
  return { ...r, file, issues: r.issues.map((i) => relativeIssue(source.root, i)) };
}

export interface ApplyRequest {
  readonly catalog: CatalogLookup;
  readonly dryRun: boolean;
  readonly actor: string;
  /** Where the folder came from, for the audit log (a path, or `api bundle`). */
  readonly source: string;
  /** Webhook events (policy.revision_applied). */
  readonly events?: EventSink;
  /**
   * The server's policy folder (`MDM_POLICY_DIR`): a bundle applied is written there too, when the
   * folder exists, so that the next start loads what was applied.
   */
  readonly policyDir?: string;
}

/** `mdm policy apply`: validate, plan per group (with group sizes), store unless a dry run; audited. */
export async function applyFolder(
  storage: Storage,
  dir: string,
  r: ApplyRequest,
  source?: FileSource,
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
      ...(source && { source }),
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
    if (result.stored && source && r.policyDir && existsSync(r.policyDir)) {
      const wrote = await writePolicyFolder(r.policyDir, source);
      if (wrote.written.length + wrote.removed.length > 0) {
        await tx.audit.record({
          actor: r.actor,
          action: 'policy.folder_write',
          details: { folder: r.policyDir, revision: result.stored.revision, ...wrote },
        });
      }
    }
    return result;
  });
}

/** `applyFolder` on a bundle (its side files with it); issue files are named as in the bundle. */
export async function applyBundle(
  storage: Storage,
  files: Readonly<Record<string, string>>,
  r: ApplyRequest,
  payloads: BundlePayloads = {},
): Promise<ApplyFolderResult> {
  const source = bundleSource(files, payloads);
  const result = await applyFolder(storage, source.root, r, source);
  return {
    ...result,
    folder: { ...result.folder, issues: result.folder.issues.map((i) => relativeIssue(source.root, i)) },
  };
}

const YAML_RE = /\.ya?ml$/i;

/**
 * Writes every file of `source` into the folder `dir`, each atomically (a temporary file in the
 * same folder, then a rename), and removes the YAML files `source` no longer has (they would be
 * loaded again at the next start). Files that are already equal are left alone; hidden files and
 * folders (`.git`) are never touched. Returns the relative names written and removed.
 */
export async function writePolicyFolder(
  dir: string,
  source: FileSource,
): Promise<{ written: string[]; removed: string[] }> {
  const disk = diskSource(dir);
  const entries = source
    .list(() => true)
    .map((path) => ({ name: nameUnder(source.root, path)!, bytes: source.read(path) }));
  const pathOf = (name: string) => join(dir, ...name.split('/'));
  const changed = entries.filter((e) => {
    try {
      return !disk.read(pathOf(e.name)).equals(e.bytes);
    } catch {
      return true;
    }
  });
  const staged: [tmp: string, path: string][] = [];
  try {
    for (const e of changed) {
      const path = pathOf(e.name);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, e.bytes);
      staged.push([tmp, path]);
    }
  } catch (err) {
    await Promise.all(staged.map(([tmp]) => rm(tmp, { force: true })));
    throw err;
  }
  for (const [tmp, path] of staged) await rename(tmp, path);
  const keep = new Set(entries.map((e) => e.name));
  const removed = disk
    .list((name) => YAML_RE.test(name))
    .map((path) => nameUnder(dir, path))
    .filter(
      (n): n is string => n !== undefined && !keep.has(n) && !n.split('/').some((p) => p.startsWith('.')),
    );
  for (const name of removed) await rm(pathOf(name), { force: true });
  return { written: changed.map((e) => e.name), removed };
}
