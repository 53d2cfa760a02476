// Replay: play the device side of a fixture against a server and compare every answer with the
// recorded one after normalisation (`normalise.ts`). With `update`, the server's answers become the
// fixture's expected responses instead (how real captures get this server's answers).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transport } from '../simulator/transport.js';
import { diffText } from './diff.js';
import {
  bodyExtension,
  type Fixture,
  type FixtureManifest,
  type LoadedExchange,
  writeManifest,
} from './fixture.js';
import { mediaType, normaliseBody } from './normalise.js';
import { redactBody, redactHeaders } from './redact.js';

/** A server to replay against, able to create the identities fixtures need. */
export interface ReplayEnvironment {
  /** Where requests go (`https://127.0.0.1:port`). */
  readonly url: string;
  /** Public base URL the server writes into its answers. */
  readonly publicUrl: string;
  /** Transport for a fixture, after provisioning its identity (client certificate for SyncML). */
  prepare(fixture: Fixture): Promise<Transport>;
  close(): Promise<void>;
}

export interface ExchangeResult {
  readonly index: number;
  /** `POST /ManagementServer/MDM.svc?…`. */
  readonly request: string;
  readonly ok: boolean;
  /** Readable differences (empty when equal). */
  readonly diff: string;
}

export interface ReplayResult {
  readonly name: string;
  readonly dir: string;
  readonly ok: boolean;
  readonly exchanges: readonly ExchangeResult[];
  /** Set when the replay could not run (provisioning or transport failure). */
  readonly error?: string;
  readonly updated?: boolean;
}

/** Request headers replayed as recorded (the rest are transport-specific). */
const REPLAYED_HEADERS = [
  'content-type',
  'accept',
  'accept-charset',
  'user-agent',
  'client-request-id',
  'ms-cv',
  'mdm-generic-alert',
];

/** Compare one recorded exchange with the server's actual answer. */
export function compareExchange(
  expected: LoadedExchange['response'],
  actual: { status: number; headers: Readonly<Record<string, string>>; body: string },
  serverBases: readonly string[],
): string {
  const problems: string[] = [];
  if (expected.status !== actual.status)
    problems.push(`HTTP status: expected ${expected.status}, got ${actual.status}`);
  const wantType = mediaType(expected.headers['content-type']);
  const gotType = mediaType(actual.headers['content-type']);
  if (wantType && wantType !== gotType)
    problems.push(`Content-Type: expected ${wantType}, got ${gotType || '(none)'}`);
  const body = diffText(
    normaliseBody(expected.body, { serverBases }),
    normaliseBody(actual.body, { serverBases }),
  );
  if (body) problems.push(body);
  return problems.join('\n');
}

export async function replayFixture(
  fixture: Fixture,
  env: ReplayEnvironment,
  options: { update?: boolean } = {},
): Promise<ReplayResult> {
  const { manifest } = fixture;
  const base = { name: manifest.name, dir: fixture.dir };
  let transport: Transport;
  try {
    transport = await env.prepare(fixture);
  } catch (err) {
    return { ...base, ok: false, exchanges: [], error: `provisioning failed: ${(err as Error).message}` };
  }
  const serverBases = [manifest.server, env.publicUrl].filter((s): s is string => Boolean(s));
  const results: ExchangeResult[] = [];
  const actuals: { status: number; headers: Record<string, string>; body: string }[] = [];
  try {
    for (const [index, x] of fixture.exchanges.entries()) {
      const headers: Record<string, string> = {};
      for (const h of REPLAYED_HEADERS)
        if (x.request.headers[h] !== undefined) headers[h] = x.request.headers[h]!;
      const response = await transport.send({
        method: x.request.method,
        url: `${env.url}${x.request.path}`,
        headers,
        body: x.request.body,
      });
      actuals.push({ ...response, headers: { ...response.headers } });
      const diff = compareExchange(x.response, response, serverBases);
      results.push({
        index: index + 1,
        request: `${x.request.method} ${x.request.path}`,
        ok: diff === '',
        diff,
      });
    }
  } catch (err) {
    return { ...base, ok: false, exchanges: results, error: (err as Error).message };
  } finally {
    transport.close();
  }
  if (options.update) {
    writeExpected(fixture, actuals, env.publicUrl);
    return { ...base, ok: true, exchanges: results, updated: true };
  }
  return { ...base, ok: results.every((r) => r.ok), exchanges: results };
}

/** Make the server's answers the fixture's expected responses (bodies redacted like captures). */
function writeExpected(
  fixture: Fixture,
  actuals: readonly { status: number; headers: Record<string, string>; body: string }[],
  publicUrl: string,
): void {
  const manifest: FixtureManifest = structuredClone(fixture.manifest);
  manifest.server = publicUrl;
  manifest.exchanges.forEach((x, i) => {
    const actual = actuals[i]!;
    const headers = redactHeaders(actual.headers);
    const kept: Record<string, string> = {};
    if (headers['content-type']) kept['content-type'] = headers['content-type'];
    let file = x.response.body;
    if (actual.body === '') file = undefined;
    else {
      file ??= `${String(i + 1).padStart(3, '0')}-response.${bodyExtension(headers['content-type'])}`;
      writeFileSync(join(fixture.dir, file), redactBody(actual.body));
    }
    x.response = { status: actual.status, headers: kept, body: file };
  });
  writeManifest(fixture.dir, manifest);
}

/** Readable report of one replay. */
export function formatReplay(result: ReplayResult): string {
  const lines = [
    `${result.ok ? 'ok  ' : 'FAIL'} ${result.name}${result.updated ? ' (expected responses updated)' : ''}`,
  ];
  if (result.error) lines.push(`     ${result.error}`);
  for (const x of result.exchanges) {
    if (x.ok) continue;
    lines.push(`  message ${x.index}: ${x.request}`);
    for (const l of x.diff.split('\n')) lines.push(`    ${l}`);
  }
  return lines.join('\n');
}
