// Real MSI packages for tests, built with `wixl` (Debian package `wixl`) and read with `msiinfo`
// (`msitools`). Without them the suites that need them skip with this hint; with MDM_TEST_REQUIRE
// containing `wixl` (CI) they fail instead.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { requiredServices } from './postgres-global.js';

export const WIXL_HINT = 'MSI tests need wixl and msiinfo (apt-get install -y wixl msitools)';

function has(cmd: string, arg: string): boolean {
  try {
    execFileSync(cmd, [arg], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export function wixlAvailable(): boolean {
  return has('wixl', '--version') && has('msiinfo', '--version');
}

/** `describe`, or a skip with the install hint when wixl is missing (a failure when it is required). */
export function describeWithWixl(title: string, body: () => void): void {
  if (wixlAvailable()) {
    describe(title, body);
    return;
  }
  if (requiredServices().includes('wixl')) {
    describe(title, () => {
      throw new Error(`${WIXL_HINT} (MDM_TEST_REQUIRE)`);
    });
    return;
  }
  describe.skip(`${title}: ${WIXL_HINT}`, body);
}

export interface MsiSpec {
  readonly productCode: string;
  readonly upgradeCode: string;
  readonly version: string;
  readonly name?: string;
  /** Text of the one file the package installs (changes the package's bytes). */
  readonly payload?: string;
}

/** Builds a real .msi with wixl into `dir` (a fresh temp folder when absent); returns its path. */
export function buildMsi(spec: MsiSpec, file: string, dir = mkdtempSync(join(tmpdir(), 'mdm-msi-'))): string {
  const src = mkdtempSync(join(tmpdir(), 'mdm-wxs-'));
  writeFileSync(join(src, 'readme.txt'), spec.payload ?? `${spec.name ?? 'Contoso Tool'} ${spec.version}\n`);
  const wxs = `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="${spec.productCode}" Name="${spec.name ?? 'Contoso Tool'}" Language="1033" Version="${spec.version}"
           Manufacturer="Contoso" UpgradeCode="${spec.upgradeCode}">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="app.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFilesFolder">
        <Directory Id="INSTALLDIR" Name="Contoso">
          <Component Id="Main" Guid="{0F0F0F0F-2222-3333-4444-555555555555}">
            <File Id="readme" Source="readme.txt"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="All" Level="1"><ComponentRef Id="Main"/></Feature>
  </Product>
</Wix>
`;
  writeFileSync(join(src, 'app.wxs'), wxs);
  const out = join(dir, file);
  execFileSync('wixl', ['-o', out, join(src, 'app.wxs')], { cwd: src, stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}
