// Admin API tokens. Only a hash of each token is stored; the token itself is shown once when it
// is created (`mdm tokens create`). Each token has a role (docs/api.md "Roles").

/** `admin`: everything; `operator`: device actions and commands, read all; `auditor`: read-only. */
export const TOKEN_ROLES = ['admin', 'operator', 'auditor'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];
/** The role of a token created without `--role`. */
export const DEFAULT_TOKEN_ROLE: TokenRole = 'auditor';

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly role: TokenRole;
  /** SHA-256 (hex) of the token text. */
  readonly hash: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface TokenStore {
  createToken(token: {
    id: string;
    name: string;
    role: TokenRole;
    hash: string;
    createdAt: string;
  }): Promise<void>;
  /** The live (not revoked) token with this hash. */
  findTokenByHash(hash: string): Promise<ApiToken | undefined>;
  markTokenUsed(id: string, at: string): Promise<void>;
  listTokens(): Promise<ApiToken[]>;
  getToken(id: string): Promise<ApiToken | undefined>;
  /** Returns false when no live token has this id. */
  revokeToken(id: string, at: string): Promise<boolean>;
}
