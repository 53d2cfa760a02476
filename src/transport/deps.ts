// What every route module and the OMA-DM endpoint are built from (assembled by `startMdmServer` in
// src/main.ts, passed to `createRequestHandler` in src/http/app.ts). Below the route modules
// (src/api, src/console, src/http) so that none of them imports the application that mounts them.
import type { CatalogLookup } from '../catalog/types.js';
import type { Config } from '../config.js';
import type { DmHooks } from '../dm/hooks.js';
import type { Logger } from '../logger.js';
import type { EnrollmentCa } from '../pki/ca.js';
import type { PushService } from '../push/service.js';
import type { ServerMetrics } from '../reporting/metrics.js';
import type { ScepService } from '../scep/service.js';
import type { Storage } from '../storage/index.js';
import type { EventSink } from '../webhooks/events.js';

/** What every route module is built from (assembled by `startMdmServer` in src/main.ts). */
export interface AppDeps {
  /** Final configuration; `publicUrl` is the base of every URL handed out. */
  readonly config: Config;
  readonly storage: Storage;
  /** Enrollment CA: verify device certificates with `verifyDeviceCertificate(ca, cert)`. */
  readonly ca: EnrollmentCa;
  readonly logger: Logger;
  /** HMAC key of Federated sign-in tokens. */
  readonly tokenSecret: Buffer;
  /** Clock (tests may pin it). */
  readonly now?: () => Date;
  /** CSP catalog, loaded on first use: a 418'd Add is retried as Replace only where the node allows Replace (default: allowed). */
  readonly catalog?: () => CatalogLookup;
  /** OMA-DM session hooks (policy delivery observes command outcomes here; src/shared/dm-hooks.ts). */
  readonly dmHooks?: DmHooks;
  /** Webhook events (`webhooks` config); default none. */
  readonly events?: EventSink;
  /** `/metrics` and the counters the session engine feeds (default: a registry of its own). */
  readonly metrics?: ServerMetrics;
  /** WNS push (sync, reports; src/push/service.ts), when the server built one. */
  readonly push?: PushService;
  /** SCEP server (RFC 8894) at `config.scepPath`; absent = no SCEP endpoint. */
  readonly scep?: ScepService;
}
