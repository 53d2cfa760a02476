// Device authentication for every OMA-DM message, never by the body's DeviceID alone (MS-MDM 2.2.4,
// MS-MDE2 3.1.4: the device certificate names the DeviceID; OMA-DM 1.2 DM Security §5: DIGEST):
//   1. a TLS client certificate, verified against the enrollment CA by the HTTP layer once per TLS
//      connection, or forwarded by a trusted TLS-terminating proxy (accepted only when it is byte
//      for byte a certificate this server issued and recorded, inside its validity period); here:
//      known, not revoked, live enrollment, and bound to the DeviceID in SyncHdr/Source/LocURI.
//      Checked on every message;
//   2. otherwise OMA-DM DIGEST (syncml:auth-md5) with the device's APPSRV credentials: 407 + Chal
//      when missing, 401 + Chal when wrong, 212 + Chal (next nonce) on success. Every challenge and
//      every checked Cred issues a fresh nonce (`chal`), which the caller stores, so a replayed Cred
//      never verifies twice. After 212 a message without Cred continues the session only when it
//      was posted to the session's RespURI (its token matches; session-token.ts).
// Pure: the records come from the exchange's one snapshot read (`identityLookup` says which).
import { randomBytes } from 'node:crypto';
import { AUTH_TYPE, STATUS } from '../codec/syncml/codes.js';
import { verifyMd5Digest } from '../codec/syncml/digest.js';
import type { SyncMlChal, SyncMlHeader } from '../codec/syncml/types.js';
import { CERTIFICATE_REJECTIONS, validityProblem } from '../pki/verify.js';
import { certificateStatusAccepted } from '../storage/certificates.js';
import type { DigestCredentials } from '../storage/devices.js';
import type { IdentityLookup, PresentedCertificateRecord } from '../storage/dm-sessions.js';
import { sessionTokenMatches } from './session-token.js';
import type { AuthDecision, SessionState } from './types.js';

/** What the HTTP layer learned from TLS about the client. */
export type PresentedIdentity =
  | {
      /** A TLS client certificate the HTTP layer verified against the enrollment CA. */
      readonly kind: 'certificate';
      /** Subject CN (chain, dates and EKU checked). */
      readonly deviceId: string;
      /** Upper-case hex serial. */
      readonly serial: string;
    }
  | {
      /** A certificate a trusted proxy forwarded, not verified: it must be one this server recorded. */
      readonly kind: 'forwarded-certificate';
      readonly der: Buffer;
      /** Upper-case hex SHA-1 of `der`. */
      readonly thumbprint: string;
    }
  /** A certificate was presented but failed verification against the enrollment CA. */
  | { readonly kind: 'rejected-certificate'; readonly reason: string }
  | { readonly kind: 'none' };

/** A refusal without a challenge: the device is unknown, unenrolled or presented another device's cert. */
export interface AuthRefusal {
  readonly ok: false;
  readonly hdrStatus: 403;
  readonly reason: string;
  readonly chal?: undefined;
}

export type AuthResult = AuthDecision | AuthRefusal;

/** Which record the exchange's snapshot must read to authenticate this identity. */
export function identityLookup(identity: PresentedIdentity): IdentityLookup | undefined {
  switch (identity.kind) {
    case 'certificate':
      return { certificateSerial: identity.serial };
    case 'forwarded-certificate':
      return { certificateThumbprint: identity.thumbprint };
    case 'none':
      return { digest: true };
    default:
      return undefined;
  }
}

export function newNonceChal(nonce: Buffer = randomBytes(16)): SyncMlChal {
  return { type: AUTH_TYPE.MD5, format: 'b64', nextNonce: nonce.toString('base64') };
}

export interface AuthInput {
  readonly header: SyncMlHeader;
  readonly identity: PresentedIdentity;
  /** The snapshot's record of the presented certificate (certificate identities). */
  readonly certificate?: PresentedCertificateRecord;
  /** The snapshot's DIGEST credentials of the device's live enrollment (no certificate). */
  readonly digest?: DigestCredentials;
  /**
   * The device's active session with this SessionID: a session that passed DIGEST with 212 needs
   * no Cred again (MS-MDM 2.2.4) when `sessionToken`, from the request URL, is the one its last
   * RespURI carried.
   */
  readonly session?: SessionState;
  readonly opening: boolean;
  readonly sessionToken?: string;
  readonly now: Date;
}

/** Decide whether the message's sender is the device it names. */
export function authenticate(input: AuthInput): AuthResult {
  const { header, identity } = input;
  const deviceId = header.source;
  const refuse = (reason: string): AuthRefusal => ({ ok: false, hdrStatus: STATUS.FORBIDDEN, reason });
  if (identity.kind === 'rejected-certificate') return refuse(identity.reason);
  if (identity.kind === 'certificate' || identity.kind === 'forwarded-certificate') {
    const record = input.certificate;
    if (identity.kind === 'certificate' && identity.deviceId !== deviceId)
      return refuse(`certificate of ${identity.deviceId} used for ${deviceId}`);
    if (identity.kind === 'forwarded-certificate') {
      if (!record?.der.equals(identity.der))
        return refuse(`client certificate rejected: ${CERTIFICATE_REJECTIONS.untrusted}`);
      const outside = validityProblem(Date.parse(record.notBefore), Date.parse(record.notAfter), input.now);
      if (outside) return refuse(`client certificate rejected: ${CERTIFICATE_REJECTIONS[outside]}`);
      if (record.deviceId !== deviceId)
        return refuse(`certificate of ${record.deviceId} used for ${deviceId}`);
    }
    if (!record || record.deviceId !== deviceId) return refuse('certificate not issued to this device');
    if (!certificateStatusAccepted(record.status)) return refuse(`certificate ${record.status}`);
    if (!record.enrollmentActive) return refuse('device is not enrolled');
    return { ok: true, method: 'certificate', hdrStatus: STATUS.OK };
  }
  const creds = input.digest;
  if (!creds) return refuse('unknown or unenrolled device');
  const session = input.session;
  const cred = header.cred;
  const continuing =
    !cred && !input.opening && session?.authMethod === 'digest' && session.status === 'active';
  if (continuing && sessionTokenMatches(input.sessionToken, session.respTokenHash)) {
    return { ok: true, method: 'digest', hdrStatus: STATUS.OK };
  }
  const chal = newNonceChal();
  // A continuing message with a token that is not this session's is a wrong credential (401).
  if (!cred) {
    const hdrStatus =
      continuing && input.sessionToken !== undefined
        ? STATUS.INVALID_CREDENTIALS
        : STATUS.MISSING_CREDENTIALS;
    return { ok: false, hdrStatus, chal };
  }
  const nonce = Buffer.from(creds.appSrv.nonce, 'base64');
  const valid =
    cred.type === AUTH_TYPE.MD5 &&
    (header.sourceName === undefined || header.sourceName === creds.appSrv.name) &&
    verifyMd5Digest(cred.data, creds.appSrv.name, creds.appSrv.secret, nonce);
  if (!valid) return { ok: false, hdrStatus: STATUS.INVALID_CREDENTIALS, chal };
  return {
    ok: true,
    method: 'digest',
    hdrStatus: STATUS.AUTH_ACCEPTED,
    chal,
    spentNonce: creds.appSrv.nonce,
  };
}
