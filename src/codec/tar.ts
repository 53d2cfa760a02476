// Reading a tar archive (POSIX.1-1988 ustar and POSIX.1-2001 pax, as GNU tar, bsdtar and
// `git archive` write them; IEEE Std 1003.1 "pax" § ustar Interchange Format), optionally gzip
// compressed (RFC 1952). Regular files and directories only: links, devices and FIFOs are
// refused, as are archives larger than the limits once decompressed. Nothing touches the disk.
import { gunzipSync } from 'node:zlib';

export interface TarLimits {
  /** Largest archive accepted, after decompression. */
  readonly maxBytes: number;
  /** Most entries (files and directories). */
  readonly maxEntries: number;
}

export interface TarFile {
  /** Path inside the archive as written (`/`-separated, no leading `./`). */
  readonly name: string;
  readonly data: Buffer;
}

export class TarError extends Error {
  override name = 'TarError';
}

const BLOCK = 512;

/** A gzip member starts with 1f 8b (RFC 1952 §2.3.1). */
export function isGzip(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octal(header: Buffer, offset: number, length: number, what: string): number {
  const text = field(header, offset, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new TarError(`not a tar archive: bad ${what} field`);
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** Header checksum: the sum of its bytes with the checksum field read as spaces (ustar). */
function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum === octal(header, 148, 8, 'checksum');
}

/** `path` from pax extended header records (`<length> <key>=<value>\n`). */
function paxPath(data: Buffer): string | undefined {
  let path: string | undefined;
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) throw new TarError('not a tar archive: bad pax header');
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= space - at || at + length > data.length)
      throw new TarError('not a tar archive: bad pax header');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += length;
  }
  return path;
}

/** Regular files of the archive, in archive order. Directories are skipped. */
export function readTar(input: Buffer, limits: TarLimits): TarFile[] {
  let buf = input;
  if (isGzip(buf)) {
    try {
      buf = gunzipSync(buf, { maxOutputLength: limits.maxBytes });
    } catch (err) {
      throw new TarError(
        (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
          ? `the archive is larger than ${limits.maxBytes} bytes once decompressed`
          : 'not a gzip-compressed tar archive',
      );
    }
  }
  if (buf.length > limits.maxBytes) throw new TarError(`the archive is larger than ${limits.maxBytes} bytes`);
  const files: TarFile[] = [];
  let entries = 0;
  let longName: string | undefined;
  let at = 0;
  for (;;) {
    if (at + BLOCK > buf.length) throw new TarError('truncated tar archive: no end-of-archive blocks');
    const header = buf.subarray(at, at + BLOCK);
    // Two zero blocks end the archive; one is enough to stop reading.
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw new TarError(`not a tar archive: bad header checksum at byte ${at}`);
    const size = octal(header, 124, 12, 'size');
    const type = String.fromCharCode(header[156]!);
    const start = at + BLOCK;
    if (start + size > buf.length) throw new TarError('truncated tar archive: an entry is cut short');
    const data = buf.subarray(start, start + size);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L') {
      // The next entry's name: a pax `path` record or a GNU long name.
      longName = type === 'x' ? paxPath(data) : field(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue; // pax global header: nothing this reader uses
    // POSIX ustar (magic "ustar\0") splits long names into prefix + name; old GNU headers do not.
    const prefix =
      header.subarray(257, 263).toString('latin1') === 'ustar\u0000' ? field(header, 345, 155) : '';
    const name = (
      longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100))
    ).replace(/^(\.\/)+/, '');
    longName = undefined;
    if (++entries > limits.maxEntries) throw new TarError(`more than ${limits.maxEntries} entries`);
    if (type === '5') continue;
    if (type !== '0' && type !== '\u0000' && type !== '7')
      throw new TarError(`${JSON.stringify(name)}: only regular files and folders are accepted`);
    files.push({ name, data: Buffer.from(data) });
  }
  return files;
}
