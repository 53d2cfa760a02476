// The RespURI token of DIGEST sessions: issued unguessable, stored as a hash, read from the URL.
import { describe, expect, it } from 'vitest';
import {
  hashSessionToken,
  issueSessionToken,
  sessionTokenMatches,
  sessionTokenOf,
} from '../../src/dm/session-token.js';

const ADDR = 'https://mdm.example.test/ManagementServer/MDM.svc';

describe('session token', () => {
  it('issues a fresh 128-bit base64url token in the RespURI and keeps only its hash', () => {
    const a = issueSessionToken(ADDR);
    const b = issueSessionToken(ADDR);
    expect(a.uri).toMatch(/^https:\/\/mdm\.example\.test\/ManagementServer\/MDM\.svc\?s=[A-Za-z0-9_-]{22}$/);
    expect(a.uri).not.toBe(b.uri);
    const token = sessionTokenOf(a.uri)!;
    expect(a.tokenHash).toBe(hashSessionToken(token));
    expect(a.tokenHash).not.toContain(token);
    expect(sessionTokenMatches(token, a.tokenHash)).toBe(true);
    expect(sessionTokenMatches(sessionTokenOf(b.uri), a.tokenHash)).toBe(false);
    expect(sessionTokenMatches(undefined, a.tokenHash)).toBe(false);
    expect(sessionTokenMatches(token, undefined)).toBe(false);
  });

  it('reads the token from the request URL whatever other query parameters come with it', () => {
    const token = 'AbCdEfGhIjKlMnOpQrSt_-';
    const path = '/ManagementServer/MDM.svc';
    expect(sessionTokenOf(`${path}?s=${token}`)).toBe(token);
    expect(sessionTokenOf(`${path}?s=${token}&mode=Maintenance&Platform=WoA`)).toBe(token);
    expect(sessionTokenOf(`${path}?mode=Maintenance&Platform=WoA&s=${token}`)).toBe(token);
    // A client appending its own query with a second '?'.
    expect(sessionTokenOf(`${path}?s=${token}?mode=Maintenance&Platform=WoA`)).toBe(token);
    expect(sessionTokenOf(`${path}?mode=Maintenance&Platform=WoA`)).toBeUndefined();
    expect(sessionTokenOf(path)).toBeUndefined();
    expect(sessionTokenOf(`${path}?s=short`)).toBeUndefined();
    expect(
      sessionTokenOf(`${path}?s=${encodeURIComponent('<script>aaaaaaaaaaaaaaaaaaaaaa')}`),
    ).toBeUndefined();
  });
});
