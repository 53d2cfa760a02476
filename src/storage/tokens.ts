// Admin API tokens. Only a hash of each token is stored; the token itself is shown once when it
// is created (`mdm tokens create`).

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  /** SHA-256 (hex) of the token text. */
  readonly hash: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface TokenStore {
  createToken(token: { id: string; name: string; hash: string; createdAt: string }): Promise<void>;
  /** The live (not revoked) token with this hash. */
  findTokenByHash(hash: string): Promise<ApiToken | undefined>;
  markTokenUsed(id: string, at: string): Promise<void>;
  listTokens(): Promise<ApiToken[]>;
  /** Returns false when no live token has this id. */
  revokeToken(id: string, at: string): Promise<boolean>;
}
