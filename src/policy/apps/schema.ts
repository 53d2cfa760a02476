// The `apps:` section of a policy file: applications the policy installs. MSI packages go through
// the EnterpriseDesktopAppManagement CSP and MSIX/APPX packages through the
// EnterpriseModernAppManagement CSP (docs/apps.md). Each entry names its package as a local file
// (relative to the policy file; the server hosts it) or as an HTTPS URL with its identity.
import { z } from 'zod';

export const GUID_RE = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;
export const SHA256_RE = /^[0-9A-Fa-f]{64}$/;
/** MSI ProductVersion (`major.minor.build`, each part a number) or an MSIX version (four parts). */
export const APP_VERSION_RE = /^\d{1,5}(\.\d{1,5}){0,3}$/;
/** `Name_PublisherId` (https://learn.microsoft.com/en-us/windows/apps/desktop/modernize/package-identity-overview). */
export const PFN_RE = /^[A-Za-z0-9.-]{3,50}_[a-z0-9]{13}$/;

const httpsUrl = z
  .string()
  .regex(/^https:\/\/[^\s/]+\/\S*$/, 'expected an https:// URL')
  .describe('Where devices download the package (HTTPS).');
const guid = z
  .string()
  .regex(GUID_RE, 'expected a GUID in braces, e.g. {12345678-9ABC-DEF0-1234-56789ABCDEF0}');
const sha256 = z.string().regex(SHA256_RE, 'expected 64 hexadecimal digits (SHA-256 of the package)');
const version = z
  .string()
  .regex(APP_VERSION_RE, 'expected a version such as 1.2.3 or 1.2.3.0; quote it in YAML');

export const MsiUrlSchema = z
  .strictObject({
    url: httpsUrl,
    productId: guid.describe('The MSI ProductCode.'),
    version: version.describe('The MSI ProductVersion.'),
    sha256: sha256.describe('SHA-256 of the .msi file, sent as FileHash; the device checks it.'),
    upgradeCode: guid.optional().describe('The MSI UpgradeCode: versions with the same one are one app.'),
  })
  .describe('An MSI package the device downloads from a URL.');

export const MsiSourceSchema = z
  .union([z.string().min(1), MsiUrlSchema])
  .describe(
    'A local `.msi` file (relative to the policy file; ProductCode and ProductVersion are read from its Property table and the server hosts it), or `{ url, productId, version, sha256 }`.',
  );

export const MsixPackageSchema = z
  .strictObject({
    file: z
      .string()
      .min(1)
      .optional()
      .describe('A local package file (relative to the policy file), hosted by the server.'),
    url: httpsUrl.optional(),
    packageFamilyName: z
      .string()
      .regex(PFN_RE, 'expected a Package Family Name such as Contoso.App_8wekyb3d8bbwe')
      .describe('The Package Family Name (Name_PublisherId).'),
    version: version.describe('The package version (Identity Version in AppxManifest.xml).'),
    sha256: sha256.optional().describe('SHA-256 of a package given by URL (computed for a local file).'),
  })
  .describe('An MSIX/APPX package: exactly one of `file` or `url`.');

export const MsixDependencySchema = z
  .union([
    z.string().min(1),
    z.strictObject({
      url: httpsUrl,
      sha256: sha256.optional(),
    }),
  ])
  .describe('A framework package the app needs: a local file (hosted by the server) or `{ url }`.');

export const PolicyAppSchema = z
  .strictObject({
    msi: MsiSourceSchema.optional(),
    msix: MsixPackageSchema.optional(),
    name: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Name shown in reports (default: the file name or product).'),
    commandLine: z
      .string()
      .max(1024)
      .optional()
      .describe('MSI only: msiexec command-line options (MsiInstallJob CommandLine), default `/quiet`.'),
    timeout: z
      .number()
      .int()
      .min(1)
      .max(1440)
      .optional()
      .describe('MSI only: minutes the installer may run (MsiInstallJob TimeOut), default 5.'),
    retryCount: z
      .number()
      .int()
      .min(0)
      .max(10)
      .optional()
      .describe(
        'MSI only: how often the device retries a failed installation itself (RetryCount), default 3.',
      ),
    retryInterval: z
      .number()
      .int()
      .min(1)
      .max(1440)
      .optional()
      .describe('MSI only: minutes between the device’s own retries (RetryInterval), default 5.'),
    dependencies: z.array(MsixDependencySchema).optional().describe('MSIX only: framework packages.'),
    comment: z.string().optional().describe('Why this app is here (not sent to devices).'),
  })
  .describe('One application to install: exactly one of `msi` or `msix`.');

export type PolicyAppSource = z.infer<typeof PolicyAppSchema>;
