// A virtual Windows device: enrolls over HTTPS with its own key, keeps its certificate and DM tree,
// and runs OMA-DM sessions on demand. Tests, replay, the `mdm simulate` fleet and the benchmark all
// drive this class.
import type { KeyObject } from 'node:crypto';
import type { CatalogLookup } from '../catalog/types.js';
import { ALERT, ALERT_TYPE } from '../codec/syncml/codes.js';
import { catalogDefault } from './apply.js';
import { type AppAlert, AppCsps } from './apps.js';
import type { ClientKind } from './client.js';
import type { DeviceKey } from './csr.js';
import { DmTree, type TreeData } from './dm-tree.js';
import { enroll } from './enroll.js';
import { driftValue, type FaultPlan } from './faults.js';
import { LARGE_OBJECT_NODE, profileNodes, type SimulatedProfile } from './profile.js';
import type { ProvisionedAccount } from './provisioning.js';
import { scepEnrol } from './scep-client.js';
import { type DigestCredentials, type PendingAlert, runSession, type SessionReport } from './session.js';
import {
  type HttpRequestOut,
  type HttpResponseIn,
  httpTransport,
  type TlsOptions,
  type Transport,
} from './transport.js';

/** Called after every HTTP exchange (fixture recording, traces). */
export type ExchangeListener = (exchange: {
  readonly request: HttpRequestOut;
  readonly response: HttpResponseIn;
  readonly startedAt: Date;
  readonly durationMs: number;
}) => void;

export interface VirtualDeviceOptions {
  readonly profile: SimulatedProfile;
  readonly catalog: CatalogLookup;
  /** Server certificate trust (the device has no client certificate until it enrolls). */
  readonly tls?: Pick<TlsOptions, 'ca' | 'insecure' | 'forwardedCertHeader'>;
  readonly faults?: FaultPlan;
  /** `certificate`: TLS client certificate (the default); `digest`: SyncML MD5 `Cred` (docs/protocol-notes.md#digest-authentication). */
  readonly auth?: 'certificate' | 'digest';
  /** Largest message the device sends (default 512 KiB; 16384 for `strict-omadm`). */
  readonly maxMsgSize?: number;
  /** Announce MaxMsgSize in every SyncHdr (default: only `strict-omadm` does). */
  readonly announceMaxMsgSize?: boolean;
  /**
   * Which OMA-DM client to behave like: `windows` (default) or `strict-omadm`, a plain OMA-DM 1.2
   * client shaped like libdmclient (client.ts: no Atomic Status, per-Item Statuses, no large objects,
   * re-sends only the commands a challenge answered 401/407).
   */
  readonly client?: ClientKind;
  readonly onExchange?: ExchangeListener;
  /** Transport factory (defaults to node http/https); tests may inject one. */
  readonly transport?: (tls: TlsOptions) => Transport;
  /**
   * The device's WNS: once the server sets `…/DMClient/Provider/{ProviderID}/Push/PFN`, the device
   * registers for that PFN and reports the channel under `Push/ChannelURI` (DMClient CSP). Without
   * one the device never gets a channel (`Push/Status` 4).
   */
  readonly wns?: WnsRegistrar;
}

/** Hands out WNS channels (the simulator's WNS stand-in, src/simulator/wns.ts). */
export interface WnsRegistrar {
  /** A channel URI for the device and PFN; undefined when registration fails (`Push/Status` 3). */
  channelFor(pfn: string, deviceId: string): string | undefined;
}

export interface DeviceStats {
  sessions: number;
  failedSessions: number;
  messages: number;
  /** Command outcomes by status code. */
  readonly byStatus: Record<string, number>;
  lastError?: string;
}

export interface DeviceIdentity {
  readonly account: ProvisionedAccount;
  readonly key: DeviceKey;
}

export class VirtualDevice {
  readonly profile: SimulatedProfile;
  tree: DmTree;
  readonly stats: DeviceStats = { sessions: 0, failedSessions: 0, messages: 0, byStatus: {} };
  private current: DeviceIdentity | undefined;
  private digest: DigestCredentials | undefined;
  private dmTransport: Transport | undefined;
  private sessionNumber = 0;
  private unenrollRequested = false;
  private registeredPfn: string | undefined;
  /** Results of asynchronous operations, reported in the next session (docs/protocol-notes.md#generic-alerts). */
  private pendingAlerts: PendingAlert[] = [];
  /** The application CSPs and the installed-apps inventory (apps.ts). */
  readonly apps = new AppCsps();

  constructor(private readonly options: VirtualDeviceOptions) {
    this.profile = options.profile;
    this.tree = this.freshTree();
  }

  get enrolled(): boolean {
    return this.current !== undefined;
  }

  get account(): ProvisionedAccount | undefined {
    return this.current?.account;
  }

  /** Everything needed to continue this device later (another process, a benchmark run). Holds the
   *  device's private key: keep snapshot files private. */
  snapshot(): DeviceSnapshot {
    return {
      profile: this.profile,
      identity: this.current,
      sessionNumber: this.sessionNumber,
      digestNonce: this.digest?.nonce,
      tree: this.tree.export(),
    };
  }

  /** A device continuing from `snapshot()`. */
  static restore(snapshot: DeviceSnapshot, options: Omit<VirtualDeviceOptions, 'profile'>): VirtualDevice {
    const device = new VirtualDevice({ ...options, profile: snapshot.profile });
    device.tree = DmTree.from(snapshot.tree, catalogDefault(options.catalog));
    if (snapshot.identity) device.adopt(snapshot.identity);
    if (device.digest && snapshot.digestNonce) device.digest.nonce = snapshot.digestNonce;
    device.sessionNumber = snapshot.sessionNumber;
    return device;
  }

  /** Certificate, key and account: hand it to `adopt()` of another device to skip enrollment. */
  get identity(): DeviceIdentity | undefined {
    return this.current;
  }

  /** MS-MDE2 enrollment against `server` (base URL or discovery URL). */
  async enroll(
    server: string,
    email: string,
    password: string,
    key?: DeviceKey,
  ): Promise<ProvisionedAccount> {
    const transport = this.transport(this.options.tls ?? {});
    try {
      const result = await enroll({ server, email, password, profile: this.profile, transport, key });
      this.adopt({ account: result.account, key: result.key });
      return result.account;
    } finally {
      transport.close();
    }
  }

  /** Take an identity obtained elsewhere (a pre-enrolled benchmark fleet, replay provisioning). */
  adopt(identity: DeviceIdentity): void {
    this.dmTransport?.close();
    this.dmTransport = undefined;
    this.current = identity;
    const { account } = identity;
    const appsrv = account.appsrv;
    this.digest =
      this.options.auth === 'digest' && appsrv
        ? { name: appsrv.name, secret: appsrv.secret, nonce: appsrv.nonce }
        : undefined;
    const base = `./Vendor/MSFT/DMClient/Provider/${account.providerId}`;
    this.tree.addInterior(base);
    for (const [suffix, value] of Object.entries(account.dmClient)) {
      this.tree.set(`${base}/${suffix}`, { value, format: /^\d+$/.test(value) ? 'int' : 'chr' });
    }
  }

  /** The user removes the work account: the next session reports Alert 1226 (docs/protocol-notes.md#generic-alerts). */
  requestUnenroll(): void {
    this.unenrollRequested = true;
  }

  /**
   * One full OMA-DM session. `origin` is why it started (MS-MDM 3.1.7.2: 1 user, 2 scheduled, 3 WNS
   * push, …); like Windows the device sends it as `UserAgentOrigin` only once the server set
   * `SyncApplicationVersion` 4.0 or later.
   */
  async checkIn(options: { sessionAlert?: 1200 | 1201; origin?: number } = {}): Promise<SessionReport> {
    const identity = this.current;
    if (!identity) throw new Error(`device ${this.profile.deviceId} is not enrolled`);
    this.sessionNumber++;
    if (this.sessionNumber > 1) this.drift();
    const unenrolling = this.unenrollRequested;
    // Install jobs accepted in earlier sessions run now; their results go out as 1224 alerts.
    this.apps.attach(this.tree);
    for (const done of await this.apps.runJobs(this.options.tls)) this.pendingAlerts.push(installAlert(done));
    const alerts: PendingAlert[] = [...this.pendingAlerts];
    if (unenrolling) {
      alerts.push({
        code: ALERT.GENERIC_ALERT,
        items: [{ type: ALERT_TYPE.UNENROLL_USER_REQUEST, format: 'int', data: '1' }],
      });
    }
    // DIGEST mode authenticates inside SyncML only; otherwise the TLS client certificate does.
    this.dmTransport ??= this.transport(
      this.digest
        ? { ...this.options.tls }
        : { ...this.options.tls, cert: identity.account.certPem, key: identity.key.privateKeyPem },
    );
    const report = await runSession({
      profile: this.profile,
      tree: this.tree,
      catalog: this.options.catalog,
      transport: this.dmTransport,
      serverUrl: `${identity.account.addr}?mode=Maintenance&Platform=WoA`,
      sessionNumber: this.sessionNumber,
      entDmId: identity.account.dmClient.EntDMID,
      digest: this.digest,
      alerts,
      faults: this.options.faults,
      maxMsgSize: this.options.maxMsgSize,
      announceMaxMsgSize: this.options.announceMaxMsgSize,
      sessionAlert: options.sessionAlert,
      client: this.options.client,
      apps: this.apps,
      ...(options.origin !== undefined &&
        this.syncApplicationVersion() >= 4 && { userAgentOrigin: String(options.origin) }),
    });
    this.count(report);
    if (report.ok) this.registerPush();
    if (report.ok) this.pendingAlerts = [];
    if (!report.ok) {
      // A broken connection is not reused (the server may have seen half a session).
      this.dmTransport.close();
      this.dmTransport = undefined;
    }
    if (unenrolling && report.ok) this.forget();
    for (const effect of report.effects) {
      if (effect.startsWith('scep-enroll:')) await this.scepEnroll(effect.slice('scep-enroll:'.length));
    }
    if (report.effects.includes('wipe')) {
      this.forget();
      this.tree = this.freshTree();
    } else if (report.effects.includes('unenroll')) {
      this.unenrollRequested = true;
    }
    return report;
  }

  /** The DMClient Push nodes of this device's provider (DMClient CSP). */
  get pushPaths(): { pfn: string; channelUri: string; status: string } | undefined {
    const providerId = this.current?.account.providerId;
    if (!providerId) return undefined;
    const base = `./Vendor/MSFT/DMClient/Provider/${providerId}/Push`;
    return { pfn: `${base}/PFN`, channelUri: `${base}/ChannelURI`, status: `${base}/Status` };
  }

  /** The channel WNS expired (it answered 410): the device gets a new one from its WNS. */
  renewPushChannel(): void {
    const paths = this.pushPaths;
    if (paths) this.tree.delete(paths.channelUri);
    this.registerPush();
  }

  /** After a session that set the PFN: register with WNS, as the DM client does in the background. */
  private registerPush(): void {
    const paths = this.pushPaths;
    const pfn = paths && this.tree.get(paths.pfn)?.value;
    if (!paths || !pfn) return;
    if (this.registeredPfn === pfn && this.tree.get(paths.channelUri)) return;
    const uri = this.options.wns?.channelFor(pfn, this.profile.deviceId);
    if (uri) {
      this.tree.set(paths.channelUri, { value: uri, format: 'chr' });
      this.tree.set(paths.status, { value: '0', format: 'int' });
      this.registeredPfn = pfn;
    } else {
      this.tree.delete(paths.channelUri);
      this.tree.set(paths.status, { value: this.options.wns ? '3' : '4', format: 'int' });
    }
  }

  private syncApplicationVersion(): number {
    const providerId = this.current?.account.providerId;
    const v =
      providerId && this.tree.get(`./Vendor/MSFT/DMClient/Provider/${providerId}/SyncApplicationVersion`);
    return v ? Number.parseFloat(v.value) || 0 : 0;
  }

  /** Certificates installed by ClientCertificateInstall SCEP, by profile root path. */
  readonly certificates = new Map<string, { der: Buffer; thumbprint: string; privateKey: KeyObject }>();

  /**
   * ClientCertificateInstall SCEP enrolment as Windows does it: read the profile's Install nodes,
   * generate the key, run the SCEP exchange with the challenge (checking the CA thumbprint),
   * install the certificate and report CertThumbprint and Status (1 = done, 16 = failed) with
   * ErrorCode (https://learn.microsoft.com/en-us/windows/client-management/mdm/clientcertificateinstall-csp).
   */
  private async scepEnroll(root: string): Promise<void> {
    const get = (node: string) => this.tree.get(`${root}/Install/${node}`)?.value;
    const set = (node: string, value: string, format: 'chr' | 'int' = 'chr') =>
      this.tree.set(`${root}/${node}`, { value, format });
    const url = get('ServerURL');
    const subject = get('SubjectName');
    const sanText = get('SubjectAlternativeNames');
    const SAN_KINDS: Record<string, string> = { '2': 'email', '3': 'dns', '7': 'uri', '11': 'upn' };
    const san = (sanText ? sanText.split(';') : []).filter(Boolean).map((pair) => {
      const i = pair.indexOf('+');
      return `${SAN_KINDS[pair.slice(0, i)] ?? 'dns'}:${pair.slice(i + 1)}`;
    });
    set('Status', '2', 'int');
    try {
      if (!url || !subject) throw new Error('ServerURL and SubjectName are required');
      const ca = this.options.tls?.ca;
      const result = await scepEnrol({
        url,
        tlsCa: Array.isArray(ca) ? ca.join('\n') : (ca as string | undefined),
        subject,
        san,
        challenge: get('Challenge'),
        keyBits: Number(get('KeyLength') ?? 2048),
        caThumbprint: get('CAThumbprint'),
      });
      if (result.status !== 'SUCCESS' || !result.certificate || !result.thumbprint) {
        throw new Error(
          `SCEP ${result.status}: ${result.failInfo ?? ''} ${result.failInfoText ?? ''}`.trim(),
        );
      }
      this.certificates.set(root, {
        der: result.certificate,
        thumbprint: result.thumbprint,
        privateKey: result.privateKey,
      });
      set('CertThumbprint', result.thumbprint);
      set('Status', '1', 'int');
      set('ErrorCode', '0', 'int');
    } catch (err) {
      this.stats.lastError = `SCEP enrolment ${root}: ${(err as Error).message}`;
      set('Status', '16', 'int');
      // An HRESULT, as Windows reports it: E_FAIL.
      set('ErrorCode', String(0x80004005 | 0), 'int');
    }
  }

  close(): void {
    this.dmTransport?.close();
    this.dmTransport = undefined;
  }

  private forget(): void {
    this.close();
    this.current = undefined;
    this.digest = undefined;
    this.unenrollRequested = false;
  }

  private drift(): void {
    for (const rule of this.options.faults?.drift ?? []) {
      const current = this.tree.get(rule.path);
      this.tree.set(rule.path, {
        value: driftValue(current?.value, rule),
        format: current?.format ?? 'chr',
        type: current?.type,
      });
    }
  }

  private count(report: SessionReport): void {
    const stats = this.stats;
    stats.sessions++;
    stats.messages += report.messages;
    if (!report.ok) {
      stats.failedSessions++;
      stats.lastError = report.error;
    }
    for (const o of report.outcomes) stats.byStatus[o.status] = (stats.byStatus[o.status] ?? 0) + 1;
  }

  private freshTree(): DmTree {
    const tree = new DmTree(catalogDefault(this.options.catalog));
    const nodes = profileNodes(this.profile);
    // libdmclient handles no large objects (client.ts), unless the profile says otherwise.
    if (this.options.client === 'strict-omadm' && this.profile.nodes?.[LARGE_OBJECT_NODE] === undefined) {
      nodes[LARGE_OBJECT_NODE] = 'false';
    }
    for (const [path, value] of Object.entries(nodes)) {
      const node = this.options.catalog.resolve(path);
      const format = node && node.format !== 'node' ? node.format : 'chr';
      tree.set(path, { value, format, type: node?.mime });
    }
    return tree;
  }

  private transport(tls: TlsOptions): Transport {
    const inner = (this.options.transport ?? httpTransport)(tls);
    const listener = this.options.onExchange;
    if (!listener) return inner;
    return {
      async send(request, sendOptions) {
        const startedAt = new Date();
        const response = await inner.send(request, sendOptions);
        listener({ request, response, startedAt, durationMs: Date.now() - startedAt.getTime() });
        return response;
      },
      close: () => inner.close(),
    };
  }
}

/** A device's state as plain data (`VirtualDevice.snapshot()` / `restore()`). */
export interface DeviceSnapshot {
  readonly profile: SimulatedProfile;
  readonly identity?: DeviceIdentity;
  readonly sessionNumber: number;
  readonly digestNonce?: string;
  readonly tree: TreeData;
}

/** An MSI install accepted with 202 finishes after the session; Windows reports it with a 1224
 *  `com.microsoft.mdm.win32csp_install` alert in a later session (Data 0 = success, else the HRESULT;
 *  https://learn.microsoft.com/en-us/windows/client-management/mdm/enterprisedesktopappmanagement-csp). */
function installAlert(a: AppAlert): PendingAlert {
  return {
    code: ALERT.CLIENT_EVENT,
    items: [
      {
        source: a.source,
        type: 'Reversed-Domain-Name:com.microsoft.mdm.win32csp_install',
        format: 'int',
        mark: 'informational',
        data: a.data,
      },
    ],
  };
}
