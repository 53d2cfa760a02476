// SQLite implementation of `PolicyStore` (tables from migration 003).
import type {
  PolicyChange,
  PolicySetInput,
  PolicyStore,
  PolicyVersion,
  StoredPolicySet,
} from '../policies.js';
import type { SqliteDb } from './database.js';

interface VersionRow {
  name: string;
  version: number;
  hash: string;
  file: string;
  body: string;
  created_at: string;
}

const toVersion = (r: VersionRow): PolicyVersion => ({
  name: r.name,
  version: r.version,
  hash: r.hash,
  file: r.file,
  body: JSON.parse(r.body) as unknown,
  createdAt: r.created_at,
});

export function createSqlitePolicyStore(db: SqliteDb): PolicyStore {
  const latestRevision = db.prepare<
    [],
    { revision: number; hash: string; config: string; created_at: string }
  >('SELECT revision, hash, config, created_at FROM policy_revisions ORDER BY revision DESC LIMIT 1');
  const heads = db.prepare<[], { name: string; version: number; active: number }>(
    'SELECT name, version, active FROM policy_heads',
  );
  const versionOf = db.prepare<[string, number], VersionRow>(
    'SELECT * FROM policy_versions WHERE name = ? AND version = ?',
  );
  const insertVersion = db.prepare(
    'INSERT INTO policy_versions (name, version, hash, file, body, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const upsertHead = db.prepare(
    `INSERT INTO policy_heads (name, version, active, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, active = excluded.active,
       updated_at = excluded.updated_at`,
  );
  const insertRevision = db.prepare(
    'INSERT INTO policy_revisions (hash, config, summary, created_at) VALUES (?, ?, ?, ?)',
  );
  const activeVersions = db.prepare<[], VersionRow>(
    `SELECT v.* FROM policy_heads h JOIN policy_versions v ON v.name = h.name AND v.version = h.version
      WHERE h.active = 1 ORDER BY h.name`,
  );
  const allVersions = db.prepare<[string], VersionRow>(
    'SELECT * FROM policy_versions WHERE name = ? ORDER BY version',
  );

  const apply = db.transaction((set: PolicySetInput, at: string) => {
    const current = latestRevision.get();
    if (current && current.hash === set.hash)
      return { revision: current.revision, created: false, changes: [] };
    const existing = new Map(heads.all().map((h) => [h.name, h]));
    const changes: PolicyChange[] = [];
    for (const p of set.policies) {
      const head = existing.get(p.name);
      existing.delete(p.name);
      const headRow = head ? versionOf.get(p.name, head.version) : undefined;
      if (head && head.active === 1 && headRow?.hash === p.hash) continue;
      if (head && headRow?.hash === p.hash) {
        upsertHead.run(p.name, head.version, 1, at);
        changes.push({ name: p.name, change: 'added', version: head.version });
        continue;
      }
      const version = (head?.version ?? 0) + 1;
      insertVersion.run(p.name, version, p.hash, p.file, JSON.stringify(p.body), at);
      upsertHead.run(p.name, version, 1, at);
      changes.push({ name: p.name, change: head?.active === 1 ? 'changed' : 'added', version });
    }
    for (const head of existing.values()) {
      if (head.active === 0) continue;
      upsertHead.run(head.name, head.version, 0, at);
      changes.push({ name: head.name, change: 'removed', version: head.version });
    }
    const info = insertRevision.run(set.hash, JSON.stringify(set.config), JSON.stringify(set.summary), at);
    return { revision: Number(info.lastInsertRowid), created: true, changes };
  });

  const revisionOnly = db.prepare<[], { revision: number }>(
    'SELECT MAX(revision) AS revision FROM policy_revisions',
  );
  return {
    async currentRevision() {
      return revisionOnly.get()?.revision ?? 0;
    },
    async applyPolicySet(set, at) {
      return apply(set, at);
    },
    async currentPolicySet(): Promise<StoredPolicySet> {
      const rev = latestRevision.get();
      return {
        revision: rev?.revision ?? 0,
        hash: rev?.hash ?? null,
        policies: activeVersions.all().map(toVersion),
        config: rev ? (JSON.parse(rev.config) as unknown) : null,
        appliedAt: rev?.created_at ?? null,
      };
    },
    async policyVersions(name) {
      return allVersions.all(name).map(toVersion);
    },
  };
}
