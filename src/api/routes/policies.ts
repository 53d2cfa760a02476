// Policies: stored versions with per-state counts, one policy's settings and per-device status,
// validate / plan / apply of a whole folder sent as a bundle (the behaviour of `mdm policy
// check|apply`, through src/services/policy.ts), revisions and their differences.
import { resolve } from 'node:path';
import { z } from 'zod';
import { defaultCatalog } from '../../catalog/catalog.js';
import { policyStatusReport } from '../../reporting/compliance.js';
import {
  applyBundle,
  BundleError,
  bundleFromTar,
  checkBundle,
  checkBundleDocument,
  TAR_BUNDLE_TYPES,
} from '../../services/policy.js';
import { SETTING_STATES, type SettingState } from '../../storage/device-settings.js';
import { ApiProblem, notFound } from '../problem.js';
import { type RouteContext, type RouteDef, route } from '../route.js';
import {
  ApplyProblem,
  ApplyRequest,
  ApplyResult,
  Bundle,
  PolicyDetail,
  PolicyListItem,
  Revision,
  RevisionDiff,
  SideFiles,
  ValidateRequest,
  ValidateResult,
} from '../schemas.js';

const FolderFiles = z
  .strictObject({
    revision: z.number().int().min(0),
    files: Bundle,
    payloads: SideFiles.optional().describe('the side files its policies read with `file:`'),
  })
  .meta({
    id: 'PolicyFolderFiles',
    description: 'a stored policy folder: its revision, YAML files and side files',
  });

const NameParams = z.strictObject({ name: z.string().min(1).max(256) });
const RevisionParams = z.strictObject({ revision: z.coerce.number().int().min(1) });
const DiffQuery = z.strictObject({
  from: z.coerce.number().int().min(0).optional().describe('default: the revision before'),
});

const zeroCounts = () =>
  Object.fromEntries(SETTING_STATES.map((s) => [s, 0])) as Record<SettingState, number>;

const catalogOf = (ctx: RouteContext<unknown, unknown, unknown>) => ctx.deps.catalog?.() ?? defaultCatalog();

/** The folder as a tar archive (optionally gzip-compressed) instead of a JSON map. */
const tarBundle = {
  mediaTypes: TAR_BUNDLE_TYPES,
  description:
    'the policy folder as a tar archive, optionally gzip-compressed (tar czf folder.tgz -C folder .); ' +
    'files other than YAML are its side files (payloads)',
  read: (body: Buffer) => {
    try {
      return bundleFromTar(body);
    } catch (err) {
      return bundleProblem(err);
    }
  },
};

const bundleProblem = (err: unknown): never => {
  if (err instanceof BundleError)
    throw new ApiProblem(400, err.message, {
      errors: [{ in: 'body', path: err.field, message: err.message }],
    });
  throw err;
};

/** JSON-pointer differences between two values (objects by key, arrays by index). */
export function jsonDiff(
  a: unknown,
  b: unknown,
  path = '',
): { path: string; change: 'added' | 'removed' | 'changed'; from?: unknown; to?: unknown }[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => {
      const p = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (!(k in a)) return [{ path: p, change: 'added' as const, to: b[k] }];
      if (!(k in b)) return [{ path: p, change: 'removed' as const, from: a[k] }];
      return jsonDiff(a[k], b[k], p);
    });
  }
  return JSON.stringify(a) === JSON.stringify(b)
    ? []
    : [{ path: path || '/', change: 'changed', from: a, to: b }];
}

function applyBody(result: Awaited<ReturnType<typeof applyBundle>>) {
  return {
    valid: result.valid,
    issues: result.folder.issues,
    plan: result.plan,
    ...(result.stored && {
      revision: result.stored.revision,
      created: result.stored.created,
      changes: result.stored.changes,
    }),
  };
}

export const policyRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/policies',
    tag: 'policies',
    role: 'auditor',
    summary: 'Every stored policy with its versions and per-state setting counts',
    csv: 'items',
    responses: {
      200: { description: 'the policies', schema: z.strictObject({ items: z.array(PolicyListItem) }) },
    },
    handler: async ({ storage }) => {
      const [heads, settings] = await Promise.all([
        storage.policies.listPolicyHeads(),
        storage.deviceSettings.querySettings(),
      ]);
      const counts = new Map<string, Record<SettingState, number>>();
      for (const s of settings) {
        if (s.policy === null) continue;
        const c = counts.get(s.policy) ?? zeroCounts();
        c[s.state]++;
        counts.set(s.policy, c);
      }
      const items = await Promise.all(
        heads.map(async (h) => {
          const versions = await storage.policies.policyVersions(h.name);
          const current = versions.find((v) => v.version === h.version) ?? versions.at(-1)!;
          return {
            name: h.name,
            active: h.active,
            version: h.version,
            file: current.file,
            updatedAt: h.updatedAt,
            versions: versions.map((v) => ({ version: v.version, hash: v.hash, createdAt: v.createdAt })),
            settings: counts.get(h.name) ?? zeroCounts(),
          };
        }),
      );
      return { body: { items } };
    },
  }),
  route({
    method: 'get',
    path: '/policies/:name',
    tag: 'policies',
    role: 'auditor',
    summary: "One policy: its compiled settings, assignments and every device's setting states",
    params: NameParams,
    problems: [404],
    responses: { 200: { description: 'the policy', schema: PolicyDetail } },
    handler: async ({ storage, params }) => {
      const report = await policyStatusReport(storage, params.name);
      if (!report) throw notFound(`no policy ${params.name}`);
      const versions = await storage.policies.policyVersions(params.name);
      const definition = versions.find((v) => v.version === report.version)?.body ?? null;
      return { body: { ...report, definition } };
    },
  }),
  route({
    method: 'get',
    path: '/policies/:name/status',
    tag: 'policies',
    role: 'auditor',
    summary: 'Delivery status of one policy across devices',
    params: NameParams,
    problems: [404],
    responses: { 200: { description: 'the status', schema: PolicyDetail.omit({ definition: true }) } },
    handler: async ({ storage, params }) => {
      const report = await policyStatusReport(storage, params.name);
      if (!report) throw notFound(`no policy ${params.name}`);
      return { body: report };
    },
  }),
  route({
    method: 'post',
    path: '/policies/validate',
    tag: 'policies',
    role: 'auditor',
    summary: 'Check one document or a whole folder bundle, with file:line:col diagnostics (mdm policy check)',
    body: ValidateRequest,
    binaryBody: tarBundle,
    problems: [415],
    responses: {
      200: { description: 'the diagnostics (ok false when any is an error)', schema: ValidateResult },
    },
    handler: async (ctx) => {
      const { body } = ctx;
      const catalog = catalogOf(ctx);
      const payloads = body.payloads ?? {};
      const r = await (body.files
        ? checkBundle(body.files, catalog, payloads)
        : checkBundleDocument(body.file!, body.text!, catalog, payloads)
      ).catch(bundleProblem);
      const errors = r.issues.filter((i) => i.severity === 'error').length;
      return {
        body: {
          ok: r.ok,
          kind: r.kind,
          ...(r.summary !== undefined && { summary: r.summary }),
          errors,
          warnings: r.issues.length - errors,
          issues: r.issues,
        },
      };
    },
  }),
  route({
    method: 'post',
    path: '/policies/plan',
    tag: 'policies',
    role: 'auditor',
    summary:
      'Dry run of mdm policy apply on a folder bundle: diagnostics and the plan per group; nothing stored',
    body: ApplyRequest,
    binaryBody: tarBundle,
    problems: [415],
    responses: { 200: { description: 'the plan', schema: ApplyResult } },
    handler: async (ctx) => {
      const result = await applyBundle(
        ctx.storage,
        ctx.body.files,
        { catalog: catalogOf(ctx), dryRun: true, actor: ctx.actor, source: 'api bundle' },
        ctx.body.payloads,
      ).catch(bundleProblem);
      return { body: applyBody(result) };
    },
  }),
  route({
    method: 'post',
    path: '/policies/apply',
    tag: 'policies',
    role: 'admin',
    summary:
      'mdm policy apply on a folder bundle: nothing stored on any error (422); the revision number returned',
    body: ApplyRequest,
    binaryBody: tarBundle,
    problems: [415],
    responses: {
      200: { description: 'stored (or unchanged: created false)', schema: ApplyResult },
      422: {
        description: 'the folder has errors; nothing stored (problem+json with the diagnostics)',
        mediaType: 'application/problem+json',
        schema: ApplyProblem,
      },
    },
    handler: async (ctx) => {
      const result = await applyBundle(
        ctx.storage,
        ctx.body.files,
        {
          catalog: catalogOf(ctx),
          dryRun: false,
          actor: ctx.actor,
          source: 'api bundle',
          // Written to the server's policy folder too (when it has one): the next start loads it.
          policyDir: resolve(ctx.deps.config.policyDir),
          ...(ctx.deps.events && { events: ctx.deps.events }),
        },
        ctx.body.payloads,
      ).catch(bundleProblem);
      if (result.valid) return { body: applyBody(result) };
      const errors = result.folder.issues.filter((i) => i.severity === 'error').length;
      return {
        status: 422,
        body: {
          type: 'about:blank',
          title: 'Unprocessable Content',
          status: 422,
          detail: `${errors} error(s); nothing stored`,
          ...applyBody(result),
        },
      };
    },
  }),
  route({
    method: 'get',
    path: '/policy-revisions',
    tag: 'policies',
    role: 'auditor',
    summary: 'Stored revisions of the policy folder, newest first',
    csv: 'items',
    responses: {
      200: { description: 'the revisions', schema: z.strictObject({ items: z.array(Revision) }) },
    },
    handler: async ({ storage }) => ({ body: { items: await storage.policies.listRevisions() } }),
  }),
  route({
    method: 'get',
    path: '/policy-revisions/:revision',
    tag: 'policies',
    role: 'auditor',
    summary: 'One revision',
    params: RevisionParams,
    problems: [404],
    responses: { 200: { description: 'the revision', schema: Revision } },
    handler: async ({ storage, params }) => {
      const r = await storage.policies.getRevision(params.revision);
      if (!r) throw notFound(`no revision ${params.revision}`);
      return { body: r };
    },
  }),
  route({
    method: 'get',
    path: '/policy-folder',
    tag: 'policies',
    role: 'auditor',
    summary:
      'The stored policy folder (the current revision) as a bundle, to edit and send back to plan/apply',
    problems: [404],
    responses: {
      200: { description: 'the folder (revision 0 and no files before any apply)', schema: FolderFiles },
    },
    handler: async ({ storage }) => {
      const revision = await storage.policies.currentRevision();
      const files = revision === 0 ? {} : await storage.policies.revisionFiles(revision);
      if (files === undefined)
        throw new ApiProblem(
          404,
          `revision ${revision} was stored without its files; apply the folder again`,
        );
      const payloads = revision === 0 ? {} : await storage.policies.revisionSideFiles(revision);
      return { body: { revision, files, ...(Object.keys(payloads).length > 0 && { payloads }) } };
    },
  }),
  route({
    method: 'get',
    path: '/policy-revisions/:revision/files',
    tag: 'policies',
    role: 'auditor',
    summary: 'The policy folder a revision was stored from, as a bundle',
    params: RevisionParams,
    problems: [404],
    responses: { 200: { description: 'the folder', schema: FolderFiles } },
    handler: async ({ storage, params }) => {
      if (!(await storage.policies.getRevision(params.revision)))
        throw notFound(`no revision ${params.revision}`);
      const files = await storage.policies.revisionFiles(params.revision);
      if (!files) throw notFound(`revision ${params.revision} was stored without its files`);
      const payloads = await storage.policies.revisionSideFiles(params.revision);
      return {
        body: { revision: params.revision, files, ...(Object.keys(payloads).length > 0 && { payloads }) },
      };
    },
  }),
  route({
    method: 'get',
    path: '/policy-revisions/:revision/diff',
    tag: 'policies',
    role: 'auditor',
    summary: "What changed in a revision's configuration since another (default: the one before)",
    params: RevisionParams,
    query: DiffQuery,
    problems: [404],
    responses: { 200: { description: 'the differences', schema: RevisionDiff } },
    handler: async ({ storage, params, query }) => {
      const to = await storage.policies.getRevision(params.revision);
      if (!to) throw notFound(`no revision ${params.revision}`);
      const fromNumber = query.from ?? params.revision - 1;
      const from = fromNumber === 0 ? undefined : await storage.policies.getRevision(fromNumber);
      if (fromNumber !== 0 && !from) throw notFound(`no revision ${fromNumber}`);
      const changes = jsonDiff(from?.config ?? {}, to.config);
      return { body: { from: fromNumber, to: params.revision, changes } };
    },
  }),
];
