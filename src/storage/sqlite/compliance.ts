// SQLite implementation of `ComplianceStore` (migration 003).
import type {
  CheckinRecord,
  ComplianceState,
  ComplianceStore,
  DeviceComplianceRecord,
  OutcomeClass,
  ReportedFact,
} from '../compliance.js';
import type { SqliteDb } from './database.js';

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

interface CheckinRow {
  device_id: string;
  count: number;
  last_at: string;
  user_logged_on: number;
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

const toCheckin = (r: CheckinRow): CheckinRecord => ({
  deviceId: r.device_id,
  count: r.count,
  lastAt: r.last_at,
  userLoggedOn: r.user_logged_on === 1,
});

export function createSqliteComplianceStore(db: SqliteDb): ComplianceStore {
  const upsertFact = db.prepare(
    `INSERT OR REPLACE INTO compliance_facts (device_id, path, value, status_code, reported_at)
     VALUES (?, ?, ?, ?, ?)`,
  );
  const facts = db.prepare<
    [string],
    { path: string; value: string | null; status_code: number; reported_at: string }
  >('SELECT path, value, status_code, reported_at FROM compliance_facts WHERE device_id = ? ORDER BY path');
  const upsertCompliance = db.prepare(
    `INSERT OR REPLACE INTO device_compliance (device_id, state, reasons, failing_since, grace_ends_at,
       actions_done, evaluated_at, facts_requested_at)
     VALUES (@deviceId, @state, @reasons, @failingSince, @graceEndsAt, @actionsDone, @evaluatedAt, @factsRequestedAt)`,
  );
  const oneCompliance = db.prepare<[string], ComplianceRow>(
    'SELECT * FROM device_compliance WHERE device_id = ?',
  );
  const allCompliance = db.prepare<[], ComplianceRow>('SELECT * FROM device_compliance ORDER BY device_id');
  const checkin = db.prepare(
    `INSERT INTO device_checkins (device_id, count, last_at, user_logged_on) VALUES (?, 1, ?, ?)
     ON CONFLICT (device_id) DO UPDATE SET count = count + 1, last_at = excluded.last_at,
       user_logged_on = excluded.user_logged_on`,
  );
  const oneCheckin = db.prepare<[string], CheckinRow>('SELECT * FROM device_checkins WHERE device_id = ?');
  const allCheckins = db.prepare<[], CheckinRow>('SELECT * FROM device_checkins ORDER BY device_id');
  const outcome = db.prepare(
    `INSERT INTO command_outcomes (origin, verb, class, count) VALUES (?, ?, ?, 1)
     ON CONFLICT (origin, verb, class) DO UPDATE SET count = count + 1`,
  );
  const outcomes = db.prepare<[], { origin: string; verb: string; class: string; count: number }>(
    'SELECT origin, verb, class, count FROM command_outcomes ORDER BY origin, verb, class',
  );
  const saveFacts = db.transaction((deviceId: string, list: readonly ReportedFact[]) => {
    for (const f of list) upsertFact.run(deviceId, f.path, f.value, f.statusCode, f.reportedAt);
  });

  return {
    async recordFacts(deviceId, list) {
      saveFacts(deviceId, list);
    },
    async getFacts(deviceId) {
      return facts.all(deviceId).map((r) => ({
        path: r.path,
        value: r.value,
        statusCode: r.status_code,
        reportedAt: r.reported_at,
      }));
    },
    async saveCompliance(record) {
      upsertCompliance.run({
        ...record,
        reasons: JSON.stringify(record.reasons),
        actionsDone: JSON.stringify(record.actionsDone),
      });
    },
    async getCompliance(deviceId) {
      const row = oneCompliance.get(deviceId);
      return row ? toCompliance(row) : undefined;
    },
    async listCompliance() {
      return allCompliance.all().map(toCompliance);
    },
    async recordCheckin(deviceId, at, userLoggedOn) {
      checkin.run(deviceId, at, userLoggedOn ? 1 : 0);
    },
    async getCheckin(deviceId) {
      const row = oneCheckin.get(deviceId);
      return row ? toCheckin(row) : undefined;
    },
    async listCheckins() {
      return allCheckins.all().map(toCheckin);
    },
    async countOutcome(origin, verb, cls) {
      outcome.run(origin, verb, cls);
    },
    async listOutcomeCounts() {
      return outcomes.all().map((r) => ({ ...r, class: r.class as OutcomeClass }));
    },
  };
}
