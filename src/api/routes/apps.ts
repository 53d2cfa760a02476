// Applications (docs/apps.md, docs/api.md "Applications"): every app of the active policy set with
// its devices per deployment state, one app with the state of each device (the CSP's Status,
// LastError and LastErrorDesc), and the device × app report with the CSV of `mdm report apps`.
import { z } from 'zod';
import type { AppPlan } from '../../policy/apps/types.js';
import { readActiveSet } from '../../policy/delivery/policy-set.js';
import { type AppRow, appReport, appsCsv } from '../../reporting/apps.js';
import { csvLines } from '../../reporting/csv.js';
import { APP_STATES, type AppState } from '../../storage/apps.js';
import type { Storage } from '../../storage/index.js';
import { ApiProblem, notFound } from '../problem.js';
import { type RouteDef, route } from '../route.js';
import { AppDetail, AppSummary, DeviceApp } from '../schemas.js';

type Summary = z.output<typeof AppSummary>;

const zeroStates = () => Object.fromEntries(APP_STATES.map((s) => [s, 0])) as Record<AppState, number>;

const source = (plan: AppPlan) => plan.content.url ?? plan.content.file ?? plan.content.sha256 ?? '';

/** The apps of the active policy set, and those only device records still name, with state counts. */
async function appSummaries(storage: Storage, rows: readonly AppRow[]): Promise<Summary[]> {
  const set = await readActiveSet(storage.policies);
  const by = new Map<string, Summary & { versions: Summary['versions'][number][] }>();
  for (const [policy, compiled] of set.policies) {
    for (const plan of compiled.apps ?? []) {
      let s = by.get(plan.key);
      if (!s) {
        s = {
          app: plan.key,
          kind: plan.kind,
          name: plan.name,
          assigned: true,
          versions: [],
          devices: 0,
          states: zeroStates(),
        };
        by.set(plan.key, s);
      }
      s.versions.push({
        policy,
        appId: plan.id,
        version: plan.version,
        source: source(plan),
        sha256: plan.content.sha256 ?? null,
      });
    }
  }
  for (const r of rows) {
    let s = by.get(r.app);
    if (!s) {
      s = {
        app: r.app,
        kind: r.kind,
        name: r.name,
        assigned: false,
        versions: [],
        devices: 0,
        states: zeroStates(),
      };
      by.set(r.app, s);
    }
    s.devices++;
    s.states[r.state]++;
  }
  return [...by.values()].sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
}

const STATE_ORDER = new Map(APP_STATES.map((s, i) => [s, i]));

/** An app by its key, a ProductCode / Package Family Name of one of its versions, or its name. */
function findApp(summaries: readonly Summary[], rows: readonly AppRow[], id: string): Summary {
  const exact = summaries.find((s) => s.app === id || s.app.toLowerCase() === id.toLowerCase());
  if (exact) return exact;
  const lower = id.toLowerCase();
  const braced = /^[0-9a-f-]{36}$/i.test(id) ? `{${lower}}` : lower;
  const byProduct = summaries.filter(
    (s) =>
      s.versions.some((v) => v.appId.toLowerCase() === braced) ||
      rows.some((r) => r.app === s.app && r.appId.toLowerCase() === braced),
  );
  const candidates =
    byProduct.length > 0 ? byProduct : summaries.filter((s) => s.name.toLowerCase() === lower);
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1)
    throw new ApiProblem(
      409,
      `${id} names ${candidates.length} apps: ${candidates.map((s) => s.app).join(', ')}; ask by key`,
    );
  throw notFound(`no app ${id} (give its key, ProductCode, Package Family Name or name)`);
}

export const SUMMARY_CSV_COLUMNS = [
  'app',
  'kind',
  'name',
  'assigned',
  'policies',
  'versions',
  'devices',
  ...APP_STATES,
] as const;

function summariesCsv(items: readonly Summary[]): string {
  return csvLines([
    SUMMARY_CSV_COLUMNS,
    ...items.map((s) => [
      s.app,
      s.kind,
      s.name,
      s.assigned,
      [...new Set(s.versions.map((v) => v.policy))].join(' '),
      [...new Set(s.versions.map((v) => v.version))].join(' '),
      s.devices,
      ...APP_STATES.map((state) => s.states[state]),
    ]),
  ]);
}

const KIND = z.enum(['msi', 'msix']);

export const appRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/apps',
    tag: 'apps',
    role: 'auditor',
    summary:
      'Every app of the active policy set (and any still on devices after unassignment) with its devices per state',
    query: z.strictObject({
      policy: z.string().min(1).max(256).optional().describe('only the apps this policy deploys'),
      kind: KIND.optional(),
    }),
    csv: 'items',
    responses: {
      200: { description: 'one entry per app', schema: z.strictObject({ items: z.array(AppSummary) }) },
    },
    csvBody: (_storage, body: { items: Summary[] }) => summariesCsv(body.items),
    handler: async ({ storage, query }) => {
      const rows = await appReport(storage);
      const items = (await appSummaries(storage, rows)).filter(
        (s) =>
          (query.kind === undefined || s.kind === query.kind) &&
          (query.policy === undefined ||
            s.versions.some((v) => v.policy === query.policy) ||
            rows.some((r) => r.app === s.app && r.policy === query.policy)),
      );
      return { body: { items } };
    },
  }),
  route({
    method: 'get',
    path: '/apps/:id',
    tag: 'apps',
    role: 'auditor',
    summary:
      'One app (by key, ProductCode, Package Family Name or name): the devices in each state, with the CSP status and error',
    params: z.strictObject({ id: z.string().min(1).max(512) }),
    query: z.strictObject({ state: z.enum(APP_STATES).optional() }),
    problems: [404, 409],
    csv: 'devices',
    responses: { 200: { description: 'the app and its devices', schema: AppDetail } },
    csvBody: (_storage, body: z.output<typeof AppDetail>) => appsCsv(body.devices),
    handler: async ({ storage, params, query }) => {
      const rows = await appReport(storage);
      const app = findApp(await appSummaries(storage, rows), rows, params.id);
      const devices = rows
        .filter((r) => r.app === app.app && (query.state === undefined || r.state === query.state))
        .sort(
          (a, b) =>
            STATE_ORDER.get(a.state)! - STATE_ORDER.get(b.state)! ||
            (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0),
        );
      return { body: { app, devices } };
    },
  }),
  route({
    method: 'get',
    path: '/reports/apps',
    tag: 'apps',
    role: 'auditor',
    summary:
      'App deployment report: every device × app record, filtered by device, app, policy or state (CSV as mdm report apps --format csv)',
    query: z.strictObject({
      deviceId: z.string().min(1).max(512).optional(),
      app: z.string().min(1).max(512).optional().describe('the app key'),
      policy: z.string().min(1).max(256).optional(),
      state: z.enum(APP_STATES).optional(),
    }),
    csv: 'items',
    responses: {
      200: { description: 'the records', schema: z.strictObject({ items: z.array(DeviceApp) }) },
    },
    csvBody: (_storage, body: { items: AppRow[] }) => appsCsv(body.items),
    handler: async ({ storage, query }) => {
      const items = await appReport(storage, {
        ...(query.deviceId && { deviceId: query.deviceId }),
        ...(query.app && { appKey: query.app }),
        ...(query.policy && { policy: query.policy }),
        ...(query.state && { state: query.state }),
      });
      return { body: { items } };
    },
  }),
];
