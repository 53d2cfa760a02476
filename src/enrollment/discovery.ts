// Discovery (MS-MDE2 3.1): the auth policy and the enrollment version the server answers with.
import { EnrollmentFault } from '../codec/soap/faults.js';
import type { EnrollmentAuthPolicy } from '../storage/devices.js';
import type { EnrollmentContext } from './context.js';

/** EnrollmentVersion values this server answers with, highest first (docs/protocol-notes.md#discovery). */
export const SUPPORTED_ENROLLMENT_VERSIONS = ['5.0', '4.0'] as const;
const MIN_REQUEST_VERSION = 4;

/** The preferred policy when the device offers it, otherwise another enabled one it offers. */
export function chooseAuthPolicy(ctx: EnrollmentContext, offered: readonly string[]): EnrollmentAuthPolicy {
  const { config, enabled } = ctx;
  if (offered.includes(config.preferredAuthPolicy)) return config.preferredAuthPolicy;
  const other = enabled.find((p) => offered.includes(p));
  if (!other) {
    throw new EnrollmentFault(
      'Authorization',
      `none of the device's auth policies is enabled (${enabled.join(', ')})`,
      'NotSupported',
      { offered },
    );
  }
  return other;
}

/** The highest supported version not above the device's RequestVersion. */
export function chooseEnrollmentVersion(requested: string): string {
  const version = Number(requested);
  if (!Number.isFinite(version))
    throw new EnrollmentFault('MessageFormat', 'RequestVersion is not a number', undefined, { requested });
  if (version < MIN_REQUEST_VERSION) {
    throw new EnrollmentFault(
      'Authorization',
      'the enrollment protocol version is too old; Windows 10 1703 or later is required',
      'DeviceNotSupported',
      { requested },
    );
  }
  return SUPPORTED_ENROLLMENT_VERSIONS.find((v) => Number(v) <= version)!;
}
