// OMA-DM MD5 digest (docs/protocol-notes.md#digest-authentication):
//   digest = b64( MD5( b64( MD5(user ":" password) ) ":" nonce ) ), nonce = raw bytes.
// Test vector: Bruce2 / OhBehave / "Nonce" → Zz6EivR3yeaaENcRN6lpAQ==.
import { createHash, timingSafeEqual } from 'node:crypto';

export function computeMd5Digest(user: string, password: string, nonce: Buffer): string {
  const inner = createHash('md5').update(`${user}:${password}`, 'utf8').digest('base64');
  return createHash('md5')
    .update(Buffer.concat([Buffer.from(`${inner}:`, 'utf8'), nonce]))
    .digest('base64');
}

/** Constant-time comparison of a received digest with the expected one. */
export function verifyMd5Digest(received: string, user: string, password: string, nonce: Buffer): boolean {
  const expected = Buffer.from(computeMd5Digest(user, password, nonce));
  const got = Buffer.from(received.trim());
  return got.length === expected.length && timingSafeEqual(got, expected);
}
