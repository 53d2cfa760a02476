// Compliance and delivery reports (the data `mdm report compliance` shows), with CSV.
import { z } from 'zod';
import { complianceReport, toSettingRow } from '../../reporting/compliance.js';
import { complianceCsv } from '../../reporting/csv.js';
import { SETTING_STATES } from '../../storage/device-settings.js';
import { type RouteDef, route } from '../route.js';
import { DeviceCompliance, SettingRow } from '../schemas.js';

export const reportRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/compliance',
    tag: 'compliance',
    role: 'auditor',
    summary:
      'Compliance of every device (CSV: one line per device and setting, as mdm report compliance --csv)',
    csv: 'devices',
    responses: {
      200: {
        description: 'one entry per device',
        schema: z.strictObject({ devices: z.array(DeviceCompliance) }),
      },
    },
    csvBody: async (storage) => complianceCsv(storage),
    handler: async ({ storage }) => ({ body: { devices: await complianceReport(storage) } }),
  }),
  route({
    method: 'get',
    path: '/reports/settings',
    tag: 'compliance',
    role: 'auditor',
    summary: 'Per-setting report: every device × setting record, filtered by policy, state, device or path',
    query: z.strictObject({
      policy: z.string().min(1).max(256).optional(),
      state: z.enum(SETTING_STATES).optional(),
      deviceId: z.string().min(1).max(512).optional(),
      path: z.string().min(1).max(2048).optional().describe('exact setting path'),
    }),
    csv: 'items',
    responses: {
      200: {
        description: 'the records',
        schema: z.strictObject({ items: z.array(SettingRow.extend({ deviceId: z.string() })) }),
      },
    },
    handler: async ({ storage, query }) => {
      const rows = await storage.deviceSettings.querySettings({
        ...(query.policy && { policy: query.policy }),
        ...(query.state && { state: query.state }),
        ...(query.deviceId && { deviceId: query.deviceId }),
      });
      const items = rows
        .filter((r) => query.path === undefined || r.path === query.path)
        .map((r) => ({ deviceId: r.deviceId, ...toSettingRow(r) }));
      return { body: { items } };
    },
  }),
  route({
    method: 'get',
    path: '/reports/settings/summary',
    tag: 'compliance',
    role: 'auditor',
    summary: 'Per-setting summary: for each setting path, how many devices are in each state',
    query: z.strictObject({ policy: z.string().min(1).max(256).optional() }),
    csv: 'items',
    responses: {
      200: {
        description: 'one entry per setting path',
        schema: z.strictObject({
          items: z.array(
            z.strictObject({
              path: z.string(),
              policy: z.string().nullable(),
              devices: z.number().int(),
              states: z.record(z.enum(SETTING_STATES), z.number().int()),
            }),
          ),
        }),
      },
    },
    handler: async ({ storage, query }) => {
      const rows = await storage.deviceSettings.querySettings(query.policy ? { policy: query.policy } : {});
      const by = new Map<
        string,
        { path: string; policy: string | null; devices: number; states: Record<string, number> }
      >();
      for (const r of rows) {
        const key = `${r.policy ?? ''}\u0000${r.path}`;
        const e = by.get(key) ?? {
          path: r.path,
          policy: r.policy,
          devices: 0,
          states: Object.fromEntries(SETTING_STATES.map((s) => [s, 0])),
        };
        e.devices++;
        e.states[r.state] = (e.states[r.state] ?? 0) + 1;
        by.set(key, e);
      }
      const items = [...by.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return { body: { items } };
    },
  }),
];
