// The SCEP server (RFC 8894): one-time challenges per device and certificate profile, PKIOperation
// (PKCSReq, RenewalReq; CertPoll answered as not supported, since requests are never left pending),
// revocation and the CRL. Every refusal is a signed CertRep with a failInfo and an audit entry.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import {
  certificatesOnly,
  envelope,
  type FailInfo,
  MESSAGE_TYPES,
  type PkiRequest,
  parseCertificate,
  readPkiRequest,
  replyEncryption,
  ScepMessageError,
  ScepRequestError,
  type ScepSigner,
  signCertRep,
} from '../codec/scep/cms.js';
import type { Logger } from '../logger.js';
import { CaError, type EnrollmentCa, loadOrCreateCa } from '../pki/ca.js';
import type { Storage } from '../storage/index.js';
import type { ScepCertificateRecord, ScepIssuance } from '../storage/scep.js';
import {
  buildCrl,
  issueScepCertificate,
  KEY_USAGE_BITS,
  normaliseSan,
  type ParsedRequest,
  parseRequest,
  sameSubject,
} from './issue.js';

/** GetCACaps (RFC 8894 §3.5.2): what this server supports. */
export const SCEP_CAPABILITIES = [
  'POSTPKIOperation',
  'Renewal',
  'SHA-256',
  'SHA-512',
  'SHA-1',
  'AES',
  'DES3',
  'SCEPStandard',
];

export interface ScepCa extends ScepSigner {
  readonly pem: string;
  /** SHA-1 of the DER, upper-case hex (the CAThumbprint of a ClientCertificateInstall SCEP profile). */
  readonly thumbprint: string;
  readonly origin: EnrollmentCa['origin'];
  readonly certPath: string;
}

/** The SCEP issuing CA: MDM_SCEP_CA_CERT/MDM_SCEP_CA_KEY, or the development one (`scep-ca.crt`). */
export function loadScepCa(options: { certsDir: string; scepCaCert?: string; scepCaKey?: string }): ScepCa {
  const ca = loadOrCreateCa({
    certsDir: options.certsDir,
    caCert: options.scepCaCert,
    caKey: options.scepCaKey,
    fileName: 'scep-ca',
    commonName: 'Open Windows MDM Development SCEP CA',
  });
  if (ca.privateKey.asymmetricKeyType !== 'rsa') {
    // RFC 8894 §2.1: requests are encrypted to the CA certificate's key (RSA key transport).
    throw new CaError(`SCEP CA ${ca.certPath} must have an RSA key (clients encrypt requests to it)`);
  }
  return {
    certificate: parseCertificate(ca.der),
    der: ca.der,
    privateKey: ca.privateKey,
    pem: ca.pem,
    thumbprint: ca.thumbprint,
    origin: ca.origin,
    certPath: ca.certPath,
  };
}

export const hashChallenge = (challenge: string) =>
  createHash('sha256').update(challenge, 'utf8').digest('hex');

export interface CreateChallenge {
  readonly deviceId: string;
  readonly profile: string;
  readonly subject: string;
  readonly san?: readonly string[];
  readonly issuance: ScepIssuance;
  readonly ttlMinutes: number;
  readonly now?: Date;
}

/** Creates a one-time challenge; returns the password (shown once; only its hash is stored). */
export async function createScepChallenge(
  storage: { readonly scep: Pick<Storage['scep'], 'createChallenge'> },
  input: CreateChallenge,
): Promise<{ challenge: string; expiresAt: string }> {
  const now = input.now ?? new Date();
  const challenge = randomBytes(24).toString('base64url');
  const expiresAt = new Date(now.getTime() + input.ttlMinutes * 60_000).toISOString();
  await storage.scep.createChallenge({
    challengeHash: hashChallenge(challenge),
    deviceId: input.deviceId,
    profile: input.profile,
    subject: input.subject,
    san: normaliseSan(input.san ?? []),
    issuance: input.issuance,
    createdAt: now.toISOString(),
    expiresAt,
  });
  return { challenge, expiresAt };
}

export interface ScepServiceDeps {
  readonly storage: Storage;
  readonly ca: ScepCa;
  readonly logger: Logger;
  /** URL of the CRL, written into every issued certificate. */
  readonly crlUrl: string;
  readonly now?: () => Date;
  /**
   * Called in the transaction that records an issued certificate (certificate profile state:
   * src/policy/delivery/certificate-profiles.ts `certificateIssued`).
   */
  readonly onIssued?: (certificate: ScepCertificateRecord, tx: Storage, at: Date) => Promise<void>;
}

/** A PKIOperation outcome: a CertRep to send, or an HTTP 400 when no CertRep can be formed. */
export type PkiOperationResult =
  | { readonly kind: 'certrep'; readonly body: Buffer }
  | { readonly kind: 'bad-request'; readonly reason: string };

class Refusal extends Error {
  constructor(
    message: string,
    readonly failInfo: FailInfo,
    readonly deviceId?: string,
  ) {
    super(message);
  }
}

export interface ScepService {
  readonly ca: ScepCa;
  caCertificate(): Buffer;
  pkiOperation(message: Buffer): Promise<PkiOperationResult>;
  crl(): Promise<Buffer>;
}

export function createScepService(deps: ScepServiceDeps): ScepService {
  const { storage, ca, logger } = deps;
  const now = deps.now ?? (() => new Date());

  async function refuse(req: Pick<PkiRequest, 'transactionId' | 'senderNonce' | 'messageType'>, r: Refusal) {
    logger.info(
      { transactionId: req.transactionId, failInfo: r.failInfo, reason: r.message },
      'SCEP request refused',
    );
    await storage.audit.record({
      actor: 'scep',
      action: 'scep.refuse',
      ...(r.deviceId ? { deviceId: r.deviceId } : {}),
      details: {
        transactionId: req.transactionId,
        messageType: req.messageType,
        failInfo: r.failInfo,
        reason: r.message,
      },
    });
    return signCertRep(
      {
        transactionId: req.transactionId,
        recipientNonce: req.senderNonce,
        status: 'FAILURE',
        failInfo: r.failInfo,
        failInfoText: r.message,
      },
      ca,
      now(),
    );
  }

  async function enrol(req: PkiRequest, csr: ParsedRequest): Promise<ScepCertificateRecord> {
    if (!csr.challenge) throw new Refusal('the request carries no challenge password', 'badRequest');
    const hash = hashChallenge(csr.challenge);
    const challenge = await storage.scep.findChallenge(hash);
    const at = now();
    if (!challenge) throw new Refusal('unknown challenge password', 'badRequest');
    const device = challenge.deviceId;
    if (challenge.usedAt) throw new Refusal('the challenge password was already used', 'badRequest', device);
    if (new Date(challenge.expiresAt) <= at)
      throw new Refusal('the challenge password expired', 'badRequest', device);
    if (!sameSubject(csr.subject, challenge.subject)) {
      throw new Refusal(
        `the request asks for subject "${csr.subject}", the challenge was issued for "${challenge.subject}"`,
        'badRequest',
        device,
      );
    }
    const san = normaliseSan(csr.san);
    if (san.join('\n') !== challenge.san.join('\n')) {
      throw new Refusal(
        `the request asks for subject alternative names [${san.join(', ')}], the challenge allows [${challenge.san.join(', ')}]`,
        'badRequest',
        device,
      );
    }
    const issued = await issueScepCertificate(ca, {
      request: csr,
      issuance: challenge.issuance,
      crlUrl: deps.crlUrl,
      now: at,
    });
    const record: ScepCertificateRecord = {
      serial: issued.serial,
      thumbprint: issued.thumbprint,
      deviceId: challenge.deviceId,
      profile: challenge.profile,
      subject: csr.subject,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      issuedAt: at.toISOString(),
      der: issued.der,
      status: 'issued',
      revokedAt: undefined,
      revocationReason: undefined,
    };
    const recorded = await storage.transaction(async (tx) => {
      if (!(await tx.scep.consumeChallenge(hash, issued.serial, at.toISOString()))) return false;
      await tx.scep.recordCertificate(record);
      await deps.onIssued?.(record, tx, at);
      await tx.audit.record({
        actor: 'scep',
        action: 'scep.issue',
        deviceId: record.deviceId,
        details: {
          profile: record.profile,
          serial: record.serial,
          thumbprint: record.thumbprint,
          transactionId: req.transactionId,
        },
      });
      return true;
    });
    if (!recorded) throw new Refusal('the challenge password was already used', 'badRequest', device);
    return record;
  }

  async function renew(req: PkiRequest, csr: ParsedRequest): Promise<ScepCertificateRecord> {
    // RFC 8894 §3.3.1.2: a RenewalReq is signed with the certificate being renewed; that
    // signature (checked in readPkiRequest) is its authorisation.
    const thumbprint = createHash('sha1').update(req.signerCertificateDer).digest('hex').toUpperCase();
    const previous = await storage.scep.findCertificateByThumbprint(thumbprint);
    const at = now();
    if (!previous?.der.equals(req.signerCertificateDer)) {
      throw new Refusal('the renewal is not signed with a certificate this server issued', 'badCertId');
    }
    const device = previous.deviceId;
    if (previous.status !== 'issued') {
      throw new Refusal(`the certificate being renewed is ${previous.status}`, 'badCertId', device);
    }
    if (new Date(previous.notAfter) <= at)
      throw new Refusal('the certificate being renewed expired', 'badTime', device);
    if (!sameSubject(csr.subject, previous.subject)) {
      throw new Refusal(
        `the renewal asks for subject "${csr.subject}", the certificate has "${previous.subject}"`,
        'badRequest',
        device,
      );
    }
    const old = new X509Certificate(previous.der);
    const oldSan = normaliseSan(sanOf(old));
    if (normaliseSan(csr.san).join('\n') !== oldSan.join('\n')) {
      throw new Refusal('the renewal asks for other subject alternative names', 'badRequest', device);
    }
    const issuance = issuanceOf(req.signerCertificate, previous);
    const issued = await issueScepCertificate(ca, { request: csr, issuance, crlUrl: deps.crlUrl, now: at });
    const record: ScepCertificateRecord = {
      serial: issued.serial,
      thumbprint: issued.thumbprint,
      deviceId: previous.deviceId,
      profile: previous.profile,
      subject: csr.subject,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      issuedAt: at.toISOString(),
      renewedFrom: previous.serial,
      der: issued.der,
      status: 'issued',
      revokedAt: undefined,
      revocationReason: undefined,
    };
    await storage.transaction(async (tx) => {
      await tx.scep.recordCertificate(record);
      await deps.onIssued?.(record, tx, at);
      await tx.audit.record({
        actor: 'scep',
        action: 'scep.renew',
        deviceId: record.deviceId,
        details: {
          profile: record.profile,
          serial: record.serial,
          thumbprint: record.thumbprint,
          renewedFrom: previous.serial,
          transactionId: req.transactionId,
        },
      });
    });
    return record;
  }

  return {
    ca,
    caCertificate: () => ca.der,
    async pkiOperation(message) {
      let req: PkiRequest;
      try {
        req = await readPkiRequest(message, ca);
      } catch (err) {
        if (!(err instanceof ScepRequestError)) throw err;
        const h = err.header;
        if (!h.transactionId || !h.senderNonce || !h.signerCertificate) {
          logger.info({ reason: err.message }, 'SCEP request unreadable');
          await storage.audit.record({
            actor: 'scep',
            action: 'scep.refuse',
            details: { failInfo: err.failInfo, reason: err.message },
          });
          return { kind: 'bad-request', reason: err.message };
        }
        const body = await refuse(
          { transactionId: h.transactionId, senderNonce: h.senderNonce, messageType: h.messageType ?? '' },
          new Refusal(err.message, err.failInfo),
        );
        return { kind: 'certrep', body };
      }
      try {
        let record: ScepCertificateRecord;
        if (req.messageType === MESSAGE_TYPES.PKCSReq || req.messageType === MESSAGE_TYPES.RenewalReq) {
          if (!req.content) throw new Refusal('the request has no pkcsPKIEnvelope', 'badRequest');
          const csr = await parseRequest(req.content);
          if (csr.keyBits < 2048)
            throw new Refusal(`an RSA key of ${csr.keyBits} bits is too short`, 'badAlg');
          record = req.messageType === MESSAGE_TYPES.PKCSReq ? await enrol(req, csr) : await renew(req, csr);
        } else if (req.messageType === MESSAGE_TYPES.CertPoll) {
          throw new Refusal(
            'pending requests are not supported: every request is answered at once',
            'badRequest',
          );
        } else {
          throw new Refusal(`messageType ${req.messageType} is not supported`, 'badRequest');
        }
        logger.info(
          {
            deviceId: record.deviceId,
            profile: record.profile,
            serial: record.serial,
            transactionId: req.transactionId,
          },
          'SCEP certificate issued',
        );
        const body = await signCertRep(
          {
            transactionId: req.transactionId,
            recipientNonce: req.senderNonce,
            status: 'SUCCESS',
            envelope: envelope(
              certificatesOnly([record.der]),
              req.signerCertificate,
              replyEncryption(req.contentEncryption),
            ),
          },
          ca,
          now(),
        );
        return { kind: 'certrep', body };
      } catch (err) {
        if (err instanceof Refusal) return { kind: 'certrep', body: await refuse(req, err) };
        if (err instanceof ScepMessageError) {
          return { kind: 'certrep', body: await refuse(req, new Refusal(err.message, err.failInfo)) };
        }
        throw err;
      }
    },
    async crl() {
      const revoked = await storage.scep.listRevoked();
      return buildCrl(
        ca,
        revoked.map((r) => ({ serial: r.serial, revokedAt: r.revokedAt ?? r.issuedAt })),
        now(),
      );
    },
  };
}

/** SAN entries of a certificate in the `dns:`/`email:`/`uri:`/`upn:` form (node's subjectAltName text). */
function sanOf(cert: X509Certificate): string[] {
  const text = cert.subjectAltName;
  if (!text) return [];
  return text.split(/, (?=[A-Za-z ]+:)/).map((part) => {
    const i = part.indexOf(':');
    const kind = part.slice(0, i).trim();
    const value = part.slice(i + 1);
    if (kind === 'DNS') return `dns:${value}`;
    if (kind === 'email') return `email:${value}`;
    if (kind === 'URI') return `uri:${value}`;
    if (kind === 'othername' && value.startsWith('UPN:')) return `upn:${value.slice(4)}`;
    return `${kind.toLowerCase()}:${value}`;
  });
}

/** The key usage, EKUs and validity period of the certificate being renewed (the renewal keeps them). */
function issuanceOf(cert: pkijs.Certificate, previous: ScepCertificateRecord): ScepIssuance {
  const keyUsage: string[] = [];
  let ekus: string[] = [];
  for (const ext of cert.extensions ?? []) {
    if (ext.extnID === '2.5.29.15') {
      const bits = asn1js.fromBER(ext.extnValue.getValue()).result as asn1js.BitString;
      const first = Buffer.from(bits.valueBlock.valueHexView)[0] ?? 0;
      for (const [name, bit] of Object.entries(KEY_USAGE_BITS))
        if (first & (0x80 >> bit)) keyUsage.push(name);
    }
    if (ext.extnID === '2.5.29.37') {
      const seq = asn1js.fromBER(ext.extnValue.getValue()).result as asn1js.Sequence;
      ekus = seq.valueBlock.value.map((v) => (v as asn1js.ObjectIdentifier).valueBlock.toString());
    }
  }
  const period = new Date(previous.notAfter).getTime() - new Date(previous.notBefore).getTime() - 3_600_000;
  return { validityDays: Math.max(1, Math.round(period / 86_400_000)), keyUsage, ekus };
}

/**
 * The server-side values of policy `{{variables}}` for a device: the SCEP URL and CA thumbprint,
 * and per certificate profile (`certificate.<p>.thumbprint`) the thumbprint the device reports
 * installed for that profile, else that of the newest issued certificate. A SCEP profile's
 * Challenge (`{{scep.challenge.<p>}}`) is not filled here. Reads through `tx` when given (the
 * exchange's transaction).
 */
export function scepTemplateValues(storage: Pick<Storage, 'scep'>, ca: ScepCa, scepUrl: string) {
  return async (
    profile: { readonly id: string },
    tx?: { readonly scep?: Pick<Storage['scep'], 'listCertificates' | 'listDeviceProfiles'> },
  ) => {
    const scep = tx?.scep ?? storage.scep;
    const certificates: Record<string, string> = {};
    for (const p of await scep.listDeviceProfiles(profile.id)) {
      if (p.state !== 'revoked' && p.installedThumbprint) certificates[p.profile] = p.installedThumbprint;
    }
    for (const c of await scep.listCertificates({ deviceId: profile.id, status: 'issued' })) {
      certificates[c.profile] ??= c.thumbprint;
    }
    return { certificates, scep: { url: scepUrl, caThumbprint: ca.thumbprint } };
  };
}
