// Admin API tokens (table: api_tokens); only SHA-256 hashes are stored.
import type { ApiToken, TokenRole, TokenStore } from '../tokens.js';
import type { SqlExecutor } from './client.js';

interface Row {
  id: string;
  name: string;
  role: string;
  hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  role: r.role as TokenRole,
  hash: r.hash,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export function sqlTokenStore(db: SqlExecutor): TokenStore {
  return {
    createToken: (t) =>
      db.write(async (c) => {
        await c.run('INSERT INTO api_tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)', [
          t.id,
          t.name,
          t.role,
          t.hash,
          t.createdAt,
        ]);
      }),
    findTokenByHash: (hash) =>
      db.read(async (c) => {
        const row = await c.get<Row>('SELECT * FROM api_tokens WHERE hash = ? AND revoked_at IS NULL', [
          hash,
        ]);
        return row && toToken(row);
      }),
    markTokenUsed: (id, at) =>
      db.write(async (c) => {
        await c.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, id]);
      }),
    listTokens: () =>
      db.read(async (c) =>
        (await c.all<Row>('SELECT * FROM api_tokens ORDER BY created_at, id')).map(toToken),
      ),
    getToken: (id) =>
      db.read(async (c) => {
        const row = await c.get<Row>('SELECT * FROM api_tokens WHERE id = ?', [id]);
        return row && toToken(row);
      }),
    revokeToken: (id, at) =>
      db.write(
        async (c) =>
          (await c.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
            at,
            id,
          ])) > 0,
      ),
  };
}
