// Spent Federated sign-in tokens (src/storage/signin-tokens.ts) on SQLite and PostgreSQL.
import type { SignInTokenStore } from '../signin-tokens.js';
import type { SqlExecutor } from './client.js';

export function sqlSignInTokenStore(db: SqlExecutor): SignInTokenStore {
  return {
    consume: (jti, expiresAt, at) =>
      db.write(async (c) => {
        await c.run('DELETE FROM used_signin_tokens WHERE expires_at < ?', [at]);
        // The primary key decides between two instances consuming the same token at once.
        const row = await c.get<{ jti: string }>(
          `INSERT INTO used_signin_tokens (jti, expires_at, used_at) VALUES (?, ?, ?)
           ON CONFLICT (jti) DO NOTHING RETURNING jti`,
          [jti, expiresAt, at],
        );
        return row !== undefined;
      }),
    isUsed: (jti) =>
      db.read(async (c) => {
        const row = await c.get<{ jti: string }>('SELECT jti FROM used_signin_tokens WHERE jti = ?', [jti]);
        return row !== undefined;
      }),
  };
}
