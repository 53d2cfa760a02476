// Device authentication for every OMA-DM message, never by the body's DeviceID alone
// (protocol.md §7.1, §7.4, gotcha 36):
//   1. a TLS client certificate (from the socket, or from a trusted proxy header), already
//      chain-checked by the HTTP layer; here: known, not revoked, live enrollment, and bound to
//      the DeviceID in SyncHdr/Source/LocURI. Checked on every message;
//   2. otherwise OMA-DM DIGEST (syncml:auth-md5) with the device's APPSRV credentials: 407 + Chal
//      when missing, 401 + Chal when wrong, 212 + Chal (next nonce) on success. Every challenge and
//      every checked Cred issues a fresh nonce (`chal`), which the caller stores, so a replayed Cred
//      never verifies twice. After 212 a message without Cred continues the session only when it
//      was posted to the session's RespURI (its token matches; session-token.ts).
// This module only reads; session.ts persists the nonce (with the exchange, or alone for a refusal).
import { randomBytes } from 'node:crypto';
import { AUTH_TYPE, STATUS } from '../codec/syncml/codes.js';
import { verifyMd5Digest } from '../codec/syncml/digest.js';
import type { SyncMlChal, SyncMlHeader } from '../codec/syncml/types.js';
import { type CertificateStore, certificateStatusAccepted } from '../storage/certificates.js';
import type { DeviceStore } from '../storage/devices.js';
import { sessionTokenMatches } from './session-token.js';
import type { AuthDecision, SessionState } from './types.js';

/** What the HTTP layer learned from TLS about the client. */
export type PresentedIdentity =
  | {
      readonly kind: 'certificate';
      /** Subject CN of a certificate the enrollment CA issued (chain, dates and EKU checked). */
      readonly deviceId: string;
      /** Upper-case hex serial. */
      readonly serial: string;
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

export interface AuthStores {
  readonly devices: Pick<DeviceStore, 'getDevice' | 'getDigestCredentials'>;
  readonly certificates: Pick<CertificateStore, 'findBySerial'>;
}

export function newNonceChal(nonce: Buffer = randomBytes(16)): SyncMlChal {
  return { type: AUTH_TYPE.MD5, format: 'b64', nextNonce: nonce.toString('base64') };
}

/**
 * Decide whether the message's sender is the device it names. `session` is the device's active
 * session with this SessionID (a session that passed DIGEST with 212 needs no Cred again, §7.4,
 * when `sessionToken`, from the request URL, is the one its last RespURI carried).
 */
export async function authenticate(
  stores: AuthStores,
  header: SyncMlHeader,
  identity: PresentedIdentity,
  session: SessionState | undefined,
  opening: boolean,
  sessionToken?: string,
): Promise<AuthResult> {
  const deviceId = header.source;
  const refuse = (reason: string): AuthRefusal => ({ ok: false, hdrStatus: STATUS.FORBIDDEN, reason });
  if (identity.kind === 'rejected-certificate') return refuse(identity.reason);
  if (identity.kind === 'certificate') {
    if (identity.deviceId !== deviceId)
      return refuse(`certificate of ${identity.deviceId} used for ${deviceId}`);
    const record = await stores.certificates.findBySerial(identity.serial);
    if (!record || record.deviceId !== deviceId) return refuse('certificate not issued to this device');
    if (!certificateStatusAccepted(record.status)) return refuse(`certificate ${record.status}`);
    if (record.deviceStatus !== 'enrolled') return refuse('device is not enrolled');
    return { ok: true, method: 'certificate', hdrStatus: STATUS.OK };
  }
  const device = await stores.devices.getDevice(deviceId);
  if (device?.status !== 'enrolled') return refuse('unknown or unenrolled device');
  const cred = header.cred;
  const continuing = !cred && !opening && session?.authMethod === 'digest' && session.status === 'active';
  if (continuing && sessionTokenMatches(sessionToken, session.respTokenHash)) {
    return { ok: true, method: 'digest', hdrStatus: STATUS.OK };
  }
  const creds = await stores.devices.getDigestCredentials(deviceId);
  if (!creds) return refuse('device has no DIGEST credentials');
  const chal = newNonceChal();
  // A continuing message with a token that is not this session's is a wrong credential (401).
  if (!cred) {
    const hdrStatus =
      continuing && sessionToken !== undefined ? STATUS.INVALID_CREDENTIALS : STATUS.MISSING_CREDENTIALS;
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
