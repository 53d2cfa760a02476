// The MS-MDE2 enrollment service: discovery, enrollment policy (MS-XCEP), enrollment and renewal
// (MS-WSTEP). Works on typed requests from `src/codec/soap`; failures are `EnrollmentFault`s. Each
// step lives in its own module (discovery.ts, enroll.ts, renew.ts); this one authenticates and
// routes.
import { randomUUID, type X509Certificate } from 'node:crypto';
import type { DiscoverRequest, DiscoverResponse } from '../codec/soap/discovery.js';
import type { SecurityToken } from '../codec/soap/envelope.js';
import { EnrollmentFault } from '../codec/soap/faults.js';
import type { RstRequest } from '../codec/soap/wstep.js';
import type { GetPoliciesResponse } from '../codec/soap/xcep.js';
import type { Config } from '../config.js';
import type { EnrollmentCa } from '../pki/ca.js';
import type { Storage } from '../storage/index.js';
import type { EventSink } from '../webhooks/events.js';
import { authenticateEnrollee, checkPassword } from './auth.js';
import { MIN_KEY_BITS } from './certificate-request.js';
import { type EnrollmentResult, enrollmentContext } from './context.js';

export type { EnrollmentResult } from './context.js';

import { chooseAuthPolicy, chooseEnrollmentVersion } from './discovery.js';
import { enroll } from './enroll.js';
import { createLoginThrottle } from './login-throttle.js';
import { renew } from './renew.js';
import { createSignInToken } from './tokens.js';

export { SUPPORTED_ENROLLMENT_VERSIONS } from './discovery.js';

const DAY_SECONDS = 86_400;
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
  const ctx = enrollmentContext(deps);
  const { config, storage, now, urls } = ctx;
  // One throttle for both password paths (UsernameToken and the sign-in page).
  const throttle = createLoginThrottle(storage.loginThrottle);
  const auth = (security: SecurityToken, step: string) =>
    authenticateEnrollee(security, {
      users: storage.users,
      enabledPolicies: ctx.enabled,
      tokenSecret: deps.tokenSecret,
      now: now(),
      throttle,
      signInTokens: storage.signInTokens,
    }).catch(async (err: unknown) => {
      // A refused sign-in is audited (never the password or token).
      if (err instanceof EnrollmentFault)
        await ctx.audit({
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

  return {
    discover(request) {
      const authPolicy = chooseAuthPolicy(ctx, request.authPolicies);
      return {
        relatesTo: request.messageId,
        activityId: randomUUID(),
        authPolicy,
        enrollmentVersion: chooseEnrollmentVersion(request.requestVersion),
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
          return enroll(ctx, request, await auth(security, 'RequestSecurityToken'));
        case 'Renew':
          return renew(ctx, request, clientCertificate);
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
