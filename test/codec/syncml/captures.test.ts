// Every SyncML message of the real Windows captures in fixtures/ (client and server side, both the
// pretty-printed and the wire-reconstructed form) parses, the two forms agree (but for the server host), and re-encoding a
// parsed message reads back to the same message (docs/protocol-notes.md#syncml-messages).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeSyncMl, parseSyncMl } from '../../../src/codec/syncml/index.js';

const CAPTURE_DIRS = ['windows10-syncml-marcosd4h', 'windows10-syncml-fleet-unenroll'];
const captures = CAPTURE_DIRS.flatMap((dir) =>
  readdirSync(`fixtures/${dir}`)
    .filter((name) => /^(marcosd4h|fleet)-\d\d-syncml-.*\.xml$/.test(name))
    .map((name) => ({ dir, name })),
);

describe('SyncML captures', () => {
  it('covers the client and server messages of both captured sessions', () => {
    expect(captures.length).toBeGreaterThanOrEqual(8);
    expect(captures.some((c) => c.name.includes('-server-'))).toBe(true);
    expect(captures.some((c) => c.name.includes('1226'))).toBe(true);
  });

  it.each(captures)('$dir/$name parses and round-trips through the encoder', ({ dir, name }) => {
    const msg = parseSyncMl(readFileSync(`fixtures/${dir}/${name}`, 'utf8'));
    expect(msg.header.verDtd).toBe('1.2');
    expect(msg.header.sessionId).not.toBe('');
    expect(msg.commands.length).toBeGreaterThan(0);
    expect(parseSyncMl(encodeSyncMl(msg))).toEqual(msg);
  });

  it.each(captures.filter((c) => c.name.endsWith('.wire-reconstructed.xml')))(
    '$dir/$name reads the same as its pretty-printed form',
    ({ dir, name }) => {
      const wire = parseSyncMl(readFileSync(`fixtures/${dir}/${name}`, 'utf8'));
      const pretty = parseSyncMl(
        readFileSync(`fixtures/${dir}/${name.replace('.wire-reconstructed', '')}`, 'utf8'),
      );
      // The reconstruction restores the originally captured server host (fixtures SOURCE.md).
      expect({ ...wire.header, target: '' }).toEqual({ ...pretty.header, target: '' });
      expect(wire.commands).toEqual(pretty.commands);
      expect(wire.final).toBe(pretty.final);
    },
  );
});
