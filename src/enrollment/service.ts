// The MS-MDE2 enrollment service: discovery, enrollment policy (MS-XCEP), enrollment and renewal
// (MS-WSTEP). Works on typed requests from `src/codec/soap`; failures are `EnrollmentFault`s.
import { randomBytes, randomUUID, type X509Certificate } from 'node:crypto';
import type { DiscoverRequest, DiscoverResponse } from '../codec/soap/discovery.js';
import { decodeBase64, type SecurityToken } from '../codec/soap/envelope.js';
import { EnrollmentFault } from '../codec/soap/faults.js';
import { VALUE_TYPES } from '../codec/soap/namespaces.js';
import { buildProvisioningDoc, buildRenewalProvisioningDoc } from '../codec/soap/provisioning.js';
import { contextValue, contextValues, type RstRequest } from '../codec/soap/wstep.js';
import type { GetPoliciesResponse } from '../codec/soap/xcep.js';
import type { Config } from '../config.js';
import type { EnrollmentCa } from '../pki/ca.js';
import { CsrError, type ParsedCsr, parseCsr } from '../pki/csr.js';
import { type IssuedCertificate, issueDeviceCertificate } from '../pki/issue.js';
import { Pkcs7Error, parseSignedData } from '../pki/pkcs7.js';
import { verifyDeviceCertificate } from '../pki/verify.js';
import { certificateStatusAccepted } from '../storage/certificates.js';
import { ENROLLMENT_TYPES, type EnrollmentAuthPolicy, type EnrollmentType } from '../storage/devices.js';
import type { Storage } from '../storage/index.js';
import type { EventSink } from '../webhooks/events.js';
import { type AuthenticatedUser, authenticateEnrollee, checkPassword } from './auth.js';
import { createLoginThrottle } from './login-throttle.js';
import { createSignInToken } from './tokens.js';
import { enrollmentUrls } from './urls.js';

/** EnrollmentVersion values this server answers with, highest first (docs/protocol-notes.md#discovery). */
export const SUPPORTED_ENROLLMENT_VERSIONS = ['5.0', '4.0'] as const;
const MIN_REQUEST_VERSION = 4;
const MIN_KEY_BITS = 2048;
const DAY_SECONDS = 86_400;
/** DeviceID becomes the certificate CN and the OMA-DM LocURI: keep it to safe characters. */
const DEVICE_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

export interface EnrollmentServiceDeps {
  readonly config: Config;
  readonly storage: Storage;
  readonly ca: EnrollmentCa;
  /** HMAC key of federated sign-in tokens. */
  readonly tokenSecret: Buffer;
  readonly now?: () => Date;
  /** Webhook events (device.enrolled). */
  readonly events?: EventSink;
}

export interface EnrollmentResult {
  /** wap-provisioningdoc XML (base64-encoded into the RSTR by the codec). */
  readonly provisioningDoc: string;
  readonly deviceId: string;
  readonly certificate: IssuedCertificate;
}

export interface EnrollmentService {
  discover(request: DiscoverRequest): DiscoverResponse;
  getPolicies(messageId: string | undefined, security: SecurityToken): Promise<GetPoliciesResponse>;
  /**
   * Issue: authenticates the user token and enrolls. Renew: authenticated by `clientCertificate`
   * (the TLS client certificate of the request; docs/protocol-notes.md#device-certificates).
   */
  requestSecurityToken(
    request: RstRequest,
    security: SecurityToken,
    clientCertificate: X509Certificate | undefined,
  ): Promise<EnrollmentResult>;
  /** Federated sign-in page: a token for valid credentials, undefined otherwise. */
  signIn(upn: string, password: string): Promise<string | undefined>;
}

export function createEnrollmentService(deps: EnrollmentServiceDeps): EnrollmentService {
  const { config, storage, ca } = deps;
  const now = deps.now ?? (() => new Date());
  const urls = enrollmentUrls(config);
  const enabled = config.authPolicies as readonly EnrollmentAuthPolicy[];
  const renewal = {
    renewPeriodDays: config.renewalPeriodDays,
    retryIntervalDays: Math.min(7, config.renewalPeriodDays),
    serverUrl: urls.enrollment,
  };

  // One throttle for both password paths (UsernameToken and the sign-in page).
  const throttle = createLoginThrottle(storage.loginThrottle);
  /** Audit entries of enrollment; a database that cannot take one does not change the answer. */
  const audit = (entry: Parameters<Storage['audit']['record']>[0]) =>
    storage.audit.record(entry).then(
      () => undefined,
      () => undefined,
    );
  const auth = (security: SecurityToken, step: string) =>
    authenticateEnrollee(security, {
      users: storage.users,
      enabledPolicies: enabled,
      tokenSecret: deps.tokenSecret,
      now: now(),
      throttle,
      signInTokens: storage.signInTokens,
    }).catch(async (err: unknown) => {
      // A refused sign-in is audited (never the password or token).
      if (err instanceof EnrollmentFault)
        await audit({
          actor: security.kind === 'username' ? security.username.slice(0, 256) || 'anonymous' : 'anonymous',
          action: 'enrollment.refused',
          details: {
            step,
            reason: err.message,
            authPolicy: security.kind === 'username' ? 'OnPremise' : 'Federated',
          },
        });
      throw err;
    });

  function choosePolicy(offered: readonly string[]): EnrollmentAuthPolicy {
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

  function chooseVersion(requested: string): string {
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

  function parseRequestCsr(der: Buffer): ParsedCsr {
    try {
      const csr = parseCsr(der);
      if (csr.keyBits < MIN_KEY_BITS)
        throw new CsrError(`RSA key of ${csr.keyBits} bits; at least ${MIN_KEY_BITS} required`);
      return csr;
    } catch (err) {
      // The CSR parser's message is logged, not reflected.
      if (err instanceof CsrError) {
        throw new EnrollmentFault('CertificateRequest', 'the certificate request is invalid', undefined, {
          csr: err.message,
        });
      }
      throw err;
    }
  }

  function issue(csr: ParsedCsr, deviceId: string): IssuedCertificate {
    if (csr.requestedDeviceId && csr.requestedDeviceId.toUpperCase() !== deviceId.toUpperCase()) {
      throw new EnrollmentFault('CertificateRequest', 'the CSR names a different DeviceID');
    }
    return issueDeviceCertificate(ca, {
      publicKey: csr.forgePublicKey,
      deviceId,
      validityDays: config.certValidityDays,
      now: now(),
    });
  }

  async function enroll(request: RstRequest, user: AuthenticatedUser): Promise<EnrollmentResult> {
    const item = (name: string) => contextValue(request.context, name);
    const deviceId = item('DeviceID');
    if (!deviceId || !DEVICE_ID_RE.test(deviceId)) {
      throw new EnrollmentFault('MessageFormat', 'missing or malformed DeviceID context item');
    }
    const enrollmentType = item('EnrollmentType');
    if (!ENROLLMENT_TYPES.includes(enrollmentType as EnrollmentType)) {
      throw new EnrollmentFault('MessageFormat', 'EnrollmentType must be Full or Device', undefined, {
        enrollmentType,
      });
    }
    if (request.tokenValueType !== VALUE_TYPES.pkcs10) {
      throw new EnrollmentFault('MessageFormat', 'an Issue request carries a PKCS#10 certificate request');
    }
    const certificate = issue(parseRequestCsr(request.token), deviceId);
    const enrolledAt = now().toISOString();
    const enrollmentId = randomUUID();
    const secret = () => randomBytes(24).toString('base64url');
    const nonce = () => randomBytes(16).toString('base64');
    const digest = {
      appSrv: { name: deviceId, secret: secret(), nonce: nonce() },
      client: { secret: secret(), nonce: nonce() },
    };
    const deviceName = item('DeviceName') ?? null;
    // The document is built (and checked well-formed) before anything is stored.
    const provisioningDoc = buildProvisioningDoc({
      ca: { thumbprint: ca.thumbprint, der: ca.der },
      client: { thumbprint: certificate.thumbprint, der: certificate.der },
      enrollmentType: enrollmentType as EnrollmentType,
      deviceId,
      providerId: config.providerId,
      accountName: config.providerId,
      managementUrl: urls.management,
      digest: {
        appSrvName: digest.appSrv.name,
        appSrvSecret: digest.appSrv.secret,
        appSrvNonce: digest.appSrv.nonce,
        clientSecret: digest.client.secret,
        clientNonce: digest.client.nonce,
      },
      entDmId: enrollmentId,
      deviceName: deviceName ?? undefined,
      poll: {
        firstCount: config.pollFirstCount,
        firstIntervalMinutes: config.pollFirstIntervalMinutes,
        intervalMinutes: config.pollIntervalMinutes,
      },
      renewal,
    });
    try {
      await storage.transaction(async (tx) => {
        // A Federated sign-in token enrolls one device, once, on whichever instance sees it first.
        const token = user.signInToken;
        if (token && !(await tx.signInTokens.consume(token.jti, token.expiresAt, enrolledAt))) {
          throw new EnrollmentFault('Authentication', 'sign-in token was already used; sign in again');
        }
        await tx.devices.recordEnrollment({
          enrollmentId,
          deviceId,
          hwDevId: item('HWDevID') ?? null,
          name: deviceName,
          osEdition: item('OSEdition') ?? null,
          osVersion: item('OSVersion') ?? null,
          deviceType: item('DeviceType') ?? null,
          locale: item('Locale') ?? null,
          macs: [...new Set(contextValues(request.context, 'MAC'))],
          enrollmentType: enrollmentType as EnrollmentType,
          authPolicy: user.policy,
          userUpn: user.upn,
          providerId: config.providerId,
          enrolledAt,
          digest,
          certificate: storedCertificate(certificate),
        });
        // MS-MDE2 3.1.4.2: the enrollment is complete once recorded; the event commits with it.
        await deps.events?.emit(tx, 'device.enrolled', {
          deviceId,
          userUpn: user.upn,
          enrollmentType,
          osVersion: item('OSVersion') ?? null,
        });
      });
    } catch (err) {
      if (err instanceof EnrollmentFault) throw err;
      throw new EnrollmentFault('EnrollmentServer', 'could not record the enrollment', undefined, { err });
    }
    await audit({
      actor: user.upn,
      action: 'enrollment.enroll',
      deviceId,
      details: { enrollmentId, enrollmentType, authPolicy: user.policy, serial: certificate.serial },
    });
    return { provisioningDoc, deviceId, certificate };
  }

  async function renew(
    request: RstRequest,
    clientCertificate: X509Certificate | undefined,
  ): Promise<EnrollmentResult> {
    const notEligible = (message: string) =>
      new EnrollmentFault('Authorization', message, 'NotEligibleToRenew');
    if (!clientCertificate)
      throw notEligible('renewal requires the current device certificate on the TLS connection');
    const check = verifyDeviceCertificate(ca, clientCertificate, now());
    if (!check.ok) throw notEligible(check.message);
    const record = await storage.certificates.findBySerial(check.serial);
    if (!record || !certificateStatusAccepted(record.status) || record.deviceStatus !== 'enrolled') {
      throw notEligible('the certificate does not belong to a live enrollment');
    }
    const claimed = contextValue(request.context, 'DeviceID');
    if (claimed && claimed.toUpperCase() !== check.deviceId.toUpperCase()) {
      throw notEligible('DeviceID does not match the client certificate');
    }
    let csrDer = request.token;
    if (request.tokenValueType !== VALUE_TYPES.pkcs10) {
      try {
        const signed = parseSignedData(unwrapBase64(request.token));
        if (!signed.verifiedBy(clientCertificate.publicKey)) {
          throw notEligible('the PKCS#7 request is not signed with the current device key');
        }
        csrDer = signed.content;
      } catch (err) {
        if (err instanceof Pkcs7Error) {
          throw new EnrollmentFault(
            'CertificateRequest',
            'the PKCS#7 renewal request is invalid',
            undefined,
            {
              pkcs7: err.message,
            },
          );
        }
        throw err;
      }
    }
    const certificate = issue(parseRequestCsr(csrDer), check.deviceId);
    const device = await storage.devices.getDevice(check.deviceId);
    const recorded = await storage.certificates.recordRenewal({
      deviceId: check.deviceId,
      previousSerial: check.serial,
      certificate: storedCertificate(certificate),
      issuedAt: now().toISOString(),
    });
    if (!recorded || !device) throw notEligible('the enrollment ended during renewal');
    const provisioningDoc = buildRenewalProvisioningDoc({
      client: { thumbprint: certificate.thumbprint, der: certificate.der },
      enrollmentType: device.enrollmentType,
      providerId: device.providerId,
      renewal,
    });
    return { provisioningDoc, deviceId: check.deviceId, certificate };
  }

  return {
    discover(request) {
      const authPolicy = choosePolicy(request.authPolicies);
      return {
        relatesTo: request.messageId,
        activityId: randomUUID(),
        authPolicy,
        enrollmentVersion: chooseVersion(request.requestVersion),
        enrollmentPolicyServiceUrl: urls.policy,
        enrollmentServiceUrl: urls.enrollment,
        authenticationServiceUrl: authPolicy === 'Federated' ? urls.auth : undefined,
      };
    },

    async getPolicies(messageId, security) {
      await auth(security, 'GetPolicies');
      return {
        relatesTo: messageId,
        policyId: `${config.providerId}-device`,
        templateName: `${config.providerId} device`,
        validityPeriodSeconds: config.certValidityDays * DAY_SECONDS,
        renewalPeriodSeconds: config.renewalPeriodDays * DAY_SECONDS,
        minimalKeyLength: MIN_KEY_BITS,
      };
    },

    async requestSecurityToken(request, security, clientCertificate) {
      switch (request.requestType) {
        case 'Issue':
          return enroll(request, await auth(security, 'RequestSecurityToken'));
        case 'Renew':
          return renew(request, clientCertificate);
        case 'Recovery':
          throw new EnrollmentFault(
            'EnrollmentServer',
            'key recovery is not supported; enroll again',
            'NotSupported',
          );
      }
    },

    async signIn(upn, password) {
      const user = await checkPassword(storage.users, upn.trim(), password, throttle, now());
      return user
        ? await createSignInToken(deps.tokenSecret, user, config.tokenTtlSeconds, now())
        : undefined;
    },
  };
}

/**
 * Manual renewal base64-encodes the PKCS#7 a second time inside the token (docs/protocol-notes.md#device-certificates):
 * DER starts with a SEQUENCE byte (0x30), base64 text of one with "MI".
 */
function unwrapBase64(token: Buffer): Buffer {
  if (token[0] === 0x30) return token;
  return decodeBase64(token.toString('latin1')) ?? token;
}

function storedCertificate(c: IssuedCertificate) {
  return {
    serial: c.serial,
    thumbprint: c.thumbprint,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    der: c.der,
  };
}
