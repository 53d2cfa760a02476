// The fixture format: one folder per captured session (SyncML or MS-MDE2 enrollment) holding a
// small `manifest.json` and one file per message body, so fixtures read and diff well in review.
//
//   fixtures/<name>/manifest.json
//   fixtures/<name>/001-request.xml, 001-response.xml, …   (any file names; the manifest lists them)
//   fixtures/<name>/reference/…                           (optional: answers of another server)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DM_FORMATS, type DmCommand } from '../shared/dm-command.js';

export const FIXTURE_FORMAT = 'mdm-fixture/1';
export const MANIFEST_FILE = 'manifest.json';

const headers = z.record(z.string(), z.string()).default({});

const requestSchema = z.object({
  method: z.enum(['GET', 'POST']),
  /** Path and query as the device sent them (`/ManagementServer/MDM.svc?mode=…`). */
  path: z.string().startsWith('/'),
  headers,
  /** Body file, relative to the fixture folder; absent for an empty body. */
  body: z.string().min(1).optional(),
});

const responseSchema = z.object({
  status: z.number().int().min(100).max(599),
  headers,
  body: z.string().min(1).optional(),
});

const dmItemSchema = z.object({
  target: z.string().min(1),
  format: z.enum(DM_FORMATS).optional(),
  type: z.string().optional(),
  data: z.string().optional(),
});
const dmCommandSchema: z.ZodType<DmCommand> = z.lazy(() =>
  z.union([
    z.object({
      verb: z.enum(['Get', 'Add', 'Replace', 'Delete', 'Exec']),
      items: z.array(dmItemSchema).min(1),
    }),
    z.object({ verb: z.enum(['Atomic', 'Sequence']), commands: z.array(dmCommandSchema).min(1) }),
  ]),
);

const exchangeSchema = z.object({
  request: requestSchema,
  /** What this server answers (the expectation replay compares against). */
  response: responseSchema,
  /** What another server answered to the same request, kept for reference only. */
  reference: z
    .object({
      status: z.number().int().optional(),
      body: z.string().min(1).optional(),
      note: z.string().optional(),
    })
    .optional(),
  /** Free text shown in replay output. */
  note: z.string().optional(),
});

export const manifestSchema = z
  .object({
    format: z.literal(FIXTURE_FORMAT),
    name: z.string().min(1),
    description: z.string().optional(),
    kind: z.enum(['syncml', 'enrollment']),
    /** Who produced the requests: a real Windows client, the simulator, or a server capture. */
    origin: z.enum(['windows', 'simulator', 'server-capture']),
    /** Where the requests came from (capture source, commit, licence). */
    source: z.string().optional(),
    recordedAt: z.string().optional(),
    /** Public base URL of the server that produced `response` bodies (normalised away on compare). */
    server: z.string().optional(),
    /** What replay must provision before playing the requests. */
    identity: z
      .object({
        deviceId: z.string().optional(),
        user: z.object({ email: z.string(), password: z.string() }).optional(),
      })
      .default({}),
    /** Server state to create before playing: commands queued for the device (admin origin). */
    setup: z.object({ commands: z.array(dmCommandSchema).default([]) }).optional(),
    exchanges: z.array(exchangeSchema).min(1),
  })
  .strict();

export type FixtureManifest = z.infer<typeof manifestSchema>;
export type FixtureManifestInput = z.input<typeof manifestSchema>;
export type ManifestExchange = FixtureManifest['exchanges'][number];

export interface FixtureRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface FixtureResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface LoadedExchange {
  readonly request: FixtureRequest;
  readonly response: FixtureResponse;
  readonly reference?: { readonly status?: number; readonly body?: string; readonly note?: string };
  readonly note?: string;
}

export interface Fixture {
  readonly dir: string;
  readonly manifest: FixtureManifest;
  readonly exchanges: readonly LoadedExchange[];
}

export class FixtureError extends Error {
  override name = 'FixtureError';
}

function readBody(dir: string, file: string | undefined): string {
  if (!file) return '';
  const full = resolve(dir, file);
  if (!full.startsWith(resolve(dir)))
    throw new FixtureError(`${dir}: body file ${file} is outside the fixture`);
  try {
    return readFileSync(full, 'utf8');
  } catch (err) {
    throw new FixtureError(`${dir}: cannot read ${file}: ${(err as Error).message}`);
  }
}

export function readFixture(dir: string): Fixture {
  const file = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FixtureError(`${file}: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new FixtureError(`${file}: invalid manifest\n  ${issues.join('\n  ')}`);
  }
  const manifest = parsed.data;
  const exchanges = manifest.exchanges.map(
    (x): LoadedExchange => ({
      request: { ...x.request, body: readBody(dir, x.request.body) },
      response: { ...x.response, body: readBody(dir, x.response.body) },
      reference: x.reference
        ? {
            status: x.reference.status,
            note: x.reference.note,
            body: x.reference.body ? readBody(dir, x.reference.body) : undefined,
          }
        : undefined,
      note: x.note,
    }),
  );
  return { dir, manifest, exchanges };
}

/** File extension for a body by content type. */
export function bodyExtension(contentType: string | undefined): string {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('xml')) return 'xml';
  if (ct.includes('html')) return 'html';
  if (ct.includes('json')) return 'json';
  return 'txt';
}

export interface WritableExchange {
  readonly request: FixtureRequest;
  readonly response: FixtureResponse;
}

/** Writes a fixture folder message by message; the manifest is rewritten after each exchange so an
 *  interrupted session still leaves a readable fixture. */
export class FixtureWriter {
  private readonly manifest: FixtureManifestInput;
  private count = 0;
  private bodyBytes = 0;
  private manifestBytes = 0;

  constructor(
    readonly dir: string,
    header: Omit<FixtureManifestInput, 'format' | 'exchanges'>,
  ) {
    mkdirSync(dir, { recursive: true });
    this.manifest = { format: FIXTURE_FORMAT, ...header, exchanges: [] };
  }

  append(exchange: WritableExchange): void {
    this.count++;
    const n = String(this.count).padStart(3, '0');
    const requestFile = exchange.request.body
      ? `${n}-request.${bodyExtension(exchange.request.headers['content-type'])}`
      : undefined;
    const responseFile = exchange.response.body
      ? `${n}-response.${bodyExtension(exchange.response.headers['content-type'])}`
      : undefined;
    if (requestFile) writeFileSync(join(this.dir, requestFile), exchange.request.body);
    if (responseFile) writeFileSync(join(this.dir, responseFile), exchange.response.body);
    this.bodyBytes += Buffer.byteLength(exchange.request.body) + Buffer.byteLength(exchange.response.body);
    (this.manifest.exchanges as ManifestExchange[]).push({
      request: {
        method: exchange.request.method,
        path: exchange.request.path,
        headers: { ...exchange.request.headers },
        body: requestFile,
      },
      response: {
        status: exchange.response.status,
        headers: { ...exchange.response.headers },
        body: responseFile,
      },
    });
    this.flush();
  }

  /** Merge identity facts learnt along the way (the DeviceID, the enrolling user). */
  identify(identity: NonNullable<FixtureManifestInput['identity']>): void {
    this.manifest.identity = { ...this.manifest.identity, ...identity };
    if (this.count > 0) this.flush();
  }

  get size(): number {
    return this.count;
  }

  /** Bytes on disk: the body files and the manifest. */
  get bytes(): number {
    return this.bodyBytes + this.manifestBytes;
  }

  private flush(): void {
    const text = `${JSON.stringify(this.manifest, null, 2)}\n`;
    writeFileSync(join(this.dir, MANIFEST_FILE), text);
    this.manifestBytes = Buffer.byteLength(text);
  }
}

/** Rewrite a manifest in place (used when re-recording expected responses). */
export function writeManifest(dir: string, manifest: FixtureManifestInput): void {
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
