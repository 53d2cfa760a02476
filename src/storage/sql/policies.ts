// Stored policy versions and folder revisions (tables: policy_versions, policy_heads,
// policy_revisions).
import type {
  PolicyChange,
  PolicyHead,
  PolicyRevision,
  PolicySetInput,
  PolicyStore,
  PolicyVersion,
  SideFile,
  StoredPolicySet,
} from '../policies.js';
import type { SqlClient, SqlExecutor } from './client.js';

interface VersionRow {
  name: string;
  version: number;
  hash: string;
  file: string;
  body: string;
  created_at: string;
}

interface RevisionRow {
  revision: number;
  hash: string;
  config: string;
  created_at: string;
}

/** Every column but the stored folder files (read on their own, by `revisionFiles`). */
const REVISION_COLUMNS = 'revision, hash, config, summary, created_at';

interface FullRevisionRow extends RevisionRow {
  summary: string;
}

const toRevision = (r: FullRevisionRow): PolicyRevision => ({
  revision: Number(r.revision),
  hash: r.hash,
  config: JSON.parse(r.config) as unknown,
  summary: JSON.parse(r.summary) as unknown,
  createdAt: r.created_at,
});

const toVersion = (r: VersionRow): PolicyVersion => ({
  name: r.name,
  version: r.version,
  hash: r.hash,
  file: r.file,
  body: JSON.parse(r.body) as unknown,
  createdAt: r.created_at,
});

const latestRevision = (c: SqlClient) =>
  c.get<RevisionRow>(
    'SELECT revision, hash, config, created_at FROM policy_revisions ORDER BY revision DESC LIMIT 1',
  );

export function sqlPolicyStore(db: SqlExecutor): PolicyStore {
  return {
    currentRevision: () =>
      db.read(async (c) => {
        const row = await c.get<{ revision: number | null }>(
          'SELECT MAX(revision) AS revision FROM policy_revisions',
        );
        return Number(row?.revision ?? 0);
      }),
    applyPolicySet: (set: PolicySetInput, at: string) =>
      db.write(async (c) => {
        // One apply at a time across server instances (SQLite writes are serial already).
        if (c.dialect === 'postgres') await c.run('LOCK TABLE policy_revisions IN EXCLUSIVE MODE');
        const current = await latestRevision(c);
        if (current && current.hash === set.hash) {
          return { revision: Number(current.revision), created: false, changes: [] };
        }
        const heads = await c.all<{ name: string; version: number; active: number }>(
          'SELECT name, version, active FROM policy_heads',
        );
        const existing = new Map(heads.map((h) => [h.name, h]));
        const changes: PolicyChange[] = [];
        const upsertHead = (name: string, version: number, active: number) =>
          c.run(
            `INSERT INTO policy_heads (name, version, active, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, active = excluded.active,
               updated_at = excluded.updated_at`,
            [name, version, active, at],
          );
        for (const p of set.policies) {
          const head = existing.get(p.name);
          existing.delete(p.name);
          const headRow = head
            ? await c.get<{ hash: string }>(
                'SELECT hash FROM policy_versions WHERE name = ? AND version = ?',
                [p.name, head.version],
              )
            : undefined;
          if (head && head.active === 1 && headRow?.hash === p.hash) continue;
          if (head && headRow?.hash === p.hash) {
            await upsertHead(p.name, head.version, 1);
            changes.push({ name: p.name, change: 'added', version: head.version });
            continue;
          }
          const version = (head?.version ?? 0) + 1;
          await c.run(
            'INSERT INTO policy_versions (name, version, hash, file, body, created_at) VALUES (?, ?, ?, ?, ?, ?)',
            [p.name, version, p.hash, p.file, JSON.stringify(p.body), at],
          );
          await upsertHead(p.name, version, 1);
          changes.push({ name: p.name, change: head?.active === 1 ? 'changed' : 'added', version });
        }
        for (const head of existing.values()) {
          if (head.active === 0) continue;
          await upsertHead(head.name, head.version, 0);
          changes.push({ name: head.name, change: 'removed', version: head.version });
        }
        const row = await c.get<{ revision: number }>(
          'INSERT INTO policy_revisions (hash, config, summary, created_at, files, side_files) VALUES (?, ?, ?, ?, ?, ?) RETURNING revision',
          [
            set.hash,
            JSON.stringify(set.config),
            JSON.stringify(set.summary),
            at,
            set.files === undefined ? null : JSON.stringify(set.files),
            set.sideFiles === undefined ? null : JSON.stringify(set.sideFiles),
          ],
        );
        return { revision: Number(row!.revision), created: true, changes };
      }),
    currentPolicySet: () =>
      db.read(async (c): Promise<StoredPolicySet> => {
        const rev = await latestRevision(c);
        const active = await c.all<VersionRow>(
          `SELECT v.* FROM policy_heads h JOIN policy_versions v ON v.name = h.name AND v.version = h.version
            WHERE h.active = 1 ORDER BY h.name`,
        );
        return {
          revision: Number(rev?.revision ?? 0),
          hash: rev?.hash ?? null,
          policies: active.map(toVersion),
          config: rev ? (JSON.parse(rev.config) as unknown) : null,
          appliedAt: rev?.created_at ?? null,
        };
      }),
    policyVersions: (name) =>
      db.read(async (c) =>
        (
          await c.all<VersionRow>('SELECT * FROM policy_versions WHERE name = ? ORDER BY version', [name])
        ).map(toVersion),
      ),
    listPolicyHeads: () =>
      db.read(async (c) =>
        (
          await c.all<{ name: string; version: number; active: number; updated_at: string }>(
            'SELECT name, version, active, updated_at FROM policy_heads ORDER BY name',
          )
        ).map(
          (r): PolicyHead => ({
            name: r.name,
            version: Number(r.version),
            active: Number(r.active) === 1,
            updatedAt: r.updated_at,
          }),
        ),
      ),
    listRevisions: () =>
      db.read(async (c) =>
        (
          await c.all<FullRevisionRow>(
            `SELECT ${REVISION_COLUMNS} FROM policy_revisions ORDER BY revision DESC`,
          )
        ).map(toRevision),
      ),
    getRevision: (revision) =>
      db.read(async (c) => {
        const row = await c.get<FullRevisionRow>(
          `SELECT ${REVISION_COLUMNS} FROM policy_revisions WHERE revision = ?`,
          [revision],
        );
        return row && toRevision(row);
      }),
    revisionFiles: (revision) =>
      db.read(async (c) => {
        const row = await c.get<{ files: string | null }>(
          'SELECT files FROM policy_revisions WHERE revision = ?',
          [revision],
        );
        return row?.files ? (JSON.parse(row.files) as Record<string, string>) : undefined;
      }),
    revisionSideFiles: (revision) =>
      db.read(async (c) => {
        const row = await c.get<{ side_files: string | null }>(
          'SELECT side_files FROM policy_revisions WHERE revision = ?',
          [revision],
        );
        return row?.side_files ? (JSON.parse(row.side_files) as Record<string, SideFile>) : {};
      }),
  };
}
