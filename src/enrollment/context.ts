// What the enrollment steps share: configuration, storage, the CA, the clock, the service URLs and
// the audit trail of enrollment (MS-MDE2 3.1, 3.3, 3.4).
import type { Config } from '../config.js';
import type { EnrollmentCa } from '../pki/ca.js';
import type { IssuedCertificate } from '../pki/issue.js';
import type { EnrollmentAuthPolicy } from '../storage/devices.js';
import type { Storage } from '../storage/index.js';
import type { EventSink } from '../webhooks/events.js';
import { type EnrollmentUrls, enrollmentUrls } from './urls.js';

export interface EnrollmentResult {
  /** wap-provisioningdoc XML (base64-encoded into the RSTR by the codec). */
  readonly provisioningDoc: string;
  readonly deviceId: string;
  readonly certificate: IssuedCertificate;
}

export interface EnrollmentContext {
  readonly config: Config;
  readonly storage: Storage;
  readonly ca: EnrollmentCa;
  readonly now: () => Date;
  readonly urls: EnrollmentUrls;
  /** Auth policies this server accepts. */
  readonly enabled: readonly EnrollmentAuthPolicy[];
  /** The renewal settings every provisioning doc carries (docs/protocol-notes.md#device-certificates). */
  readonly renewal: { renewPeriodDays: number; retryIntervalDays: number; serverUrl: string };
  readonly events?: EventSink;
  /** Records an enrollment audit entry; a database that cannot take one does not change the answer. */
  audit(entry: Parameters<Storage['audit']['record']>[0]): Promise<void>;
}

export function enrollmentContext(deps: {
  readonly config: Config;
  readonly storage: Storage;
  readonly ca: EnrollmentCa;
  readonly now?: () => Date;
  readonly events?: EventSink;
}): EnrollmentContext {
  const { config, storage } = deps;
  const urls = enrollmentUrls(config);
  return {
    config,
    storage,
    ca: deps.ca,
    now: deps.now ?? (() => new Date()),
    urls,
    enabled: config.authPolicies as readonly EnrollmentAuthPolicy[],
    renewal: {
      renewPeriodDays: config.renewalPeriodDays,
      retryIntervalDays: Math.min(7, config.renewalPeriodDays),
      serverUrl: urls.enrollment,
    },
    ...(deps.events && { events: deps.events }),
    audit: (entry) =>
      storage.audit.record(entry).then(
        () => undefined,
        () => undefined,
      ),
  };
}
