// The SyncML commands that install, verify and remove an app (docs/apps.md):
// - MSI, EnterpriseDesktopAppManagement CSP
//   (https://learn.microsoft.com/en-us/windows/client-management/mdm/enterprisedesktopappmanagement-csp):
//   Add `…/MSI/{ProductID}/DownloadInstall`, then Exec it with an MsiInstallJob document; the device
//   answers 202 and works after the session; `…/MSI/{ProductID}/Status` (10 initialized … 70
//   enforcement completed), `LastError`, `LastErrorDesc` and `Version` tell how it went; Delete
//   `…/MSI/{ProductID}` uninstalls.
// - MSIX, EnterpriseModernAppManagement CSP
//   (https://learn.microsoft.com/en-us/windows/client-management/mdm/enterprisemodernappmanagement-csp):
//   Exec `…/AppInstallation/{PackageFamilyName}/HostedInstall` with an `<Application PackageUri=…>`
//   document; `…/AppInstallation/{PFN}/Status` (0 not started, 1 in progress, 2 failed,
//   3 installed), `LastError`, `LastErrorDesc`; the inventory `…/AppManagement/nonStore/{PFN}` lists the
//   installed package full names (`Name_Version_Arch_ResourceId_PublisherId`); Delete of that
//   node uninstalls.
import type { DmCommand } from '../../shared/dm-command.js';
import { contentUrl } from './hosting.js';
import type { AppPlan } from './types.js';

const MSI_ROOT = './Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI';
const MODERN_ROOT = './Device/Vendor/MSFT/EnterpriseModernAppManagement';

/** The ProductID as a LocURI segment: braces percent-encoded, as the CSP documentation writes it. */
export function productSegment(productId: string): string {
  return productId.replace(/\{/g, '%7B').replace(/\}/g, '%7D');
}

export function msiNode(productId: string): string {
  return `${MSI_ROOT}/${productSegment(productId)}`;
}

export function msixInstallNode(pfn: string): string {
  return `${MODERN_ROOT}/AppInstallation/${pfn}`;
}

export function msixInventoryNode(pfn: string): string {
  return `${MODERN_ROOT}/AppManagement/nonStore/${pfn}`;
}

const xmlAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The MsiInstallJob document of DownloadInstall. */
export function msiInstallJob(plan: AppPlan, publicUrl: string): string {
  const hash = plan.content.sha256
    ? `<Validation><FileHash>${plan.content.sha256.toUpperCase()}</FileHash></Validation>`
    : '';
  return (
    `<MsiInstallJob id="${xmlAttr(plan.id)}"><Product Version="${xmlAttr(plan.version)}">` +
    `<Download><ContentURLList><ContentURL>${xmlAttr(contentUrl(plan.content, publicUrl))}</ContentURL></ContentURLList></Download>` +
    hash +
    `<Enforcement><CommandLine>${xmlAttr(plan.commandLine ?? '/quiet')}</CommandLine>` +
    `<TimeOut>${plan.timeoutMinutes ?? 5}</TimeOut><RetryCount>${plan.retryCount ?? 3}</RetryCount>` +
    `<RetryInterval>${plan.retryIntervalMinutes ?? 5}</RetryInterval></Enforcement>` +
    '</Product></MsiInstallJob>'
  );
}

/** The HostedInstall document of an MSIX package. */
export function hostedInstallDocument(plan: AppPlan, publicUrl: string): string {
  const deps = (plan.dependencies ?? [])
    .map((d) => `<Dependency PackageUri="${xmlAttr(contentUrl(d, publicUrl))}"/>`)
    .join('');
  const uri = xmlAttr(contentUrl(plan.content, publicUrl));
  return deps === ''
    ? `<Application PackageUri="${uri}" DeploymentOptions="0"/>`
    : `<Application PackageUri="${uri}" DeploymentOptions="0"><Dependencies>${deps}</Dependencies></Application>`;
}

/** Commands that start the installation (each its own command, in this order). */
export function installCommands(plan: AppPlan, publicUrl: string): DmCommand[] {
  if (plan.kind === 'msi') {
    const target = `${msiNode(plan.id)}/DownloadInstall`;
    return [
      { verb: 'Add', items: [{ target }] },
      {
        verb: 'Exec',
        items: [{ target, format: 'xml', type: 'text/plain', data: msiInstallJob(plan, publicUrl) }],
      },
    ];
  }
  return [
    {
      verb: 'Exec',
      items: [
        {
          target: `${msixInstallNode(plan.id)}/HostedInstall`,
          format: 'xml',
          type: 'text/plain',
          data: hostedInstallDocument(plan, publicUrl),
        },
      ],
    },
  ];
}

/** Gets that read how the installation went and what is installed. */
export function statusCommands(kind: AppPlan['kind'], id: string): DmCommand[] {
  const base = kind === 'msi' ? msiNode(id) : msixInstallNode(id);
  const nodes = [`${base}/Status`, `${base}/LastError`, `${base}/LastErrorDesc`];
  nodes.push(kind === 'msi' ? `${base}/Version` : msixInventoryNode(id));
  return nodes.map((target) => ({ verb: 'Get', items: [{ target }] }));
}

export function removeCommand(kind: AppPlan['kind'], id: string): DmCommand {
  return { verb: 'Delete', items: [{ target: kind === 'msi' ? msiNode(id) : msixInventoryNode(id) }] };
}

/** Which status node a Get target is. */
export function statusNodeOf(
  target: string,
): 'Status' | 'LastError' | 'LastErrorDesc' | 'Version' | 'inventory' | undefined {
  const m = /\/(Status|LastError|LastErrorDesc|Version)$/.exec(target);
  if (m) return m[1] as 'Status' | 'LastError' | 'LastErrorDesc' | 'Version';
  return target.includes('/AppManagement/nonStore/') ? 'inventory' : undefined;
}

/** Version of the newest package full name in an inventory listing (`A_1.2.0.0_x64__pub/…`). */
export function inventoryVersion(listing: string): string | undefined {
  let best: string | undefined;
  for (const name of listing.split('/')) {
    const version = name.split('_')[1];
    if (version && /^\d+(\.\d+){0,3}$/.test(version) && (!best || compareVersion(version, best) > 0))
      best = version;
  }
  return best;
}

export function compareVersion(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
