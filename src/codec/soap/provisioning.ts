// The wap-provisioningdoc returned by enrollment (docs/protocol-notes.md#provisioning-document): CertificateStore, the w7
// APPLICATION (OMA-DM account), DMClient provider with poll schedule, and WSTEP renewal settings.
// Characteristic and parm names are case-sensitive (docs/protocol-notes.md#provisioning-document). A parser for the same format
// serves test clients and the simulator.
import { attr, childElements, parseXml, type XmlElement } from '../xml.js';
import { el, renderXml, type XmlChild, type XmlOut } from './writer.js';

export interface CertificateEntry {
  /** SHA-1 of the DER, upper-case hex (docs/protocol-notes.md#provisioning-document). */
  readonly thumbprint: string;
  readonly der: Buffer;
}

/** `Full` → user store `My/User`; `Device` → `My/System` (docs/protocol-notes.md#provisioning-document). */
export const CLIENT_CERT_STORES = { Full: 'User', Device: 'System' } as const;

export interface RenewalSettings {
  readonly renewPeriodDays: number;
  readonly retryIntervalDays: number;
  readonly serverUrl: string;
}

export interface ProvisioningDocInput {
  readonly ca: CertificateEntry;
  readonly client: CertificateEntry;
  readonly enrollmentType: keyof typeof CLIENT_CERT_STORES;
  readonly deviceId: string;
  readonly providerId: string;
  /** Display name in Settings ▸ Access work or school. */
  readonly accountName: string;
  /** OMA-DM endpoint (w7 ADDR). */
  readonly managementUrl: string;
  readonly digest: {
    readonly appSrvName: string;
    readonly appSrvSecret: string;
    readonly appSrvNonce: string;
    readonly clientSecret: string;
    readonly clientNonce: string;
  };
  readonly entDmId: string;
  readonly deviceName?: string;
  readonly poll: {
    readonly firstCount: number;
    readonly firstIntervalMinutes: number;
    readonly intervalMinutes: number;
  };
  readonly renewal: RenewalSettings;
}

const characteristic = (type: string, ...children: XmlChild[]) => el('characteristic', { type }, ...children);
const parm = (name: string, value?: string, datatype?: string) => el('parm', { name, value, datatype });

function encodedCertificate(entry: CertificateEntry): XmlOut {
  return characteristic(entry.thumbprint, parm('EncodedCertificate', entry.der.toString('base64')));
}

function clientCertificateStore(
  client: CertificateEntry,
  enrollmentType: ProvisioningDocInput['enrollmentType'],
  renewal: RenewalSettings,
): XmlOut {
  return characteristic(
    'My',
    characteristic(
      CLIENT_CERT_STORES[enrollmentType],
      encodedCertificate(client),
      characteristic('PrivateKeyContainer'), // binds the key generated for the CSR (docs/protocol-notes.md#provisioning-document)
    ),
    characteristic(
      'WSTEP',
      characteristic(
        'Renew',
        parm('ROBOSupport', 'true', 'boolean'),
        parm('RenewPeriod', String(renewal.renewPeriodDays), 'integer'),
        parm('RetryInterval', String(renewal.retryIntervalDays), 'integer'),
        parm('ServerURL', renewal.serverUrl, 'string'),
      ),
    ),
  );
}

/**
 * A w7 APPAUTH block with DIGEST credentials (docs/protocol-notes.md#provisioning-document): `CLIENT` is how the server
 * authenticates to the device (no name), `APPSRV` how the device authenticates to the server.
 */
function digestAppAuth(
  level: 'CLIENT' | 'APPSRV',
  credentials: { readonly name?: string; readonly secret: string; readonly nonce: string },
): XmlOut {
  return characteristic(
    'APPAUTH',
    parm('AAUTHLEVEL', level),
    parm('AAUTHTYPE', 'DIGEST'),
    credentials.name === undefined ? null : parm('AAUTHNAME', credentials.name),
    parm('AAUTHSECRET', credentials.secret),
    parm('AAUTHDATA', credentials.nonce),
  );
}

/** The document, serialised by xmlbuilder2 with `wellFormed: true` (writer.ts). */
const doc = (...children: XmlChild[]) =>
  renderXml(el('wap-provisioningdoc', { version: '1.1' }, ...children), { declaration: true });

/** Full provisioning doc for an Issue request (docs/protocol-notes.md#provisioning-document). */
export function buildProvisioningDoc(p: ProvisioningDocInput): string {
  const store = CLIENT_CERT_STORES[p.enrollmentType];
  return doc(
    characteristic(
      'CertificateStore',
      characteristic('Root', characteristic('System', encodedCertificate(p.ca))),
      clientCertificateStore(p.client, p.enrollmentType, p.renewal),
    ),
    characteristic(
      'APPLICATION',
      parm('APPID', 'w7'),
      parm('PROVIDER-ID', p.providerId),
      parm('NAME', p.accountName),
      parm('ADDR', p.managementUrl),
      parm('CONNRETRYFREQ', '6'),
      parm('INITIALBACKOFFTIME', '30000'),
      parm('MAXBACKOFFTIME', '120000'),
      parm('BACKCOMPATRETRYDISABLED'),
      parm('DEFAULTENCODING', 'application/vnd.syncml.dm+xml'),
      parm(
        'SSLCLIENTCERTSEARCHCRITERIA',
        `Subject=${encodeURIComponent(`CN=${p.deviceId}`)}&Stores=My%5C${store}`,
      ),
      digestAppAuth('CLIENT', { secret: p.digest.clientSecret, nonce: p.digest.clientNonce }),
      digestAppAuth('APPSRV', {
        name: p.digest.appSrvName,
        secret: p.digest.appSrvSecret,
        nonce: p.digest.appSrvNonce,
      }),
    ),
    characteristic(
      'DMClient',
      characteristic(
        'Provider',
        characteristic(
          p.providerId,
          parm('EntDMID', p.entDmId, 'string'),
          p.deviceName ? parm('EntDeviceName', p.deviceName, 'string') : null,
          // Poll schedule (docs/protocol-notes.md#provisioning-document): a first burst, then a steady interval forever.
          characteristic(
            'Poll',
            parm('NumberOfFirstRetries', String(p.poll.firstCount), 'integer'),
            parm('IntervalForFirstSetOfRetries', String(p.poll.firstIntervalMinutes), 'integer'),
            parm('NumberOfSecondRetries', '0', 'integer'),
            parm('IntervalForSecondSetOfRetries', '0', 'integer'),
            parm('NumberOfRemainingScheduledRetries', '0', 'integer'),
            parm('IntervalForRemainingScheduledRetries', String(p.poll.intervalMinutes), 'integer'),
            parm('PollOnLogin', 'true', 'boolean'),
            parm('AllUsersPollOnFirstLogin', 'true', 'boolean'),
          ),
        ),
      ),
    ),
  );
}

export interface RenewalDocInput {
  readonly client: CertificateEntry;
  readonly enrollmentType: ProvisioningDocInput['enrollmentType'];
  readonly providerId: string;
  readonly renewal: RenewalSettings;
}

/** Provisioning doc for a Renew response: the new client certificate and the w7 binding (docs/protocol-notes.md#provisioning-document). */
export function buildRenewalProvisioningDoc(p: RenewalDocInput): string {
  return doc(
    characteristic('CertificateStore', clientCertificateStore(p.client, p.enrollmentType, p.renewal)),
    characteristic('APPLICATION', parm('APPID', 'w7'), parm('PROVIDER-ID', p.providerId)),
  );
}

// ---- Reading ---------------------------------------------------------------------------------

export interface WapParm {
  readonly value: string | undefined;
  readonly datatype: string | undefined;
}

export interface WapCharacteristic {
  readonly type: string;
  /** Parms by name; a repeated name keeps the first. */
  readonly parms: ReadonlyMap<string, WapParm>;
  readonly children: readonly WapCharacteristic[];
}

/** Parses a wap-provisioningdoc into its characteristic tree (root type `wap-provisioningdoc`). */
export function parseProvisioningDoc(xml: string): WapCharacteristic {
  const root = parseXml(xml, { maxBytes: 1024 * 1024 });
  if (root.local !== 'wap-provisioningdoc') throw new Error('not a wap-provisioningdoc');
  return toCharacteristic(root, 'wap-provisioningdoc');
}

function toCharacteristic(element: XmlElement, type: string): WapCharacteristic {
  const parms = new Map<string, WapParm>();
  for (const p of childElements(element, 'parm')) {
    const name = attr(p, 'name') ?? '';
    if (!parms.has(name)) parms.set(name, { value: attr(p, 'value'), datatype: attr(p, 'datatype') });
  }
  return {
    type,
    parms,
    children: childElements(element, 'characteristic').map((c) => toCharacteristic(c, attr(c, 'type') ?? '')),
  };
}

/** Follows characteristic types from `root`, e.g. `findCharacteristic(doc, 'CertificateStore', 'Root', 'System')`. */
export function findCharacteristic(
  root: WapCharacteristic,
  ...types: string[]
): WapCharacteristic | undefined {
  let cur: WapCharacteristic | undefined = root;
  for (const t of types) cur = cur?.children.find((c) => c.type === t);
  return cur;
}

/** All characteristics of a type under `root` (e.g. both APPAUTH blocks). */
export function findCharacteristics(root: WapCharacteristic, type: string): WapCharacteristic[] {
  return root.children.filter((c) => c.type === type);
}
