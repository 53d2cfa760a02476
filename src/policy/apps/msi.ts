// ProductCode, ProductVersion, UpgradeCode and ProductName of a local .msi, read from its Property
// table (https://learn.microsoft.com/en-us/windows/win32/msi/property-table) with `msiinfo` from
// msitools (Debian package `msitools`).
import { execFileSync } from 'node:child_process';

export interface MsiProperties {
  readonly productCode?: string;
  readonly productVersion?: string;
  readonly upgradeCode?: string;
  readonly productName?: string;
  readonly manufacturer?: string;
}

export type MsiRead = { ok: true; properties: MsiProperties } | { ok: false; reason: string };

/** Parses the `msiinfo export <file> Property` text (IDT format: three header lines, then key TAB value). */
export function parsePropertyTable(text: string): MsiProperties {
  const map = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (const line of lines.slice(3)) {
    const tab = line.indexOf('\t');
    if (tab > 0) map.set(line.slice(0, tab), line.slice(tab + 1));
  }
  const opt = (k: string, v: string | undefined) => (v ? { [k]: v } : {});
  return {
    ...opt('productCode', map.get('ProductCode')),
    ...opt('productVersion', map.get('ProductVersion')),
    ...opt('upgradeCode', map.get('UpgradeCode')),
    ...opt('productName', map.get('ProductName')),
    ...opt('manufacturer', map.get('Manufacturer')),
  };
}

export function readMsiProperties(path: string): MsiRead {
  let out: string;
  try {
    out = execFileSync('msiinfo', ['export', path, 'Property'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      return {
        ok: false,
        reason:
          'msiinfo (Debian package msitools) is not installed; install it, or give `msi: { url, productId, version, sha256 }`',
      };
    }
    const detail = (e.stderr ?? '').toString().trim().split('\n')[0] || e.message;
    return { ok: false, reason: `not a readable MSI package (${detail.slice(0, 200)})` };
  }
  return { ok: true, properties: parsePropertyTable(out) };
}
