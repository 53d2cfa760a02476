// `/metrics` in the Prometheus text format (prom-client). Device, setting and check-in figures are
// read from the database at scrape time, so every server instance reports the same numbers; what
// happens inside a process (command outcomes it recorded) is counted in that process, the way
// Prometheus sums counters over instances.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { APP_STATES } from '../storage/apps.js';
import type { CommandQueue } from '../storage/commands.js';
import { COMPLIANCE_STATES } from '../storage/compliance.js';
import { SETTING_STATES } from '../storage/device-settings.js';
import { PUSH_RESULTS, type PushResult } from '../storage/push.js';
import type { ReportStores } from './compliance.js';
import { complianceReport } from './compliance.js';

/** What the session engine reports as it runs (src/dm/session.ts `DmMetrics`). */
export interface DmMetricsSink {
  commandOutcome(origin: string, verb: string, statusClass: '2xx' | '4xx' | '5xx' | 'none'): void;
}

/** Route families of `mdm_http_request_duration_seconds` (bounded label values). */
export type RouteFamily = 'omadm' | 'enrollment' | 'api' | 'metrics' | 'health' | 'other';
/** What the push service reports (src/push/service.ts `PushMetrics`). */
export interface PushMetricsSink {
  pushed(result: PushResult): void;
  sessionAfterPush(seconds: number, pushed: boolean | undefined): void;
}

export interface ServerMetrics {
  readonly registry: Registry;
  readonly dm: DmMetricsSink;
  /** One finished HTTP request. */
  httpRequest(family: RouteFamily, method: string, status: number, seconds: number): void;
  /** One OMA-DM exchange (a SyncML message and its answer). */
  dmExchange(seconds: number): void;
  /** One enrollment request (MS-MDE2 RequestSecurityToken): `issued`, `renewed` or a fault code. */
  enrollment(result: string): void;
  readonly push: PushMetricsSink;
}

/** The route family of a request path. */
export function routeFamily(path: string): RouteFamily {
  if (path.startsWith('/ManagementServer/')) return 'omadm';
  if (path.startsWith('/EnrollmentServer/')) return 'enrollment';
  if (path.startsWith('/api/')) return 'api';
  if (path === '/metrics') return 'metrics';
  if (path === '/healthz' || path === '/readyz' || path === '/version') return 'health';
  return 'other';
}

export function createServerMetrics(
  stores: ReportStores & { readonly commands?: Pick<CommandQueue, 'countByState'> },
): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const http = new Histogram({
    name: 'mdm_http_request_duration_seconds',
    help: 'HTTP request duration by route family, method and status class',
    labelNames: ['family', 'method', 'class'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const exchange = new Histogram({
    name: 'mdm_omadm_exchange_duration_seconds',
    help: 'OMA-DM exchange duration (one SyncML message from a device and the answer)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const enrollments = new Counter({
    name: 'mdm_enrollments_total',
    help: 'Enrollment requests (MS-MDE2 RequestSecurityToken) by result, since this process started',
    labelNames: ['result'],
    registers: [registry],
  });
  if (stores.commands) {
    const commands = stores.commands;
    new Gauge({
      name: 'mdm_command_queue_depth',
      help: 'Queued commands waiting for a device session (pending) or its answer (sent)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await commands.countByState();
        this.set({ state: 'pending' }, counts.pending);
        this.set({ state: 'sent' }, counts.sent);
      },
    });
  }
  new Gauge({
    name: 'mdm_devices',
    help: 'Enrolled devices by compliance state',
    labelNames: ['compliance_state'],
    registers: [registry],
    async collect() {
      const counts = Object.fromEntries(COMPLIANCE_STATES.map((s) => [s, 0])) as Record<string, number>;
      for (const d of await complianceReport(stores))
        if (d.enrolled) counts[d.state] = (counts[d.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(counts)) this.set({ compliance_state: state }, n);
    },
  });
  new Gauge({
    name: 'mdm_policy_settings',
    help: 'Device × setting records by delivery state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await stores.deviceSettings.countSettingsByState();
      for (const state of SETTING_STATES) this.set({ state }, counts[state]);
    },
  });
  new Gauge({
    name: 'mdm_apps',
    help: 'Device × app records by package kind and deployment state',
    labelNames: ['kind', 'state'],
    registers: [registry],
    async collect() {
      if (!stores.apps) return;
      const counts = await stores.apps.countAppsByState();
      for (const kind of ['msi', 'msix'])
        for (const state of APP_STATES)
          this.set({ kind, state }, counts.find((c) => c.kind === kind && c.state === state)?.count ?? 0);
    },
  });
  new Counter({
    name: 'mdm_checkins_total',
    help: 'OMA-DM sessions started by devices',
    registers: [registry],
    async collect() {
      const total = (await stores.checkIns.list()).reduce((n, c) => n + c.sessions, 0);
      this.reset();
      this.inc(total);
    },
  });
  const outcomes = new Counter({
    name: 'mdm_command_outcomes_total',
    help: 'Device answers to queued commands by origin, verb and status class, since this process started',
    labelNames: ['origin', 'verb', 'class'],
    registers: [registry],
  });
  const pushes = new Counter({
    name: 'mdm_pushes_total',
    help: 'WNS pushes by result (ok, gone, unauthorized, refused, network, …), sent by this process',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of PUSH_RESULTS) pushes.inc({ result }, 0);
  const pushToSession = new Histogram({
    name: 'mdm_push_to_session_seconds',
    help: 'Time from an accepted WNS push to the session the device opened next, by whether the device said the push started it (UserAgentOrigin 3: yes, other: no, none: not said)',
    labelNames: ['pushed'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  return {
    registry,
    push: {
      pushed: (result) => pushes.inc({ result }),
      sessionAfterPush: (seconds, pushed) =>
        pushToSession.observe({ pushed: pushed === undefined ? 'unknown' : pushed ? 'yes' : 'no' }, seconds),
    },
    dm: {
      commandOutcome: (origin, verb, statusClass) => outcomes.inc({ origin, verb, class: statusClass }),
    },
    httpRequest: (family, method, status, seconds) =>
      http.observe({ family, method, class: `${Math.floor(status / 100)}xx` }, seconds),
    dmExchange: (seconds) => exchange.observe(seconds),
    enrollment: (result) => enrollments.inc({ result }),
  };
}
