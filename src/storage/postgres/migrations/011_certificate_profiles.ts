// Certificate profile state per device × profile (README "Certificate profiles over SCEP"): what
// policy delivery did with a SCEP profile's ClientCertificateInstall nodes on a device
// (https://learn.microsoft.com/en-us/windows/client-management/mdm/clientcertificateinstall-csp).
import type { Migration } from '../../sql/migration.js';

export const migration011: Migration = {
  version: 11,
  name: 'certificate_profiles',
  sql: `
CREATE TABLE device_certificate_profiles (
  device_id            TEXT NOT NULL,
  profile              TEXT NOT NULL,
  policy               TEXT,
  root                 TEXT NOT NULL,
  state                TEXT NOT NULL CHECK (state IN ('pending', 'requested', 'issued', 'installed', 'failed', 'renewing', 'revoked')),
  subject              TEXT,
  san                  TEXT NOT NULL,
  challenge_expires_at TEXT,
  attempts             BIGINT NOT NULL,
  serial               TEXT,
  thumbprint           TEXT,
  not_before           TEXT,
  not_after            TEXT,
  installed_thumbprint TEXT,
  csp_status           BIGINT,
  error_code           BIGINT,
  status_code          BIGINT,
  reason               TEXT,
  next_retry_at        TEXT,
  requested_at         TEXT,
  issued_at            TEXT,
  installed_at         TEXT,
  updated_at           TEXT NOT NULL,
  PRIMARY KEY (device_id, profile)
);
CREATE INDEX device_certificate_profiles_state ON device_certificate_profiles (state);
`,
};
