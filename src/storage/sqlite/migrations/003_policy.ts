// Policy delivery and compliance: stored policy versions, the folder's assignment/compliance
// configuration, per device × setting delivery state, reported compliance facts, compliance
// results, admin API tokens, check-in and command-outcome counters for /metrics.
import type { Migration } from '../../sql/migration.js';

export const migration003: Migration = {
  version: 3,
  name: 'policy',
  sql: `
CREATE TABLE policy_versions (
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  hash       TEXT NOT NULL,
  file       TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (name, version)
) STRICT;

-- The current version of every policy; active = 0 once it left the folder.
CREATE TABLE policy_heads (
  name       TEXT PRIMARY KEY,
  version    INTEGER NOT NULL,
  active     INTEGER NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- Every successful apply of the folder (assignments, groups, compliance rules ride along).
CREATE TABLE policy_revisions (
  revision    INTEGER PRIMARY KEY,
  hash        TEXT NOT NULL,
  config      TEXT NOT NULL,
  summary     TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE device_settings (
  device_id       TEXT NOT NULL,
  path            TEXT NOT NULL,
  state           TEXT NOT NULL,
  policy          TEXT,
  desired_value   TEXT,
  format          TEXT NOT NULL,
  plan            TEXT,
  delivered_value TEXT,
  reported_value  TEXT,
  status_code     INTEGER,
  reason          TEXT,
  added           INTEGER NOT NULL,
  drift_retries   INTEGER NOT NULL,
  sent_at         TEXT,
  applied_at      TEXT,
  verified_at     TEXT,
  reported_at     TEXT,
  next_check_at   TEXT,
  updated_at      TEXT NOT NULL,
  PRIMARY KEY (device_id, path)
) STRICT;
CREATE INDEX device_settings_policy ON device_settings (policy);
CREATE INDEX device_settings_state ON device_settings (state);

CREATE TABLE compliance_facts (
  device_id   TEXT NOT NULL,
  path        TEXT NOT NULL,
  value       TEXT,
  status_code INTEGER NOT NULL,
  reported_at TEXT NOT NULL,
  PRIMARY KEY (device_id, path)
) STRICT;

CREATE TABLE device_compliance (
  device_id          TEXT PRIMARY KEY,
  state              TEXT NOT NULL,
  reasons            TEXT NOT NULL,
  failing_since      TEXT,
  grace_ends_at      TEXT,
  actions_done       TEXT NOT NULL,
  evaluated_at       TEXT NOT NULL,
  facts_requested_at TEXT
) STRICT;

CREATE TABLE device_checkins (
  device_id       TEXT PRIMARY KEY,
  count           INTEGER NOT NULL,
  last_at         TEXT NOT NULL,
  user_logged_on  INTEGER NOT NULL
) STRICT;

CREATE TABLE command_outcomes (
  origin TEXT NOT NULL,
  verb   TEXT NOT NULL,
  class  TEXT NOT NULL,
  count  INTEGER NOT NULL,
  PRIMARY KEY (origin, verb, class)
) STRICT;

CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
) STRICT;
`,
};
