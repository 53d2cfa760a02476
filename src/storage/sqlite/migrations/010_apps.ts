import type { Migration } from '../../sql/migration.js';

/** Application deployment (docs/apps.md): hosted packages and per device × app state. */
export const migration010: Migration = {
  version: 10,
  name: 'apps',
  sql: `

CREATE TABLE app_content (
  sha256     TEXT PRIMARY KEY,
  size       INTEGER NOT NULL,
  bytes      BLOB NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE device_apps (
  device_id         TEXT NOT NULL,
  app_key           TEXT NOT NULL,
  kind              TEXT NOT NULL,
  state             TEXT NOT NULL,
  policy            TEXT,
  name              TEXT NOT NULL,
  app_id            TEXT NOT NULL,
  desired_version   TEXT,
  plan              TEXT,
  installed_id      TEXT,
  installed_version TEXT,
  csp_status        INTEGER,
  status_code       INTEGER,
  last_error        TEXT,
  last_error_desc   TEXT,
  reason            TEXT,
  attempts          INTEGER NOT NULL,
  next_retry_at     TEXT,
  sent_at           TEXT,
  installed_at      TEXT,
  updated_at        TEXT NOT NULL,
  PRIMARY KEY (device_id, app_key)
) STRICT;
CREATE INDEX device_apps_state ON device_apps (state);
CREATE INDEX device_apps_policy ON device_apps (policy);

`,
};
