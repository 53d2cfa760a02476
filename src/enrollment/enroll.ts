// Enrollment (MS-MDE2 3.4, MS-WSTEP): a new device's certificate, its record and its
// provisioning doc, recorded in one transaction with the device.enrolled event.
import { randomBytes, randomUUID } from 'node:crypto';
import { EnrollmentFault } from '../codec/soap/faults.js';
import { VALUE_TYPES } from '../codec/soap/namespaces.js';
import { buildProvisioningDoc } from '../codec/soap/provisioning.js';
import { contextValue, contextValues, type RstRequest } from '../codec/soap/wstep.js';
import { ENROLLMENT_TYPES, type EnrollmentType } from '../storage/devices.js';
import type { AuthenticatedUser } from './auth.js';
import { issueForDevice, parseRequestCsr, storedCertificate } from './certificate-request.js';
import type { EnrollmentContext, EnrollmentResult } from './context.js';

/** DeviceID becomes the certificate CN and the OMA-DM LocURI: keep it to safe characters. */
const DEVICE_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

export async function enroll(
  ctx: EnrollmentContext,
  request: RstRequest,
  user: AuthenticatedUser,
): Promise<EnrollmentResult> {
  const { config, storage, ca, now, urls, renewal } = ctx;
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
  const certificate = issueForDevice(ctx, parseRequestCsr(request.token), deviceId);
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
      await ctx.events?.emit(tx, 'device.enrolled', {
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
  await ctx.audit({
    actor: user.upn,
    action: 'enrollment.enroll',
    deviceId,
    details: { enrollmentId, enrollmentType, authPolicy: user.policy, serial: certificate.serial },
  });
  return { provisioningDoc, deviceId, certificate };
}
