// Where a policy folder's files come from: the disk (`MDM_POLICY_DIR`, `mdm policy check|apply`) or
// a bundle sent to the admin API (YAML text plus the side files its `file:` values name, held in
// memory). The folder loader and the checker read through one `FileSource`, so a bundle is
// checked exactly like the same folder on disk, with the same `file:line:col` diagnostics.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface FileSource {
  /** Absolute folder every name is relative to (positions name files below it). */
  readonly root: string;
  /** Every file of the folder whose name `keep` accepts, as absolute paths, sorted. Throws like readdir. */
  list(keep: (name: string) => boolean): string[];
  /** A file's bytes; throws an error with `code: 'ENOENT'` when there is none. */
  read(absolutePath: string): Buffer;
}

/** The folder on disk. */
export function diskSource(root: string): FileSource {
  return {
    root,
    list: (keep) =>
      readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && keep(e.name))
        .map((e) => join(e.parentPath, e.name))
        .sort(),
    read: (path) => readFileSync(path),
  };
}

/** Relative, `/`-separated name of `path` under `root`, or undefined when it is not below it. */
export function nameUnder(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || rel.includes(`..${sep}`) || /^[a-zA-Z]:|^[\\/]/.test(rel))
    return undefined;
  return rel.split(sep).join('/');
}

/**
 * Files held in memory (relative `/`-separated name → bytes), as if they were a folder at `root`
 * (a name that exists nowhere on disk: nothing outside the map is ever read).
 */
export function memorySource(root: string, files: ReadonlyMap<string, Buffer>): FileSource {
  return {
    root,
    list: (keep) =>
      [...files.keys()]
        .filter((name) => keep(name.slice(name.lastIndexOf('/') + 1)))
        .map((name) => join(root, ...name.split('/')))
        .sort(),
    read: (path) => {
      const name = nameUnder(root, path);
      const bytes = name === undefined ? undefined : files.get(name);
      if (bytes) return bytes;
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    },
  };
}
