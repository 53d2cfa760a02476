// `/metrics` in the Prometheus text format (prom-client). Device, setting and check-in figures are
// read from the database at scrape time, so every server instance reports the same numbers; what
// happens inside a process (command outcomes it recorded) is counted in that process, the way
// Prometheus sums counters over instances.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { COMPLIANCE_STATES } from '../storage/compliance.js';
import { SETTING_STATES } from '../storage/device-settings.js';
import { PUSH_RESULTS, type PushResult } from '../storage/push.js';
import type { ReportStores } from './compliance.js';
import { complianceReport } from './compliance.js';

/** What the session engine reports as it runs (src/dm/session.ts `DmMetrics`). */
export interface DmMetricsSink {
  commandOutcome(origin: string, verb: string, statusClass: '2xx' | '4xx' | '5xx' | 'none'): void;
}

/** What the push service reports (src/push/service.ts `PushMetrics`). */
export interface PushMetricsSink {
  pushed(result: PushResult): void;
  sessionAfterPush(seconds: number, pushed: boolean | undefined): void;
}

export interface ServerMetrics {
  readonly registry: Registry;
  readonly dm: DmMetricsSink;
  readonly push: PushMetricsSink;
}

export function createServerMetrics(stores: ReportStores): ServerMetrics {
  const registry = new Registry();
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
  };
}
