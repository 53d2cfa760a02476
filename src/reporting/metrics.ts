// `/metrics` in the Prometheus text format (prom-client). Every value is read from the database at
// scrape time, so any server instance reports the same numbers.
import { Counter, Gauge, Registry } from 'prom-client';
import { COMPLIANCE_STATES } from '../storage/compliance.js';
import { SETTING_STATES } from '../storage/device-settings.js';
import type { ReportStores } from './compliance.js';
import { complianceReport } from './compliance.js';

export function createMetricsRegistry(stores: ReportStores): Registry {
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
  new Counter({
    name: 'mdm_command_outcomes_total',
    help: 'Device answers to queued commands by origin, verb and status class (none = never acknowledged)',
    labelNames: ['origin', 'verb', 'class'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const o of await stores.compliance.listOutcomeCounts()) {
        this.inc({ origin: o.origin, verb: o.verb, class: o.class }, o.count);
      }
    },
  });
  return registry;
}
