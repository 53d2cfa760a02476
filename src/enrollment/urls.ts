// Endpoint paths of enrollment and management (docs/protocol-notes.md#enrollment-flow). Discovery's path is
// fixed by Windows; the others are ours and are handed out with the public base URL.
import { type Config, publicBase } from '../config.js';

export const ENROLLMENT_PATHS = {
  discovery: '/EnrollmentServer/Discovery.svc',
  policy: '/EnrollmentServer/Policy.svc',
  enrollment: '/EnrollmentServer/Enrollment.svc',
  auth: '/EnrollmentServer/Auth',
  management: '/ManagementServer/MDM.svc',
} as const;

export type EnrollmentUrls = { readonly [K in keyof typeof ENROLLMENT_PATHS]: string };

/** Absolute URLs built from `publicUrl`. */
export function enrollmentUrls(config: Config): EnrollmentUrls {
  const base = publicBase(config);
  const out = {} as Record<keyof typeof ENROLLMENT_PATHS, string>;
  for (const [key, path] of Object.entries(ENROLLMENT_PATHS))
    out[key as keyof typeof ENROLLMENT_PATHS] = base + path;
  return out;
}
