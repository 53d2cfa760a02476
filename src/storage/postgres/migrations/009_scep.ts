// SCEP (RFC 8894): one-time challenges per device and certificate profile, and the certificates
// issued through the SCEP endpoint (docs: README "Certificate profiles over SCEP").
import type { Migration } from '../../sql/migration.js';

export const migration009: Migration = {
  version: 9,
  name: 'scep',
  sql: `
CREATE TABLE scep_challenges (
  challenge_hash TEXT PRIMARY KEY,
  device_id      TEXT NOT NULL,
  profile        TEXT NOT NULL,
  subject        TEXT NOT NULL,
  san            TEXT NOT NULL,
  issuance       TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  expires_at     TEXT NOT NULL,
  used_at        TEXT,
  serial         TEXT
);
CREATE INDEX scep_challenges_device ON scep_challenges (device_id, profile);

CREATE TABLE scep_certificates (
  serial            TEXT PRIMARY KEY,
  thumbprint        TEXT NOT NULL UNIQUE,
  device_id         TEXT NOT NULL,
  profile           TEXT NOT NULL,
  subject           TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('issued', 'superseded', 'revoked')),
  not_before        TEXT NOT NULL,
  not_after         TEXT NOT NULL,
  issued_at         TEXT NOT NULL,
  revoked_at        TEXT,
  revocation_reason TEXT,
  renewed_from      TEXT,
  der               BYTEA NOT NULL
);
CREATE INDEX scep_certificates_device ON scep_certificates (device_id, profile, issued_at);
`,
};
