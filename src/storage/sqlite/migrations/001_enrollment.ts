// Users, devices, enrollments and device certificates (MS-MDE2 enrollment, docs/protocol-notes.md#request-security-token).
import type { Migration } from '../../sql/migration.js';

export const migration001: Migration = {
  version: 1,
  name: 'enrollment',
  sql: `
CREATE TABLE users (
  upn           TEXT PRIMARY KEY COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE devices (
  device_id   TEXT PRIMARY KEY,
  hw_dev_id   TEXT,
  name        TEXT,
  os_edition  TEXT,
  os_version  TEXT,
  device_type TEXT,
  locale      TEXT,
  macs        TEXT NOT NULL DEFAULT '[]',
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX devices_hw_dev_id ON devices (hw_dev_id);

CREATE TABLE enrollments (
  enrollment_id   TEXT PRIMARY KEY,
  device_id       TEXT NOT NULL REFERENCES devices (device_id),
  user_upn        TEXT NOT NULL,
  enrollment_type TEXT NOT NULL CHECK (enrollment_type IN ('Full', 'Device')),
  auth_policy     TEXT NOT NULL CHECK (auth_policy IN ('OnPremise', 'Federated')),
  provider_id     TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('active', 'ended')),
  end_reason      TEXT CHECK (end_reason IN ('replaced', 'unenrolled')),
  enrolled_at     TEXT NOT NULL,
  ended_at        TEXT,
  appsrv_name     TEXT NOT NULL,
  appsrv_secret   TEXT NOT NULL,
  appsrv_nonce    TEXT NOT NULL,
  client_secret   TEXT NOT NULL,
  client_nonce    TEXT NOT NULL
) STRICT;
CREATE INDEX enrollments_device ON enrollments (device_id, enrolled_at);
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (device_id) WHERE status = 'active';

CREATE TABLE certificates (
  serial        TEXT PRIMARY KEY,
  thumbprint    TEXT NOT NULL UNIQUE,
  device_id     TEXT NOT NULL REFERENCES devices (device_id),
  enrollment_id TEXT NOT NULL REFERENCES enrollments (enrollment_id),
  status        TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
  not_before    TEXT NOT NULL,
  not_after     TEXT NOT NULL,
  issued_at     TEXT NOT NULL,
  der           BLOB NOT NULL
) STRICT;
CREATE INDEX certificates_device ON certificates (device_id, issued_at);
`,
};
