// The tar reader against archives written by GNU tar in each of its formats (ustar, gnu, pax),
// gzip-compressed or not, and against damaged, hostile and oversized ones.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar, TarError } from '../../src/codec/tar.js';

const LIMITS = { maxBytes: 4 * 1024 * 1024, maxEntries: 100 };
const root = mkdtempSync(join(tmpdir(), 'mdm-tar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LONG = `${'deep-folder-name/'.repeat(5)}${'a'.repeat(60)}.yaml`;

/** A folder with a short name, a nested file whose path is longer than 100 bytes, and UTF-8. */
function folder(): string {
  const dir = mkdtempSync(join(root, 'src-'));
  writeFileSync(join(dir, 'camera.yaml'), 'name: camera\n');
  mkdirSync(join(dir, LONG, '..'), { recursive: true });
  writeFileSync(join(dir, LONG), 'name: long – ünïcode\n');
  return dir;
}

const tar = (dir: string, ...args: string[]) =>
  execFileSync('tar', ['-c', '--sort=name', ...args, '-C', dir, '.'], { maxBuffer: 64 * 1024 * 1024 });

describe('readTar', () => {
  it.each(['ustar', 'gnu', 'pax'])('reads a %s archive, names over 100 bytes included', (format) => {
    const dir = folder();
    for (const archive of [tar(dir, `--format=${format}`), gzipSync(tar(dir, `--format=${format}`))]) {
      const files = readTar(archive, LIMITS);
      expect(files.map((f) => f.name).sort()).toEqual(['camera.yaml', LONG].sort());
      expect(files.find((f) => f.name === LONG)!.data.toString('utf8')).toBe('name: long – ünïcode\n');
    }
  });

  it('refuses links, damage, truncation and archives over the limits', () => {
    const dir = folder();
    symlinkSync('/etc/passwd', join(dir, 'link.yaml'));
    expect(() => readTar(tar(dir), LIMITS)).toThrow(/only regular files and folders/);
    rmSync(join(dir, 'link.yaml'));
    const good = tar(dir, '--format=ustar');
    const damaged = Buffer.from(good);
    damaged[10] = damaged[10]! ^ 0xff;
    expect(() => readTar(damaged, LIMITS)).toThrow(/bad header checksum/);
    expect(() => readTar(good.subarray(0, 700), LIMITS)).toThrow(TarError);
    expect(() => readTar(Buffer.from('not a tar at all'), LIMITS)).toThrow(TarError);
    expect(() => readTar(Buffer.from([0x1f, 0x8b, 1, 2, 3]), LIMITS)).toThrow(/not a gzip/);
    // A small gzip that expands past the limit (a decompression bomb) stops at the limit.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200_000);
    expect(() => readTar(bomb, LIMITS)).toThrow(/larger than 4194304 bytes once decompressed/);
    expect(() => readTar(good, { ...LIMITS, maxEntries: 2 })).toThrow(/more than 2 entries/);
  });
});
