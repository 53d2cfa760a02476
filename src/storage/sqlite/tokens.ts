// SQLite implementation of `TokenStore` (table `api_tokens`, migration 003).
import type { ApiToken, TokenStore } from '../tokens.js';
import type { SqliteDb } from './database.js';

interface Row {
  id: string;
  name: string;
  hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  hash: r.hash,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export function createSqliteTokenStore(db: SqliteDb): TokenStore {
  const insert = db.prepare('INSERT INTO api_tokens (id, name, hash, created_at) VALUES (?, ?, ?, ?)');
  const byHash = db.prepare<[string], Row>('SELECT * FROM api_tokens WHERE hash = ? AND revoked_at IS NULL');
  const used = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  const all = db.prepare<[], Row>('SELECT * FROM api_tokens ORDER BY created_at, id');
  const revoke = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  return {
    async createToken(t) {
      insert.run(t.id, t.name, t.hash, t.createdAt);
    },
    async findTokenByHash(hash) {
      const row = byHash.get(hash);
      return row ? toToken(row) : undefined;
    },
    async markTokenUsed(id, at) {
      used.run(at, id);
    },
    async listTokens() {
      return all.all().map(toToken);
    },
    async revokeToken(id, at) {
      return revoke.run(at, id).changes > 0;
    },
  };
}
