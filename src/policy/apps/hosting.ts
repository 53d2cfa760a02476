// Local app packages are hosted by the server itself (docs/apps.md): their bytes are stored with
// the policy set, content-addressed by SHA-256, and devices download them from
// `<MDM_PUBLIC_URL>/content/<sha256>`; the same hash goes to the device as the MsiInstallJob
// `FileHash` (EnterpriseDesktopAppManagement CSP), so the device checks what it downloaded.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AppStore } from '../../storage/apps.js';
import type { AppContent, HostedFile } from './types.js';

export const CONTENT_PATH = '/content';

/** The URL a device downloads a package from: the admin's URL, or this server's content path. */
export function contentUrl(content: AppContent, publicUrl: string): string {
  if (content.url) return content.url;
  return `${publicUrl.replace(/\/+$/, '')}${CONTENT_PATH}/${content.sha256}`;
}

/**
 * Stores every hosted package (before the policy set that needs it). Throws when a file changed
 * since it was validated: the set would point at bytes the server does not have.
 */
export async function storeHostedFiles(
  store: Pick<AppStore, 'putContent' | 'hasContent'>,
  files: readonly HostedFile[],
  now: Date,
  read: (path: string) => Buffer | Promise<Buffer> = (path) => readFile(path),
): Promise<number> {
  let stored = 0;
  for (const f of files) {
    if (await store.hasContent(f.sha256)) continue;
    const bytes = await read(f.path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== f.sha256) throw new Error(`${f.path} changed while the policy folder was being applied`);
    await store.putContent(sha256, bytes, now.toISOString());
    stored++;
  }
  return stored;
}
