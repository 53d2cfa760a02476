// Compliance facts and evaluated compliance per device (tables: compliance_facts, device_compliance).
import type {
  ComplianceState,
  ComplianceStore,
  DeviceComplianceRecord,
  ReportedFact,
} from '../compliance.js';
import type { SqlExecutor } from './client.js';

interface ComplianceRow {
  device_id: string;
  state: string;
  reasons: string;
  failing_since: string | null;
  grace_ends_at: string | null;
  actions_done: string;
  evaluated_at: string;
  facts_requested_at: string | null;
}

const toCompliance = (r: ComplianceRow): DeviceComplianceRecord => ({
  deviceId: r.device_id,
  state: r.state as ComplianceState,
  reasons: JSON.parse(r.reasons) as string[],
  failingSince: r.failing_since,
  graceEndsAt: r.grace_ends_at,
  actionsDone: JSON.parse(r.actions_done) as string[],
  evaluatedAt: r.evaluated_at,
  factsRequestedAt: r.facts_requested_at,
});

export function sqlComplianceStore(db: SqlExecutor): ComplianceStore {
  return {
    recordFacts: (deviceId, list: readonly ReportedFact[]) =>
      db.write(async (c) => {
        const facts = [...new Map(list.map((f) => [f.path, f])).values()];
        if (facts.length === 0) return;
        await c.run(
          `INSERT INTO compliance_facts (device_id, path, value, status_code, reported_at)
           VALUES ${facts.map(() => '(?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (device_id, path) DO UPDATE SET value = excluded.value,
             status_code = excluded.status_code, reported_at = excluded.reported_at`,
          facts.flatMap((f) => [deviceId, f.path, f.value, f.statusCode, f.reportedAt]),
        );
      }),
    getFacts: (deviceId) =>
      db.read(async (c) => {
        const rows = await c.all<{
          path: string;
          value: string | null;
          status_code: number;
          reported_at: string;
        }>(
          'SELECT path, value, status_code, reported_at FROM compliance_facts WHERE device_id = ? ORDER BY path',
          [deviceId],
        );
        return rows.map((r) => ({
          path: r.path,
          value: r.value,
          statusCode: r.status_code,
          reportedAt: r.reported_at,
        }));
      }),
    saveCompliance: (r) =>
      db.write(async (c) => {
        await c.run(
          `INSERT INTO device_compliance (device_id, state, reasons, failing_since, grace_ends_at, actions_done,
             evaluated_at, facts_requested_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, reasons = excluded.reasons,
             failing_since = excluded.failing_since, grace_ends_at = excluded.grace_ends_at,
             actions_done = excluded.actions_done, evaluated_at = excluded.evaluated_at,
             facts_requested_at = excluded.facts_requested_at`,
          [
            r.deviceId,
            r.state,
            JSON.stringify(r.reasons),
            r.failingSince,
            r.graceEndsAt,
            JSON.stringify(r.actionsDone),
            r.evaluatedAt,
            r.factsRequestedAt,
          ],
        );
      }),
    getCompliance: (deviceId) =>
      db.read(async (c) => {
        const row = await c.get<ComplianceRow>('SELECT * FROM device_compliance WHERE device_id = ?', [
          deviceId,
        ]);
        return row && toCompliance(row);
      }),
    listCompliance: () =>
      db.read(async (c) =>
        (await c.all<ComplianceRow>('SELECT * FROM device_compliance ORDER BY device_id')).map(toCompliance),
      ),
  };
}
