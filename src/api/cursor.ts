// Opaque keyset cursors: base64url JSON of the last row's sort key, checked on the way back in.
import { ApiProblem } from './problem.js';

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (check(v)) return v;
  } catch {
    // answered below
  }
  throw new ApiProblem(400, 'the cursor is not one this list handed out', {
    errors: [{ in: 'query', path: 'cursor', message: 'invalid cursor' }],
  });
}
