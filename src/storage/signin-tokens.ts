// Federated sign-in tokens already spent on an enrollment (table: used_signin_tokens), shared by
// every server instance, so a token enrolls one device once (MS-MDE2 3.1.4.1: the token is the
// user's proof of a sign-in; replaying it must not enroll another device).

export interface SignInTokenStore {
  /**
   * Marks the token `jti` (valid until `expiresAt`) as used at `at`. Returns false when it was used
   * before. Entries past their expiry are dropped on the way: an expired token is refused anyway.
   */
  consume(jti: string, expiresAt: string, at: string): Promise<boolean>;
  /** True when `jti` was spent on an enrollment. */
  isUsed(jti: string): Promise<boolean>;
}
