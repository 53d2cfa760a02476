// Revocation of certificates issued over SCEP (RFC 8894), shared by `mdm certificates revoke` and
// the admin API: the certificate is marked revoked (it appears on the CRL) and the change audited.
import type { Storage } from '../storage/index.js';
import type { ScepCertificateRecord } from '../storage/scep.js';

export type RevokeResult =
  | { readonly outcome: 'revoked'; readonly certificate: ScepCertificateRecord }
  | { readonly outcome: 'unknown' }
  | { readonly outcome: 'already-revoked'; readonly certificate: ScepCertificateRecord };

export async function revokeCertificate(
  storage: Storage,
  r: { readonly serial: string; readonly reason: string; readonly actor: string; readonly at?: Date },
): Promise<RevokeResult> {
  const existing = await storage.scep.findCertificate(r.serial);
  if (!existing) return { outcome: 'unknown' };
  const revoked = await storage.transaction(async (tx) => {
    if (!(await tx.scep.revokeCertificate(r.serial, (r.at ?? new Date()).toISOString(), r.reason)))
      return false;
    await tx.audit.record({
      actor: r.actor,
      action: 'certificates.revoke',
      deviceId: existing.deviceId,
      details: { serial: existing.serial, profile: existing.profile, reason: r.reason },
    });
    return true;
  });
  if (!revoked) return { outcome: 'already-revoked', certificate: existing };
  return { outcome: 'revoked', certificate: (await storage.scep.findCertificate(r.serial))! };
}
