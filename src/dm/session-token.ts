// Per-session RespURI token for DIGEST sessions. After 212 the client sends no Cred for the rest of
// the session (docs/protocol-notes.md#digest-authentication), and SessionID is a small client counter, so DeviceID + SessionID
// alone would be guessable. The server therefore names the URL of the next message in its SyncHdr
// RespURI (§7.3) with an unguessable token; a Cred-less message continues the session only when it
// was posted to that URL. Only a SHA-256 of the token is stored (in the session state).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Query parameter carrying the token. */
export const SESSION_TOKEN_PARAM = 's';

/** 128 random bits in base64url (22 characters). */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}/;

export interface IssuedSessionToken {
  /** RespURI for the server's SyncHdr: `${managementUrl}?s=<token>`. */
  readonly uri: string;
  /** Hex SHA-256 of the token, kept in the session state. */
  readonly tokenHash: string;
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function issueSessionToken(managementUrl: string): IssuedSessionToken {
  const token = randomBytes(16).toString('base64url');
  const separator = managementUrl.includes('?') ? '&' : '?';
  return {
    uri: `${managementUrl}${separator}${SESSION_TOKEN_PARAM}=${token}`,
    tokenHash: hashSessionToken(token),
  };
}

/** Constant-time check of a presented token against the stored hash. */
export function sessionTokenMatches(presented: string | undefined, tokenHash: string | undefined): boolean {
  if (presented === undefined || tokenHash === undefined) return false;
  const expected = Buffer.from(tokenHash, 'hex');
  const actual = Buffer.from(hashSessionToken(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * The token in a request URL (path + query). Other query parameters are ignored; a client that
 * appended its own query with a second `?` still yields the token (only its 22 base64url
 * characters are taken).
 */
export function sessionTokenOf(requestUrl: string): string | undefined {
  const q = requestUrl.indexOf('?');
  if (q < 0) return undefined;
  const value = new URLSearchParams(requestUrl.slice(q + 1)).get(SESSION_TOKEN_PARAM);
  return value === null ? undefined : TOKEN_PATTERN.exec(value)?.[0];
}
