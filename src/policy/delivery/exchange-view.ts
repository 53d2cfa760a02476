// One OMA-DM exchange's view of the policy records of its device: every record is read at most once
// per exchange, however many outcomes need it, and every change is written once at the end
// (`flush`, one multi-row statement per table). Reads after a change see the change. Built over the
// exchange's transaction, so nothing leaves it: the `setting.state_changed` and `compliance.changed`
// webhook events (docs/api.md "Webhooks") are written by `flush` with the changes they report.
import type { WebhookEventType } from '../../config.js';
import type { ComplianceStore, DeviceComplianceRecord, ReportedFact } from '../../storage/compliance.js';
import type { DeviceSettingRecord } from '../../storage/device-settings.js';
import type { DeliveryStores } from './settings.js';

/** Writes one webhook event in the exchange's transaction. */
export type EmitEvent = (
  type: Extract<WebhookEventType, 'setting.state_changed' | 'compliance.changed'>,
  data: Record<string, unknown>,
) => Promise<void>;

export interface ExchangeView extends DeliveryStores {
  /** Writes every changed record (settings, facts, compliance) once. */
  flush(): Promise<void>;
}

/** Memoises one async read per key. */
function memo<K, V>(
  read: (key: K) => Promise<V>,
): { get(key: K): Promise<V>; peek(key: K): V | undefined; set(key: K, v: V): void } {
  const values = new Map<K, Promise<V>>();
  const settled = new Map<K, V>();
  return {
    get(key) {
      let p = values.get(key);
      if (!p) {
        p = read(key).then((v) => {
          if (!settled.has(key)) settled.set(key, v);
          return settled.get(key)!;
        });
        values.set(key, p);
      }
      return p;
    },
    peek: (key) => settled.get(key),
    set(key, v) {
      settled.set(key, v);
      values.set(key, Promise.resolve(v));
    },
  };
}

export function exchangeView(tx: DeliveryStores, policyRevision: number, emit?: EmitEvent): ExchangeView {
  const settings = memo((deviceId: string) =>
    tx.deviceSettings.listDeviceSettings(deviceId).then((list) => new Map(list.map((r) => [r.path, r]))),
  );
  const facts = memo((deviceId: string) =>
    tx.compliance.getFacts(deviceId).then((list) => new Map(list.map((f) => [f.path, f]))),
  );
  const compliance = memo((deviceId: string) => tx.compliance.getCompliance(deviceId));
  const devices = memo((deviceId: string) => tx.devices.getDevice(deviceId));
  const inventory = memo((deviceId: string) => tx.inventory.list(deviceId));
  const checkIns = memo((deviceId: string) => tx.checkIns.get(deviceId));

  const dirtySettings = new Map<string, DeviceSettingRecord>();
  const dirtyFacts = new Map<string, Map<string, ReportedFact>>();
  const dirtyCompliance = new Map<string, DeviceComplianceRecord>();
  // State of each changed record as the exchange found it (null: no record yet), for the events.
  const settingStateBefore = new Map<string, string | null>();
  const complianceStateBefore = new Map<string, string | null>();
  const sortedFacts = (m: Map<string, ReportedFact>) =>
    [...m.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const complianceStore: Pick<
    ComplianceStore,
    'getFacts' | 'recordFacts' | 'getCompliance' | 'saveCompliance'
  > = {
    async getFacts(deviceId) {
      return sortedFacts(await facts.get(deviceId));
    },
    async recordFacts(deviceId, list) {
      const current = await facts.get(deviceId);
      const dirty = dirtyFacts.get(deviceId) ?? new Map<string, ReportedFact>();
      for (const f of list) {
        current.set(f.path, f);
        dirty.set(f.path, f);
      }
      dirtyFacts.set(deviceId, dirty);
    },
    getCompliance: (deviceId) => compliance.get(deviceId),
    async saveCompliance(record) {
      if (emit && !complianceStateBefore.has(record.deviceId))
        complianceStateBefore.set(record.deviceId, (await compliance.get(record.deviceId))?.state ?? null);
      compliance.set(record.deviceId, record);
      dirtyCompliance.set(record.deviceId, record);
    },
  };

  return {
    policies: {
      currentRevision: async () => policyRevision,
      currentPolicySet: () => tx.policies.currentPolicySet(),
    },
    deviceSettings: {
      async listDeviceSettings(deviceId) {
        return [...(await settings.get(deviceId)).values()].sort((a, b) =>
          a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
        );
      },
      async getDeviceSetting(deviceId, path) {
        return (await settings.get(deviceId)).get(path);
      },
      async saveDeviceSettings(records) {
        for (const r of records) {
          const current = await settings.get(r.deviceId);
          const key = `${r.deviceId}\n${r.path}`;
          if (emit && !settingStateBefore.has(key))
            settingStateBefore.set(key, current.get(r.path)?.state ?? null);
          current.set(r.path, r);
          dirtySettings.set(key, r);
        }
      },
    },
    compliance: complianceStore,
    devices: { getDevice: (id) => devices.get(id), listDevices: (o) => tx.devices.listDevices(o) },
    inventory: { list: (id) => inventory.get(id) },
    checkIns: { get: (id) => checkIns.get(id) },
    ...(tx.commands && { commands: tx.commands }),
    ...(tx.apps && { apps: tx.apps }),
    ...(tx.webhooks && { webhooks: tx.webhooks }),
    ...(tx.scep && { scep: tx.scep }),
    ...(tx.audit && { audit: tx.audit }),
    async flush() {
      if (dirtySettings.size > 0) await tx.deviceSettings.saveDeviceSettings([...dirtySettings.values()]);
      for (const [deviceId, list] of dirtyFacts)
        await tx.compliance.recordFacts(deviceId, [...list.values()]);
      for (const record of dirtyCompliance.values()) await tx.compliance.saveCompliance(record);
      if (emit) await emitChanges(emit);
      dirtySettings.clear();
      dirtyFacts.clear();
      dirtyCompliance.clear();
      settingStateBefore.clear();
      complianceStateBefore.clear();
    },
  };

  async function emitChanges(emit: EmitEvent): Promise<void> {
    for (const [key, r] of dirtySettings) {
      const from = settingStateBefore.get(key) ?? null;
      if (from === r.state) continue;
      await emit('setting.state_changed', {
        deviceId: r.deviceId,
        path: r.path,
        policy: r.policy,
        from,
        to: r.state,
        statusCode: r.statusCode,
        reason: r.reason,
      });
    }
    for (const r of dirtyCompliance.values()) {
      const from = complianceStateBefore.get(r.deviceId) ?? null;
      if (from === r.state) continue;
      await emit('compliance.changed', { deviceId: r.deviceId, from, to: r.state, reasons: r.reasons });
    }
  }
}
