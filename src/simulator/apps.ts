// The virtual device's application CSPs (docs/apps.md):
// - EnterpriseDesktopAppManagement (MSI,
//   https://learn.microsoft.com/en-us/windows/client-management/mdm/enterprisedesktopappmanagement-csp):
//   Exec `…/MSI/{ProductID}/DownloadInstall` with an MsiInstallJob is accepted with 202 and the
//   job runs after the session: the package is downloaded over HTTPS from the first ContentURL,
//   its SHA-256 compared with FileHash, and the product recorded as installed. `…/MSI/{ProductID}/`
//   Status (10 → 20 → 40 → 50 → 70; 30 download failed, 60 enforcement failed), LastError (HRESULT,
//   signed decimal), LastErrorDesc, Version, Name and InstallDate are kept in the tree, and a 1224
//   `com.microsoft.mdm.win32csp_install` alert reports the result in the next session.
// - EnterpriseModernAppManagement (MSIX,
//   https://learn.microsoft.com/en-us/windows/client-management/mdm/enterprisemodernappmanagement-csp):
//   Exec `…/AppInstallation/{PFN}/HostedInstall` with `<Application PackageUri=…>`; the package
//   and its dependencies are downloaded, its identity read from the package's AppxManifest
//   `<Identity Name= Version=>` (the simulated device reads a manifest in the package file itself),
//   and the app appears under `…/AppManagement/nonStore/{PFN}/{PackageFullName}`.
// Delete of `…/MSI/{ProductID}` or `…/AppManagement/nonStore/{PFN}` uninstalls.
import { createHash } from 'node:crypto';
import https from 'node:https';
import { XMLParser } from 'fast-xml-parser';
import type { DmTree } from './dm-tree.js';
import type { TlsOptions } from './transport.js';

/** HRESULTs as Windows reports them in LastError (signed 32-bit decimal). */
export const APP_ERRORS = {
  /** TRUST_E_BAD_DIGEST: the downloaded file's hash is not the FileHash. */
  hashMismatch: { code: 0x80091007 | 0, desc: 'The hash value is not correct.' },
  /** WININET_E_CANNOT_CONNECT. */
  cannotConnect: { code: 0x80072efd | 0, desc: 'A connection with the server could not be established.' },
  /** An HTTP error status: BG_E_HTTP_ERROR_<status> is 0x80190000 + status. */
  http: (status: number) => ({ code: (0x80190000 + status) | 0, desc: `HTTP status ${status}` }),
  /** ERROR_INSTALL_PACKAGE_INVALID (as an HRESULT). */
  badPackage: { code: 0x80070659 | 0, desc: 'This installation package could not be opened.' },
} as const;

export interface InstalledApp {
  readonly kind: 'msi' | 'msix';
  readonly id: string;
  readonly version: string;
  readonly sha256: string;
  readonly installedAt: string;
}

interface MsiJob {
  readonly kind: 'msi';
  readonly id: string;
  readonly segment: string;
  readonly version: string;
  readonly urls: readonly string[];
  readonly fileHash?: string;
}

interface MsixJob {
  readonly kind: 'msix';
  readonly pfn: string;
  readonly packageUri: string;
  readonly dependencies: readonly string[];
}

type Job = MsiJob | MsixJob;

export interface AppAlert {
  readonly source: string;
  readonly data: string;
}

/** Hook the command executor (apply.ts) calls; undefined = not an app node, apply the usual rules. */
export interface AppCspHooks {
  exec(path: string, data: string): number | undefined;
  delete(path: string): number | undefined;
}

const MSI_RE = /^(?:\.\/Device)?\.?\/Vendor\/MSFT\/EnterpriseDesktopAppManagement\/MSI\/([^/]+)$/i;
const MSI_INSTALL_RE =
  /^(?:\.\/Device)?\.?\/Vendor\/MSFT\/EnterpriseDesktopAppManagement\/MSI\/([^/]+)\/DownloadInstall$/i;
const HOSTED_RE =
  /^(?:\.\/Device)?\.?\/Vendor\/MSFT\/EnterpriseModernAppManagement\/AppInstallation\/([^/]+)\/HostedInstall$/i;
const NONSTORE_RE =
  /^(?:\.\/Device)?\.?\/Vendor\/MSFT\/EnterpriseModernAppManagement\/AppManagement\/nonStore\/([^/]+)$/i;

const MSI_BASE = './Vendor/MSFT/EnterpriseDesktopAppManagement/MSI';
const MODERN_BASE = './Vendor/MSFT/EnterpriseModernAppManagement';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (n) => n === 'ContentURL' || n === 'Dependency',
});

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export class AppCsps implements AppCspHooks {
  private readonly jobs: Job[] = [];
  private readonly installed = new Map<string, InstalledApp>();
  /** The LocURI segment each installed MSI product's nodes live under. */
  private readonly msiSegments = new Map<string, string>();
  private tree: DmTree | undefined;

  /** The installed-apps inventory. */
  inventory(): InstalledApp[] {
    return [...this.installed.values()];
  }

  /**
   * The app uninstalled outside MDM (by the user or another tool): gone from the inventory and from
   * the CSP's nodes (`…/MSI/{ProductID}`, `…/AppManagement/nonStore/{PFN}`). False when not installed.
   */
  removeOutsideMdm(kind: 'msi' | 'msix', id: string): boolean {
    const key = `${kind}:${kind === 'msi' ? id.toUpperCase() : id}`;
    if (!this.installed.delete(key) || !this.tree) return false;
    if (kind === 'msi') {
      const segment = this.msiSegments.get(key);
      if (segment) this.tree.delete(`${MSI_BASE}/${segment}`);
      this.msiSegments.delete(key);
    } else {
      this.tree.delete(`${MODERN_BASE}/AppManagement/nonStore/${id}`);
    }
    return true;
  }

  /** Another version of the app put in place outside MDM. False when not installed. */
  changeVersionOutsideMdm(kind: 'msi' | 'msix', id: string, version: string): boolean {
    const key = `${kind}:${kind === 'msi' ? id.toUpperCase() : id}`;
    const app = this.installed.get(key);
    if (!app || !this.tree) return false;
    this.installed.set(key, { ...app, version });
    if (kind === 'msi') {
      const segment = this.msiSegments.get(key);
      if (segment) this.tree.set(`${MSI_BASE}/${segment}/Version`, { value: version, format: 'chr' });
    } else {
      this.setInventory(id, version);
    }
    return true;
  }

  /** Bind to the device's tree (it is replaced on wipe). */
  attach(tree: DmTree): void {
    this.tree = tree;
  }

  exec(path: string, data: string): number | undefined {
    const tree = this.tree;
    if (!tree) return undefined;
    let m = MSI_INSTALL_RE.exec(path);
    if (m) {
      const segment = m[1]!;
      const job = parseMsiJob(segment, data);
      if (!job) return 400;
      this.jobs.push(job);
      tree.addInterior(`${MSI_BASE}/${segment}`);
      this.setInt(`${MSI_BASE}/${segment}/Status`, 10);
      this.setInt(`${MSI_BASE}/${segment}/LastError`, 0);
      tree.set(`${MSI_BASE}/${segment}/LastErrorDesc`, { value: '', format: 'chr' });
      return 202;
    }
    m = HOSTED_RE.exec(path);
    if (m) {
      const pfn = m[1]!;
      const doc = parser.parse(data) as {
        Application?: {
          '@PackageUri'?: string;
          Dependencies?: { Dependency?: { '@PackageUri'?: string }[] };
        };
      };
      const uri = doc.Application?.['@PackageUri'];
      if (!uri) return 400;
      const dependencies = (doc.Application?.Dependencies?.Dependency ?? []).flatMap((d) =>
        d['@PackageUri'] ? [d['@PackageUri']] : [],
      );
      this.jobs.push({ kind: 'msix', pfn, packageUri: uri, dependencies });
      tree.addInterior(`${MODERN_BASE}/AppInstallation/${pfn}`);
      this.setInt(`${MODERN_BASE}/AppInstallation/${pfn}/Status`, 1);
      this.setInt(`${MODERN_BASE}/AppInstallation/${pfn}/LastError`, 0);
      tree.set(`${MODERN_BASE}/AppInstallation/${pfn}/LastErrorDesc`, { value: '', format: 'chr' });
      return 202;
    }
    return undefined;
  }

  delete(path: string): number | undefined {
    const tree = this.tree;
    if (!tree) return undefined;
    let m = MSI_RE.exec(path);
    if (m) {
      const id = decodeSegment(m[1]!).toUpperCase();
      const had = this.installed.delete(`msi:${id}`);
      this.msiSegments.delete(`msi:${id}`);
      const existed = tree.delete(`${MSI_BASE}/${m[1]}`);
      return had || existed ? 200 : 404;
    }
    m = NONSTORE_RE.exec(path);
    if (m) {
      const had = this.installed.delete(`msix:${m[1]}`);
      tree.delete(`${MODERN_BASE}/AppInstallation/${m[1]}`);
      const existed = tree.delete(`${MODERN_BASE}/AppManagement/nonStore/${m[1]}`);
      return had || existed ? 200 : 404;
    }
    return undefined;
  }

  /** Runs the jobs accepted in earlier sessions (Windows works on them between sessions). */
  async runJobs(tls: Pick<TlsOptions, 'ca' | 'insecure'> = {}): Promise<AppAlert[]> {
    const alerts: AppAlert[] = [];
    const jobs = this.jobs.splice(0);
    for (const job of jobs) {
      if (job.kind === 'msi') alerts.push(await this.runMsi(job, tls));
      else await this.runMsix(job, tls);
    }
    return alerts;
  }

  private async runMsi(job: MsiJob, tls: Pick<TlsOptions, 'ca' | 'insecure'>): Promise<AppAlert> {
    const base = `${MSI_BASE}/${job.segment}`;
    const source = `./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/${job.segment}/DownloadInstall`;
    this.setInt(`${base}/Status`, 20);
    const got = await download(job.urls[0] ?? '', tls);
    if (!got.ok) {
      this.failed(base, 30, got.error);
      return { source, data: String(got.error.code) };
    }
    this.setInt(`${base}/Status`, 40);
    const sha256 = createHash('sha256').update(got.bytes).digest('hex');
    if (job.fileHash && job.fileHash.toLowerCase() !== sha256) {
      this.failed(base, 60, APP_ERRORS.hashMismatch);
      return { source, data: String(APP_ERRORS.hashMismatch.code) };
    }
    if (!isCompoundFile(got.bytes)) {
      this.failed(base, 60, APP_ERRORS.badPackage);
      return { source, data: String(APP_ERRORS.badPackage.code) };
    }
    this.setInt(`${base}/Status`, 50);
    const at = new Date().toISOString();
    this.installed.set(`msi:${job.id}`, {
      kind: 'msi',
      id: job.id,
      version: job.version,
      sha256,
      installedAt: at,
    });
    this.msiSegments.set(`msi:${job.id}`, job.segment);
    const tree = this.tree!;
    tree.set(`${base}/Version`, { value: job.version, format: 'chr' });
    tree.set(`${base}/InstallDate`, { value: at, format: 'chr' });
    this.setInt(`${base}/LastError`, 0);
    tree.set(`${base}/LastErrorDesc`, { value: '', format: 'chr' });
    this.setInt(`${base}/Status`, 70);
    return { source, data: '0' };
  }

  private async runMsix(job: MsixJob, tls: Pick<TlsOptions, 'ca' | 'insecure'>): Promise<void> {
    const base = `${MODERN_BASE}/AppInstallation/${job.pfn}`;
    for (const uri of job.dependencies) {
      const dep = await download(uri, tls);
      if (!dep.ok) return this.failed(base, 2, dep.error);
    }
    const got = await download(job.packageUri, tls);
    if (!got.ok) return this.failed(base, 2, got.error);
    const identity = /<Identity\b[^>]*\bName="([^"]+)"[^>]*\bVersion="(\d+(?:\.\d+){0,3})"/.exec(
      got.bytes.toString('utf8'),
    );
    const name = job.pfn.slice(0, job.pfn.lastIndexOf('_'));
    if (!identity || identity[1] !== name) return this.failed(base, 2, APP_ERRORS.badPackage);
    const version = identity[2]!;
    this.setInventory(job.pfn, version);
    const sha256 = createHash('sha256').update(got.bytes).digest('hex');
    this.installed.set(`msix:${job.pfn}`, {
      kind: 'msix',
      id: job.pfn,
      version,
      sha256,
      installedAt: new Date().toISOString(),
    });
    this.setInt(`${base}/Status`, 3);
  }

  /** `…/AppManagement/nonStore/{PFN}/{PackageFullName}/Version` for the one version installed. */
  private setInventory(pfn: string, version: string): void {
    const name = pfn.slice(0, pfn.lastIndexOf('_'));
    const publisherId = pfn.slice(pfn.lastIndexOf('_') + 1);
    const fullName = `${name}_${version}_neutral__${publisherId}`;
    const tree = this.tree!;
    const inventory = `${MODERN_BASE}/AppManagement/nonStore/${pfn}`;
    tree.delete(inventory);
    tree.addInterior(inventory);
    tree.addInterior(`${inventory}/${fullName}`);
    tree.set(`${inventory}/${fullName}/Version`, { value: version, format: 'chr' });
  }

  private failed(base: string, status: number, error: { code: number; desc: string }): void {
    this.setInt(`${base}/Status`, status);
    this.setInt(`${base}/LastError`, error.code);
    this.tree!.set(`${base}/LastErrorDesc`, { value: error.desc, format: 'chr' });
  }

  private setInt(path: string, value: number): void {
    this.tree!.set(path, { value: String(value), format: 'int' });
  }
}

function parseMsiJob(segment: string, data: string): MsiJob | undefined {
  let doc: unknown;
  try {
    doc = parser.parse(data);
  } catch {
    return undefined;
  }
  const root = doc as { MsiInstallJob?: Record<string, unknown> | '' };
  if (!('MsiInstallJob' in root)) return undefined;
  const job = root.MsiInstallJob === '' || root.MsiInstallJob === undefined ? {} : root.MsiInstallJob;
  if (typeof job !== 'object') return undefined;
  const product = job.Product as
    | {
        '@Version'?: string;
        Download?: { ContentURLList?: { ContentURL?: unknown[] } };
        Validation?: { FileHash?: unknown };
      }
    | undefined;
  const urls = (product?.Download?.ContentURLList?.ContentURL ?? []).map(String);
  const hash = product?.Validation?.FileHash;
  return {
    kind: 'msi',
    id: decodeSegment(segment).toUpperCase(),
    segment,
    version: product?.['@Version'] ?? '',
    urls,
    ...(hash !== undefined && hash !== '' ? { fileHash: String(hash) } : {}),
  };
}

/** An MSI is an OLE compound file (signature D0 CF 11 E0 A1 B1 1A E1). */
function isCompoundFile(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.readUInt32BE(0) === 0xd0cf11e0 && bytes.readUInt32BE(4) === 0xa1b11ae1;
}

type Download = { ok: true; bytes: Buffer } | { ok: false; error: { code: number; desc: string } };

const MAX_DOWNLOAD = 256 * 1024 * 1024;

/** GET over HTTPS only (no redirects followed, like the CSP's own download of a ContentURL). */
function download(url: string, tls: Pick<TlsOptions, 'ca' | 'insecure'>): Promise<Download> {
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return resolve({ ok: false, error: APP_ERRORS.cannotConnect });
    }
    if (parsed.protocol !== 'https:') return resolve({ ok: false, error: APP_ERRORS.cannotConnect });
    const req = https.get(
      parsed,
      {
        ...(tls.ca ? { ca: tls.ca as string | string[] } : {}),
        rejectUnauthorized: tls.insecure !== true,
        timeout: 30_000,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          return resolve({ ok: false, error: APP_ERRORS.http(status) });
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_DOWNLOAD) req.destroy();
          else chunks.push(c);
        });
        res.on('end', () => resolve({ ok: true, bytes: Buffer.concat(chunks) }));
        res.on('error', () => resolve({ ok: false, error: APP_ERRORS.cannotConnect }));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ ok: false, error: APP_ERRORS.cannotConnect }));
  });
}
