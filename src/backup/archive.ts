// The backup archive: named members (database, CA and TLS material, token secret, configuration)
// with a SHA-256 checksum each, sealed with AES-256-GCM under a key derived from a passphrase by
// scrypt (RFC 7914). The archive holds private keys, so there is no unencrypted form.
//
// Layout (docs in README.md, "Backup and restore"):
//   "MDMBKP01"                          8 bytes, magic and format version
//   header length                       4 bytes, big-endian
//   header                              JSON: kdf parameters, salt, IV, key check, payload length
//   ciphertext                          AES-256-GCM of the payload, the header as additional data
//   tag                                 16 bytes, the GCM authentication tag
// Payload: 4-byte big-endian manifest length, manifest JSON (members with name, size, sha256,
// mode), then the members' bytes in manifest order.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scrypt } from 'node:crypto';

const MAGIC = Buffer.from('MDMBKP01', 'ascii');
const TAG_BYTES = 16;
/** scrypt cost: N = 2^15, r = 8, p = 1 (RFC 7914 §2; 32 MiB of memory per derivation). */
const KDF = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_CHECK_LABEL = 'mdm-backup key check';

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

export interface ArchiveMember {
  /** Path-like name inside the archive, e.g. `database.sqlite`, `certs/ca.key`. */
  readonly name: string;
  readonly data: Buffer;
  /** File mode to restore with (0o600 for private keys and secrets). */
  readonly mode: number;
}

export interface ManifestEntry {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly mode: number;
}

export interface Manifest {
  readonly format: 1;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  /** Free-form facts about the source (backend, schema version, server version). */
  readonly source: Readonly<Record<string, string | number>>;
  readonly members: readonly ManifestEntry[];
}

interface Header {
  readonly kdf: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly cipher: 'aes-256-gcm';
  readonly iv: string;
  /** HMAC-SHA256 of a fixed label under the derived key: tells a wrong passphrase from damage. */
  readonly keyCheck: string;
  readonly payloadBytes: number;
}

function deriveKey(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      passphrase.normalize('NFC'),
      salt,
      32,
      { ...params, maxmem: 256 * params.N * params.r + 16 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

const keyCheckOf = (key: Buffer) => createHmac('sha256', key).update(KEY_CHECK_LABEL).digest('base64');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Rejects an empty or too short passphrase (the archive protects the CA's private key). */
export function checkPassphrase(passphrase: string | undefined): string {
  if (passphrase === undefined || passphrase.length === 0)
    throw new ArchiveError(
      'a passphrase is required: --passphrase-file <file> or MDM_BACKUP_PASSPHRASE (the archive holds private keys)',
    );
  if (passphrase.length < 12)
    throw new ArchiveError('the backup passphrase must have at least 12 characters');
  return passphrase;
}

export async function sealArchive(
  members: readonly ArchiveMember[],
  source: Manifest['source'],
  passphrase: string,
  now: Date = new Date(),
): Promise<Buffer> {
  const names = new Set<string>();
  for (const m of members) {
    if (names.has(m.name)) throw new ArchiveError(`duplicate member ${m.name}`);
    names.add(m.name);
  }
  const manifest: Manifest = {
    format: 1,
    createdAt: now.toISOString(),
    source,
    members: members.map((m) => ({
      name: m.name,
      size: m.data.length,
      sha256: sha256(m.data),
      mode: m.mode,
    })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(manifestBytes.length);
  const payload = Buffer.concat([length, manifestBytes, ...members.map((m) => m.data)]);

  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKey(passphrase, salt, KDF);
  const header: Header = {
    kdf: 'scrypt',
    ...KDF,
    salt: salt.toString('base64'),
    cipher: 'aes-256-gcm',
    iv: iv.toString('base64'),
    keyCheck: keyCheckOf(key),
    payloadBytes: payload.length,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const headerLength = Buffer.alloc(4);
  headerLength.writeUInt32BE(headerBytes.length);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(headerBytes);
  const ciphertext = Buffer.concat([cipher.update(payload), cipher.final()]);
  return Buffer.concat([MAGIC, headerLength, headerBytes, ciphertext, cipher.getAuthTag()]);
}

function parseHeader(archive: Buffer): { header: Header; headerBytes: Buffer; body: Buffer } {
  if (archive.length < MAGIC.length + 4 || !archive.subarray(0, MAGIC.length).equals(MAGIC)) {
    if (archive.length < MAGIC.length && MAGIC.subarray(0, archive.length).equals(archive))
      throw new ArchiveError('the archive is truncated (it ends inside its header)');
    throw new ArchiveError('not an mdm backup archive (unknown format)');
  }
  const headerLength = archive.readUInt32BE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (headerLength > 64 * 1024) throw new ArchiveError('the archive header is damaged');
  if (archive.length < start + headerLength)
    throw new ArchiveError('the archive is truncated (it ends inside its header)');
  const headerBytes = archive.subarray(start, start + headerLength);
  let header: Header;
  try {
    header = JSON.parse(headerBytes.toString('utf8')) as Header;
  } catch {
    throw new ArchiveError('the archive header is damaged');
  }
  if (
    header.kdf !== 'scrypt' ||
    header.cipher !== 'aes-256-gcm' ||
    !Number.isInteger(header.N) ||
    header.N < 2 ** 14 ||
    header.N > 2 ** 20 ||
    !Number.isInteger(header.r) ||
    header.r < 1 ||
    header.r > 32 ||
    !Number.isInteger(header.p) ||
    header.p < 1 ||
    header.p > 16 ||
    typeof header.salt !== 'string' ||
    typeof header.iv !== 'string' ||
    typeof header.keyCheck !== 'string' ||
    !Number.isSafeInteger(header.payloadBytes)
  )
    throw new ArchiveError('the archive header is damaged or from an unsupported version');
  const body = archive.subarray(start + headerLength);
  const expected = header.payloadBytes + TAG_BYTES;
  if (body.length < expected)
    throw new ArchiveError(
      `the archive is truncated: ${archive.length} bytes, expected ${start + headerLength + expected}`,
    );
  if (body.length > expected) throw new ArchiveError('the archive has trailing bytes (damaged)');
  return { header, headerBytes, body };
}

export interface OpenedArchive {
  readonly manifest: Manifest;
  /** Member bytes by name, every checksum verified. */
  readonly members: ReadonlyMap<string, ArchiveMember>;
}

/**
 * Decrypts and verifies an archive in memory: a wrong passphrase, a truncated or otherwise damaged
 * archive and a checksum mismatch are refused with an `ArchiveError` before anything is written.
 */
export async function openArchive(archive: Buffer, passphrase: string): Promise<OpenedArchive> {
  const { header, headerBytes, body } = parseHeader(archive);
  const key = await deriveKey(passphrase, Buffer.from(header.salt, 'base64'), header);
  if (keyCheckOf(key) !== header.keyCheck) throw new ArchiveError('wrong passphrase for this backup archive');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(header.iv, 'base64'));
  decipher.setAAD(headerBytes);
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  let payload: Buffer;
  try {
    payload = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ArchiveError('the archive is damaged: its authentication tag does not match');
  }
  const manifestLength = payload.readUInt32BE(0);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(payload.subarray(4, 4 + manifestLength).toString('utf8')) as Manifest;
  } catch {
    throw new ArchiveError('the archive manifest is damaged');
  }
  if (manifest.format !== 1 || !Array.isArray(manifest.members))
    throw new ArchiveError('the archive manifest is from an unsupported version');
  const members = new Map<string, ArchiveMember>();
  let offset = 4 + manifestLength;
  for (const entry of manifest.members) {
    const data = payload.subarray(offset, offset + entry.size);
    offset += entry.size;
    if (data.length !== entry.size || sha256(data) !== entry.sha256)
      throw new ArchiveError(`member ${entry.name}: checksum mismatch`);
    members.set(entry.name, { name: entry.name, data, mode: entry.mode });
  }
  if (offset !== payload.length) throw new ArchiveError('the archive payload has unlisted bytes');
  return { manifest, members };
}
