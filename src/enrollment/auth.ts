// Authenticates the WS-Security token of GetPolicies and RequestSecurityToken (docs/protocol-notes.md#enrollment-policy):
// OnPremise = UsernameToken checked against the user store; Federated = our signed sign-in token,
// base64-encoded in a BinarySecurityToken (docs/protocol-notes.md#federated-sign-in). Only enabled policies are accepted.
import type { SecurityToken } from '../codec/soap/envelope.js';
import { decodeBase64 } from '../codec/soap/envelope.js';
import { EnrollmentFault } from '../codec/soap/faults.js';
import { VALUE_TYPES } from '../codec/soap/namespaces.js';
import type { EnrollmentAuthPolicy } from '../storage/devices.js';
import type { SignInTokenStore } from '../storage/signin-tokens.js';
import type { UserStore } from '../storage/users.js';
import type { LoginThrottle } from './login-throttle.js';
import { DUMMY_HASH_PROMISE, verifyPassword } from './passwords.js';
import { readSignInToken, type SignInToken } from './tokens.js';

export interface AuthenticatedUser {
  readonly upn: string;
  readonly policy: EnrollmentAuthPolicy;
  /** The Federated sign-in token that authenticated the request (spent by the enrollment it makes). */
  readonly signInToken?: SignInToken;
}

export interface AuthOptions {
  readonly users: UserStore;
  readonly enabledPolicies: readonly EnrollmentAuthPolicy[];
  readonly tokenSecret: Buffer;
  readonly now: Date;
  readonly throttle?: LoginThrottle;
  /** Sign-in tokens already spent on an enrollment: refused. */
  readonly signInTokens?: SignInTokenStore;
}

/**
 * Checks a user name and password against the store (constant work whether or not the user exists).
 * With a throttle, a locked-out name is refused without checking the password.
 */
export async function checkPassword(
  users: UserStore,
  upn: string,
  password: string,
  throttle?: LoginThrottle,
  now: Date = new Date(),
): Promise<string | undefined> {
  if (await throttle?.isLocked(upn, now)) return undefined;
  const user = upn ? await users.getUser(upn) : undefined;
  const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH_PROMISE));
  if (ok && user) {
    await throttle?.recordSuccess(upn);
    return user.upn;
  }
  await throttle?.recordFailure(upn, now);
  return undefined;
}

export async function authenticateEnrollee(
  token: SecurityToken,
  options: AuthOptions,
): Promise<AuthenticatedUser> {
  const enabled = (p: EnrollmentAuthPolicy) => options.enabledPolicies.includes(p);
  if (token.kind === 'username') {
    if (!enabled('OnPremise'))
      throw new EnrollmentFault('Authentication', 'OnPremise authentication is disabled');
    const upn = await checkPassword(
      options.users,
      token.username,
      token.password,
      options.throttle,
      options.now,
    );
    if (!upn) throw new EnrollmentFault('Authentication', 'user name or password is wrong');
    return { upn, policy: 'OnPremise' };
  }
  if (token.kind === 'binary' && token.valueType === VALUE_TYPES.federatedUserToken) {
    if (!enabled('Federated'))
      throw new EnrollmentFault('Authentication', 'Federated authentication is disabled');
    const decoded = decodeBase64(token.value);
    const signIn =
      decoded && (await readSignInToken(options.tokenSecret, decoded.toString('utf8'), options.now));
    const user = signIn ? await options.users.getUser(signIn.upn) : undefined;
    if (!signIn || !user) throw new EnrollmentFault('Authentication', 'sign-in token is invalid or expired');
    if (await options.signInTokens?.isUsed(signIn.jti)) {
      throw new EnrollmentFault('Authentication', 'sign-in token was already used; sign in again');
    }
    return { upn: user.upn, policy: 'Federated', signInToken: signIn };
  }
  if (token.kind === 'binary' && token.valueType === VALUE_TYPES.entraJwt) {
    throw new EnrollmentFault('Authentication', 'Entra ID tokens are not supported by this server');
  }
  throw new EnrollmentFault('InvalidSecurity', 'missing or unsupported WS-Security token');
}
